package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.Ipv4Address;
import java.nio.file.Files;
import java.nio.file.Path;
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
        assertThrows(CommandLine.ParameterException.class, () -> TapCommands.Url.parse(cl, "http://[2001:db8::1]/"));
        assertThrows(CommandLine.ParameterException.class, () -> TapCommands.Url.parse(cl, "not a url"));
        RumpRun noServer = RumpRun.expect(2, "net", "fetch", "--tap", "t0", "--addr", "198.18.0.2/24", "http://web.test/",
                "-o", tmp.resolve("o").toString());
        assertTrue(noServer.err().contains("give --dns A.B.C.D or --dhcp"), noServer.all());
    }

    @Test
    void resolveTakesAnIpv4ServerWithAnOptionalPort() {
        CommandLine cl = new CommandLine(new TapCommands.Resolve());
        io.jrump.net.dns.DnsServer s = TapCommands.Resolve.serverOption(cl, "198.18.0.1");
        assertEquals("198.18.0.1", s.address().getHostAddress());
        assertEquals(53, s.port());
        assertEquals(5353, TapCommands.Resolve.serverOption(cl, "198.18.0.1:5353").port());
        for (String bad : new String[] {"ns.example", "198.18.0.1:0", "198.18.0.1:65536", "198.18.0.1:x", "2001:db8::1"}) {
            assertThrows(CommandLine.ParameterException.class, () -> TapCommands.Resolve.serverOption(cl, bad), bad);
        }
    }

    @Test
    void theTapCommandsTakeEitherAddrOrDhcp() {
        RumpRun none = RumpRun.expect(2, "net", "fetch", "--tap", "t0", "http://198.18.0.1/", "-o", tmp.resolve("o").toString());
        assertTrue(none.err().contains("give --addr A.B.C.D/P or --dhcp"), none.all());
        RumpRun both = RumpRun.expect(2, "net", "sink", "--tap", "t0", "--dhcp", "--addr", "198.18.0.2/24", "--port", "9");
        assertTrue(both.err().contains("give no --addr or --gw"), both.all());
        RumpRun timeout = RumpRun.expect(2, "net", "sink", "--tap", "t0", "--dhcp", "--dhcp-timeout", "0", "--port", "9");
        assertTrue(timeout.err().contains("--dhcp-timeout"), timeout.all());
    }
}
