package io.jrump.cli;

import static io.jrump.cli.TapNamespace.LINUX;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.Ipv6Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TAP commands over IPv6 against Linux and dnsmasq, each test in a namespace of its own
 * (198.18.0.0/24 and 2001:db8:1::/64 only). dnsmasq serves DHCPv4, router advertisements for
 * 2001:db8:1::/64 with the O flag ({@code ra-stateless}: SLAAC, and stateless DHCPv6 for the DNS
 * server), and DNS. The TAP is made inside the namespace and the commands run there in a JVM of
 * their own ({@link TapNamespace#rumpProcess}), so Linux's side is configured before our first
 * solicitation. Needs root, ip, ping, curl, dnsmasq, dumpcap, python3 and tshark: a missing one
 * fails the test.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (TAP devices and network namespaces); ./run-tests, as root, runs it")
class Ipv6InteropTest {
    static final String LINUX6 = "2001:db8:1::1";
    /** RA for the prefix with the O flag (SLAAC + stateless DHCPv6), DHCPv4, DHCPv6's DNS server. */
    static final String[] DNSMASQ = {"--enable-ra", "--dhcp-range=2001:db8:1::,ra-stateless,64,10m",
        "--dhcp-range=198.18.0.10,198.18.0.50,2m", "--dhcp-option=option6:dns-server,[" + LINUX6 + "]"};
    static final Pattern SLAAC = Pattern.compile("rump: SLAAC (2001:db8:1:0:[0-9a-f:]+)/64 link-local (fe80::[0-9a-f:]+)"
            + " router (fe80::[0-9a-f:]+) dns ([0-9a-f:. ]+)");

    @TempDir
    Path tmp;
    TapNamespace net;

    @BeforeEach
    void namespace() throws Exception {
        net = new TapNamespace();
    }

    @AfterEach
    void cleanUp() {
        net.close();
    }

    /**
     * {@code rump net serve --dhcp --slaac}: a DHCPv4 lease and an RFC 7217 address from the RA's
     * prefix, dnsmasq's DNS server learnt by RDNSS and by stateless DHCPv6 (dnsmasq logs our
     * Information-request). Linux pings our link-local and global addresses, after which its
     * neighbour entry for each reaches REACHABLE; curl fetches a file by name over IPv6 and over
     * IPv4 (dnsmasq serves web.test with both of our addresses, learnt from the command's stderr
     * and given to dnsmasq through --addn-hosts and SIGHUP), byte-exact. Our capture and dumpcap's
     * on the Linux side are clean to tshark.
     */
    @Test
    void serveOverIpv6AndIpv4ByNameWithDhcpSlaacAndDhcpv6() throws Exception {
        net.tapInside(LINUX6 + "/64");
        Path hosts = tmp.resolve("hosts");
        Files.writeString(hosts, "");
        Path log = tmp.resolve("dnsmasq.log");
        Process dnsmasq = net.dnsmasq(log, concat(DNSMASQ, "--addn-hosts=" + hosts, "--dhcp-leasefile=" + tmp.resolve("leases")));
        net.resolvConf(LINUX);
        Path linuxPcap = tmp.resolve("linux.pcapng");
        Process dumpcap = net.dumpcap(linuxPcap, tmp.resolve("dumpcap.log"));
        Path www = Files.createDirectory(tmp.resolve("www"));
        byte[] file = randomBytes(3 << 20, 6);
        Files.write(www.resolve("f"), file);
        Path ours = tmp.resolve("serve.pcap");
        Process serve = net.rumpProcess(tmp, "serve", "net", "serve", "--tap", net.tap, "--dhcp", "--slaac", "--http",
                www.toString(), "--port", "8000", "--requests", "2", "--pcap", ours.toString());

        String err = TapNamespace.awaitText(tmp.resolve("serve.err"), "rump: SLAAC", 60, serve);
        Matcher v4 = Pattern.compile("rump: DHCP lease (198\\.18\\.0\\.\\d+)/24 from " + Pattern.quote(LINUX)).matcher(err);
        assertTrue(v4.find(), err);
        String a4 = v4.group(1);
        Matcher v6 = SLAAC.matcher(err);
        assertTrue(v6.find(), err);
        String a6 = v6.group(1);
        String linkLocal = v6.group(2);
        assertEquals(LINUX6, v6.group(4).strip(), "the DNS server from RDNSS / DHCPv6: " + err);
        assertTrue(Ipv6Address.parse(a6).inPrefix(Ipv6Address.parse("2001:db8:1::"), 64));
        String out = TapNamespace.awaitText(tmp.resolve("serve.out"), "serves", 10, serve);
        assertTrue(out.contains("http://" + a4 + ":8000/") && out.contains("http://[" + a6 + "]:8000/"), out);
        String dl = Files.readString(log);
        assertTrue(dl.contains("RTR-SOLICIT(" + net.tap + ")"), dl);
        assertTrue(dl.contains("DHCPINFORMATION-REQUEST(" + net.tap + ")"), "stateless DHCPv6 asked:\n" + dl);
        assertTrue(dl.contains("DHCPACK(" + net.tap + ") " + a4), dl);

        // Linux pings both of our IPv6 addresses; its neighbour entries reach REACHABLE.
        String pingLinkLocal = net.inNs("ping", "-6", "-c", "2", "-i", "0.2", "-W", "3", "-I", net.tap, linkLocal);
        assertTrue(pingLinkLocal.contains("2 received"), pingLinkLocal);
        String pingGlobal = net.inNs("ping", "-6", "-c", "2", "-i", "0.2", "-W", "3", a6);
        assertTrue(pingGlobal.contains("2 received"), pingGlobal);
        awaitReachable(linkLocal);
        awaitReachable(a6);

        // dnsmasq learns web.test -> both of our addresses (SIGHUP re-reads --addn-hosts).
        Files.writeString(hosts, a4 + " web.test\n" + a6 + " web.test\n");
        TapNamespace.run("kill", "-HUP", Long.toString(dnsmasq.pid()));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.readString(log).contains("read " + hosts + " - 2 names")) {
            assertTrue(System.nanoTime() < deadline, "dnsmasq did not re-read " + hosts + ":\n" + Files.readString(log));
            Thread.sleep(20);
        }
        for (String family : List.of("-6", "-4")) {
            Path got = tmp.resolve("got" + family);
            String code = net.inNs("curl", "-sS", "--max-time", "30", family, "-o", got.toString(), "-w", "%{http_code} %{remote_ip}",
                    "http://web.test:8000/f");
            assertEquals("200 " + (family.equals("-6") ? a6 : a4), code, family);
            assertArrayEquals(file, Files.readAllBytes(got), "curl " + family + " byte-exact");
        }
        dl = Files.readString(log);
        assertTrue(dl.contains("query[AAAA] web.test") && dl.contains("query[A] web.test"), dl);

        RumpRun r = TapNamespace.finish(serve, tmp, "serve", 30);
        assertEquals(0, r.code(), r.all());
        TapNamespace.stop(dumpcap);
        // Our capture holds the RS, the RA (with RDNSS), DAD, the Information-request and its Reply, TCP over IPv6, echo replies.
        for (String filter : List.of("icmpv6.type == 133", "icmpv6.type == 134", "icmpv6.type == 135 && ipv6.src == ::", "icmpv6.type == 134 && icmpv6.opt.type == 25",
                "dhcpv6.msgtype == 11", "dhcpv6.msgtype == 7", "tcp && ipv6.src == " + a6, "icmpv6.type == 129")) {
            assertTrue(!tshark(ours, filter, "frame.number").isBlank(), filter + " in our capture");
        }
        cleanToTshark(ours);
        cleanToTshark(linuxPcap);
    }

    /**
     * {@code rump net resolve --slaac}: the name server is learnt from the RA / DHCPv6 and asked
     * over IPv6 (dnsmasq logs the query from our SLAAC address); A and AAAA printed. {@code rump
     * net fetch --dhcp --slaac} by name from python's http.server on :: prefers IPv6 (we have a
     * global IPv6 address); a name whose IPv6 address refuses the port falls back to IPv4; a URL
     * with an IPv6 literal and an address given by hand works too, and an off-link destination
     * through {@code --gw} given as Linux's link-local address. Byte-exact each time.
     */
    @Test
    void resolveAndFetchOverIpv6FromLinux() throws Exception {
        net.tapInside(LINUX6 + "/64");
        Path log = tmp.resolve("dnsmasq.log");
        net.dnsmasq(log, concat(DNSMASQ, "--host-record=web.test," + LINUX + "," + LINUX6,
                "--host-record=fallback.test," + LINUX + "," + LINUX6, "--dhcp-leasefile=" + tmp.resolve("leases")));
        Path www = Files.createDirectory(tmp.resolve("www"));
        byte[] file = randomBytes(2 << 20, 7);
        Files.write(www.resolve("f"), file);
        Path httpLog = tmp.resolve("http.log");
        pythonHttpServer(www, "::", 8000, httpLog);
        pythonHttpServer(www, LINUX, 8001, tmp.resolve("http4.log")); // IPv4 only: [LINUX6]:8001 refuses

        Path pcap = tmp.resolve("resolve.pcap");
        RumpRun resolved = TapNamespace.finish(net.rumpProcess(tmp, "resolve", "net", "resolve", "--tap", net.tap,
                "--slaac", "web.test", "--pcap", pcap.toString()), tmp, "resolve", 60);
        assertEquals(0, resolved.code(), resolved.all());
        assertTrue(resolved.out().contains("web.test A " + LINUX) && resolved.out().contains("web.test AAAA " + LINUX6),
                resolved.all());
        Matcher m = SLAAC.matcher(resolved.err());
        assertTrue(m.find(), resolved.err());
        String dl = Files.readString(log);
        assertTrue(dl.contains("query[AAAA] web.test from " + m.group(1)), "asked over IPv6 from our address:\n" + dl);
        cleanToTshark(pcap);

        Path got = tmp.resolve("got");
        Path fetchPcap = tmp.resolve("fetch.pcap");
        RumpRun fetched = TapNamespace.finish(net.rumpProcess(tmp, "fetch", "net", "fetch", "--tap", net.tap, "--dhcp",
                "--slaac", "http://web.test:8000/f", "-o", got.toString(), "--pcap", fetchPcap.toString()), tmp, "fetch", 90);
        assertEquals(0, fetched.code(), fetched.all());
        assertTrue(fetched.err().contains("rump: connected to [" + LINUX6 + "]:8000"), "IPv6 first: " + fetched.all());
        assertArrayEquals(file, Files.readAllBytes(got));
        Matcher ours = SLAAC.matcher(fetched.err());
        assertTrue(ours.find(), fetched.err());
        assertTrue(Files.readString(httpLog).contains(ours.group(1)), "python saw our IPv6 address:\n"
                + Files.readString(httpLog));
        cleanToTshark(fetchPcap);

        Path got2 = tmp.resolve("got2");
        RumpRun fallback = TapNamespace.finish(net.rumpProcess(tmp, "fallback", "net", "fetch", "--tap", net.tap, "--dhcp",
                "--slaac", "http://fallback.test:8001/f", "-o", got2.toString()), tmp, "fallback", 90);
        assertEquals(0, fallback.code(), fallback.all());
        assertTrue(fallback.err().contains("connecting to [" + LINUX6 + "]:8001: Connection refused") && fallback.err().contains("trying "
                + LINUX) && fallback.err().contains("rump: connected to " + LINUX + ":8001"), fallback.all());
        assertArrayEquals(file, Files.readAllBytes(got2));

        Path got3 = tmp.resolve("got3");
        RumpRun literal = TapNamespace.finish(net.rumpProcess(tmp, "literal", "net", "fetch", "--tap", net.tap, "--addr",
                "2001:db8:1::5/64", "http://[" + LINUX6 + "]:8000/f", "-o", got3.toString()), tmp, "literal", 60);
        assertEquals(0, literal.code(), literal.all());
        assertTrue(literal.err().matches("(?s).*rump: IPv6 fe80::[0-9a-f:]+/64, 2001:db8:1::5/64\\n.*"), literal.all());
        assertArrayEquals(file, Files.readAllBytes(got3));
        assertTrue(Files.readString(httpLog).contains("2001:db8:1::5"), Files.readString(httpLog));

        // Off-link through a gateway given by its link-local address: Linux's 2001:db8:3::1 on its loopback.
        net.inNs("ip", "-6", "addr", "add", "2001:db8:3::1/128", "dev", "lo");
        Matcher ll = Pattern.compile("inet6 (fe80::[0-9a-f:]+)/64").matcher(net.inNs("ip", "-6", "addr", "show", "dev",
                net.tap, "scope", "link"));
        assertTrue(ll.find());
        Path got4 = tmp.resolve("got4");
        RumpRun routed = TapNamespace.finish(net.rumpProcess(tmp, "routed", "net", "fetch", "--tap", net.tap, "--addr",
                "2001:db8:1::6/64", "--gw", ll.group(1), "http://[2001:db8:3::1]:8000/f", "-o", got4.toString()), tmp,
                "routed", 60);
        assertEquals(0, routed.code(), routed.all());
        assertArrayEquals(file, Files.readAllBytes(got4));
    }

    /**
     * Linux holds 2001:db8:1::2: {@code rump net serve --addr 2001:db8:1::2/64} finds it by
     * duplicate address detection (Linux answers our DAD solicitation) and stops with EADDRINUSE
     * naming it; with a free address the same command serves curl over IPv6 — with
     * {@code --no-offload}, on the TAP the first run opened with offloads (which Linux would
     * otherwise keep using: partial checksums with no header to flag them). Without a router,
     * {@code --slaac} ends with ETIMEDOUT after {@code --slaac-timeout}.
     */
    @Test
    void duplicateAddressDetectionFindsAnAddressLinuxHolds() throws Exception {
        net.tapInside(LINUX6 + "/64", "2001:db8:1::2/64");
        Path www = Files.createDirectory(tmp.resolve("www"));
        byte[] file = randomBytes(1 << 20, 8);
        Files.write(www.resolve("f"), file);
        Path pcap = tmp.resolve("dup.pcap");
        RumpRun dup = TapNamespace.finish(net.rumpProcess(tmp, "dup", "net", "serve", "--tap", net.tap, "--addr",
                "2001:db8:1::2/64", "--http", www.toString(), "--pcap", pcap.toString()), tmp, "dup", 60);
        assertEquals(1, dup.code(), dup.all());
        assertTrue(dup.err().contains("rump: 2001:db8:1::2 is in use on the link (duplicate address detection")
                && dup.err().contains("EADDRINUSE"), dup.all());
        assertTrue(!tshark(pcap, "icmpv6.type == 135 && ipv6.src == :: && icmpv6.nd.ns.target_address == 2001:db8:1::2",
                "frame.number").isBlank(), "our DAD solicitation");
        assertTrue(!tshark(pcap, "icmpv6.type == 136 && icmpv6.nd.na.target_address == 2001:db8:1::2",
                "frame.number").isBlank(), "Linux's advertisement");
        cleanToTshark(pcap);

        // --no-offload on the TAP the first run opened with offloads: the host turns Linux's off again.
        Process serve = net.rumpProcess(tmp, "free", "net", "serve", "--tap", net.tap, "--addr", "2001:db8:1::3/64",
                "--http", www.toString(), "--port", "8000", "--requests", "1", "--no-offload");
        TapNamespace.awaitText(tmp.resolve("free.out"), "serves", 60, serve);
        Path got = tmp.resolve("got");
        String code = net.inNs("curl", "-sS", "--max-time", "30", "-o", got.toString(), "-w", "%{http_code}", "http://[2001:db8:1::3]:8000/f");
        assertEquals("200", code);
        assertArrayEquals(file, Files.readAllBytes(got));
        RumpRun r = TapNamespace.finish(serve, tmp, "free", 30);
        assertEquals(0, r.code(), r.all());

        // No router on this link: --slaac gives up after --slaac-timeout.
        RumpRun noRouter = TapNamespace.finish(net.rumpProcess(tmp, "norouter", "net", "resolve", "--tap", net.tap,
                "--slaac", "--slaac-timeout", "2", "web.test"), tmp, "norouter", 60);
        assertEquals(1, noRouter.code(), noRouter.all());
        assertTrue(noRouter.err().contains("no IPv6 address from a router advertisement on tap:" + net.tap + " after 2 s"
                + " (no router heard") && noRouter.err().contains("ETIMEDOUT"), noRouter.all());
    }

    /**
     * {@code rump net send --to [2001:db8:1::1]:5001} into socat's {@code TCP6-LISTEN}, and
     * {@code rump net sink} fed by socat over {@code TCP6}, each 16 MiB byte-exact, with an
     * address given by hand and offloads on (Linux hands over partial checksums; IPv6 has no
     * segmentation offload, so every segment fits the MTU).
     */
    @Test
    void sendAndSinkOverIpv6WithSocat() throws Exception {
        net.tapInside(LINUX6 + "/64");
        long bytes = 16L << 20;
        Path got = tmp.resolve("sent.got");
        Process socat = new ProcessBuilder("ip", "netns", "exec", net.ns, "socat", "-u", "TCP6-LISTEN:5001,reuseaddr",
                "CREATE:" + got).redirectErrorStream(true).redirectOutput(tmp.resolve("socat.log").toFile()).start();
        net.track(socat);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!net.inNs("ss", "-ltn").contains(":5001 ")) {
            assertTrue(System.nanoTime() < deadline, "socat did not listen: " + Files.readString(tmp.resolve("socat.log")));
            Thread.sleep(50);
        }
        RumpRun sent = TapNamespace.finish(net.rumpProcess(tmp, "send", "net", "send", "--tap", net.tap, "--addr",
                "2001:db8:1::2/64", "--to", "[" + LINUX6 + "]:5001", "--bytes", Long.toString(bytes)), tmp, "send", 90);
        assertEquals(0, sent.code(), sent.all());
        assertTrue(sent.out().startsWith("sent " + bytes + " bytes to [" + LINUX6 + "]:5001 in "), sent.out());
        assertTrue(socat.waitFor(30, TimeUnit.SECONDS), "socat did not finish");
        java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
        NetPair.Pattern pattern = new NetPair.Pattern(1, bytes);
        for (var b = pattern.next(1 << 20); b != null; b = pattern.next(1 << 20)) {
            md.update(b);
        }
        assertArrayEquals(md.digest(), java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(got)),
                "socat received what send's pattern holds");

        byte[] src = randomBytes((int) bytes, 9);
        Path srcFile = tmp.resolve("src");
        Files.write(srcFile, src);
        Process sink = net.rumpProcess(tmp, "sink", "net", "sink", "--tap", net.tap, "--addr", "2001:db8:1::2/64",
                "--port", "5002");
        TapNamespace.awaitText(tmp.resolve("sink.out"), "listening on", 60, sink);
        net.inNs("socat", "-u", "OPEN:" + srcFile, "TCP6:[2001:db8:1::2]:5002");
        RumpRun r = TapNamespace.finish(sink, tmp, "sink", 60);
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("received " + bytes + " bytes from [" + LINUX6 + "]:"), r.out());
        assertTrue(r.out().contains("sha256 " + java.util.HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(src))), r.out());
    }

    /**
     * Linux's neighbour entry for {@code address} becomes REACHABLE within 10 s. Right after the
     * ping it may be DELAY or STALE (an entry made from our solicitation, then used: RFC 4861
     * section 7.3.3); Linux probes it by unicast solicitation after DELAY_FIRST_PROBE_TIME
     * (5 s), and our solicited advertisement makes it REACHABLE. So REACHABLE is what our
     * answers guarantee, given time; it is asked with a ping each second (keeping the entry in use).
     */
    private void awaitReachable(String address) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String neigh;
        while (!(neigh = net.inNs("ip", "-6", "neigh", "show", address, "dev", net.tap)).contains("REACHABLE")) {
            assertTrue(System.nanoTime() < deadline, "Linux's entry for " + address + " not REACHABLE: " + neigh);
            net.inNs("ping", "-6", "-c", "1", "-W", "1", "-I", net.tap, address);
            Thread.sleep(1000);
        }
        assertTrue(neigh.contains("lladdr"), neigh);
    }

    private void pythonHttpServer(Path dir, String bind, int port, Path log) throws Exception {
        Process p = new ProcessBuilder("ip", "netns", "exec", net.ns, "python3", "-m", "http.server", Integer.toString(port),
                "--bind", bind, "--directory", dir.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        net.track(p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!net.inNs("ss", "-ltn").contains(":" + port + " ")) {
            assertTrue(p.isAlive() && System.nanoTime() < deadline, "http.server did not listen: " + Files.readString(log));
            Thread.sleep(50);
        }
    }

    /** tshark finds no malformed packet and no error-level expert info (thrift off, as TapInteropTest explains). */
    static void cleanToTshark(Path pcap) throws Exception {
        Process p = new ProcessBuilder("tshark", "-r", pcap.toString(), "--disable-protocol", "thrift", "-Y",
                "_ws.malformed || _ws.expert.severity >= error").redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "tshark timed out");
        assertEquals(0, p.exitValue(), "tshark failed on " + pcap);
        assertEquals("", out.strip(), "tshark flagged packets in " + pcap);
    }

    private static String tshark(Path pcap, String filter, String... fields) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("tshark", "-r", pcap.toString(), "-Y", filter, "-T", "fields"));
        for (String f : fields) {
            cmd.addAll(List.of("-e", f));
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "tshark timed out");
        assertEquals(0, p.exitValue(), "tshark failed on " + pcap + " with " + filter);
        return out;
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
