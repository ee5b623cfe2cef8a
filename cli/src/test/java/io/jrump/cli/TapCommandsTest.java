package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.stack.Sockets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The parts of the TAP commands that need no TAP device: what serve may hand out, and URL parsing. */
class TapCommandsTest {
    @TempDir
    Path tmp;

    @Test
    void serveHandsOutOnlyRegularFilesUnderItsRoot() throws Exception {
        Path root = Files.createDirectory(tmp.resolve("www")).toRealPath();
        Files.writeString(root.resolve("a b.txt"), "x");
        Files.createDirectory(root.resolve("sub"));
        Files.writeString(root.resolve("sub/f"), "y");
        Files.writeString(tmp.resolve("secret"), "no");
        Files.createSymbolicLink(root.resolve("out"), tmp.resolve("secret"));
        Files.createSymbolicLink(root.resolve("in"), root.resolve("sub/f"));

        assertEquals(root.resolve("a b.txt"), TapCommands.Serve.resolve(root, "/a%20b.txt"));
        assertEquals(root.resolve("sub/f"), TapCommands.Serve.resolve(root, "/sub/f?x=1"));
        assertEquals(root.resolve("sub/f"), TapCommands.Serve.resolve(root, "/in"), "a link that stays inside");
        assertNull(TapCommands.Serve.resolve(root, "/../secret"));
        assertNull(TapCommands.Serve.resolve(root, "/sub/%2e%2e/%2e%2e/secret"));
        assertNull(TapCommands.Serve.resolve(root, "/out"), "a link that leads outside");
        assertNull(TapCommands.Serve.resolve(root, "/sub"), "a directory");
        assertNull(TapCommands.Serve.resolve(root, "/"));
        assertNull(TapCommands.Serve.resolve(root, "/missing"));
        assertNull(TapCommands.Serve.resolve(root, "/a%00b"));
        assertNull(TapCommands.Serve.resolve(root, "/%zz"));
    }

    @Test
    void fetchTakesHttpUrlsWithIpv4LiteralsOrNames() {
        CommandLine cl = new CommandLine(new TapCommands.Fetch());
        TapCommands.Url u = TapCommands.Url.parse(cl, "http://198.18.0.1:8000/dir/f?q=1");
        assertEquals(Ipv4Address.parse("198.18.0.1"), u.address());
        assertEquals(8000, u.port());
        assertEquals("/dir/f?q=1", u.target());
        assertEquals("198.18.0.1:8000", u.hostHeader());
        TapCommands.Url d = TapCommands.Url.parse(cl, "http://198.18.0.1");
        assertEquals(80, d.port());
        assertEquals("/", d.target());
        assertThrows(CommandLine.ParameterException.class, () -> TapCommands.Url.parse(cl, "https://198.18.0.1/"));
        TapCommands.Url named = TapCommands.Url.parse(cl, "http://web.test:8000/f");
        assertEquals(null, named.address(), "a name, looked up through the stack when the command runs");
        assertEquals("web.test", named.host());
        assertEquals("web.test:8000", named.hostHeader());
        assertThrows(CommandLine.ParameterException.class, () -> TapCommands.Url.parse(cl, "http://198.18.0.300/"));
        TapCommands.Url v6 = TapCommands.Url.parse(cl, "http://[2001:db8::1]:8000/f");
        assertEquals(Ipv6Address.parse("2001:db8::1"), v6.address());
        assertEquals("[2001:db8::1]:8000", v6.hostHeader());
        assertThrows(CommandLine.ParameterException.class, () -> TapCommands.Url.parse(cl, "http://[2001:db8::g]/"));
        assertThrows(CommandLine.ParameterException.class, () -> TapCommands.Url.parse(cl, "http://[fe80::1%25eth0]/"));
        assertThrows(CommandLine.ParameterException.class, () -> TapCommands.Url.parse(cl, "not a url"));
        RumpRun noServer = RumpRun.expect(2, "net", "fetch", "--tap", "t0", "--addr", "198.18.0.2/24", "http://web.test/",
                "-o", tmp.resolve("o").toString());
        assertTrue(noServer.err().contains("give --dns SERVER, --dhcp or --slaac"), noServer.all());
    }

    @Test
    void resolveTakesAnIpv4OrIpv6ServerWithAnOptionalPort() {
        CommandLine cl = new CommandLine(new TapCommands.Resolve());
        io.jrump.net.dns.DnsServer s = TapCommands.Resolve.serverOption(cl, "198.18.0.1");
        assertEquals("198.18.0.1", s.address().getHostAddress());
        assertEquals(53, s.port());
        assertEquals(5353, TapCommands.Resolve.serverOption(cl, "198.18.0.1:5353").port());
        io.jrump.net.dns.DnsServer v6 = TapCommands.Resolve.serverOption(cl, "2001:db8::1");
        assertEquals(Ipv6Address.parse("2001:db8::1"), io.jrump.net.IpAddress.of(v6.address().getAddress()));
        assertEquals(53, v6.port());
        assertEquals(5353, TapCommands.Resolve.serverOption(cl, "[2001:db8::1]:5353").port());
        assertEquals(53, TapCommands.Resolve.serverOption(cl, "[2001:db8::1]").port());
        for (String bad : new String[] {"ns.example", "198.18.0.1:0", "198.18.0.1:65536", "198.18.0.1:x", "2001:db8::g",
            "[2001:db8::1]x", "[2001:db8::1", "ff02::1", "::", "0.0.0.0"}) {
            assertThrows(CommandLine.ParameterException.class, () -> TapCommands.Resolve.serverOption(cl, bad), bad);
        }
        // send's --to needs the port.
        assertEquals(new Sockets.SocketAddress(Ipv6Address.parse("2001:db8::1"), 9),
                TapCommands.endpoint(cl, "--to", "[2001:db8::1]:9", -1));
        assertThrows(CommandLine.ParameterException.class, () -> TapCommands.endpoint(cl, "--to", "[2001:db8::1]", -1));
        assertThrows(CommandLine.ParameterException.class, () -> TapCommands.endpoint(cl, "--to", "198.18.0.1", -1));
    }


    @Test
    void addrAndGwTakeEitherFamilyWithClearErrors() {
        String[][] bad = {
            {"--addr", "2001:db8::2"}, {"needs a prefix length: 2001:db8::2/64"},
            {"--addr", "2001:db8::2/129"}, {"prefix length must be 1..128, not 129"},
            {"--addr", "198.18.0.2/33"}, {"prefix length must be 1..32, not 33"},
            {"--addr", "198.18.0.2/0"}, {"prefix length must be 1..32, not 0"},
            {"--addr", "2001:db8::zz/64"}, {"--addr: 2001:db8::zz/64"},
            {"--addr", "ff02::1/64"}, {"not a unicast address"},
            {"--addr", "198.18.0.2/24", "--addr", "198.18.0.3/24"}, {"one IPv4 address only"},
            {"--addr", "2001:db8::2/64", "--gw", "198.18.0.1"}, {"an IPv4 gateway needs an IPv4 --addr"},
            {"--addr", "198.18.0.2/24", "--gw", "fe80::1"}, {"an IPv6 gateway needs an IPv6 --addr or --slaac"},
            {"--dhcp", "--gw", "198.18.0.1"}, {"give no IPv4 --addr or --gw"},
            {"--slaac", "--slaac-timeout", "0"}, {"--slaac-timeout"},
            {"--slaac", "--mtu", "1000"}, {"IPv6 needs at least 1280"},
        };
        for (int i = 0; i < bad.length; i += 2) {
            List<String> args = new java.util.ArrayList<>(List.of("net", "sink", "--tap", "t0", "--port", "9"));
            args.addAll(List.of(bad[i]));
            RumpRun r = RumpRun.expect(2, args.toArray(String[]::new));
            assertTrue(r.err().contains(bad[i + 1][0]), String.join(" ", bad[i]) + ": " + r.all());
        }
    }

    @Test
    void theTapCommandsTakeAddrDhcpOrSlaac() {
        RumpRun none = RumpRun.expect(2, "net", "fetch", "--tap", "t0", "http://198.18.0.1/", "-o", tmp.resolve("o").toString());
        assertTrue(none.err().contains("give --addr A.B.C.D/P (or an IPv6 ADDR/P), --dhcp or --slaac"), none.all());
        RumpRun both = RumpRun.expect(2, "net", "sink", "--tap", "t0", "--dhcp", "--addr", "198.18.0.2/24", "--port", "9");
        assertTrue(both.err().contains("give no IPv4 --addr or --gw"), both.all());
        RumpRun timeout = RumpRun.expect(2, "net", "sink", "--tap", "t0", "--dhcp", "--dhcp-timeout", "0", "--port", "9");
        assertTrue(timeout.err().contains("--dhcp-timeout"), timeout.all());
    }

    @Test
    void macTakesOneUnicastAddress() {
        RumpRun garbled = RumpRun.expect(2, "net", "sink", "--tap", "t0", "--addr", "198.18.0.2/24", "--mac", "02:00:00:00:00",
                "--port", "9");
        assertTrue(garbled.err().contains("--mac: '02:00:00:00:00' is not a MAC address (aa:bb:cc:dd:ee:ff)"), garbled.all());
        RumpRun multicast = RumpRun.expect(2, "net", "sink", "--tap", "t0", "--addr", "198.18.0.2/24", "--mac",
                "01:00:5e:00:00:01", "--port", "9");
        assertTrue(multicast.err().contains("--mac: 01:00:5e:00:00:01 is a multicast address"), multicast.all());
    }
}
