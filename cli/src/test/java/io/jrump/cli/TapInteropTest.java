package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our stack on a TAP device against the Linux kernel's own TCP/IP. Each test makes a network
 * namespace; the command creates its TAP device, which the test then moves into the namespace
 * and gives the Linux side 198.18.0.1/24 (ours is 198.18.0.2/24). Nothing talks to any other
 * address, and the namespace, with the device, is deleted afterwards. Needs root, ip, ping,
 * curl, python3, tshark and dnsmasq: a missing one fails the test.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (TAP devices and network namespaces); ./run-tests, as root, runs it")
class TapInteropTest {
    private static final String LINUX = "198.18.0.1";
    private static final String OURS = "198.18.0.2";

    @TempDir
    Path tmp;
    private String ns;
    private String tap;
    private final List<Process> processes = new ArrayList<>();

    @BeforeEach
    void namespace() throws Exception {
        String id = Long.toHexString(ProcessHandle.current().pid() ^ System.nanoTime()).substring(0, 6);
        ns = "jrtap-" + id;
        tap = "jrt" + id;
        TapNamespace.run("ip", "netns", "add", ns);
        TapNamespace.run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
    }

    @AfterEach
    void cleanUp() {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        TapNamespace.tryRun("ip", "link", "del", tap); // if it never left the root namespace
        TapNamespace.tryRun("ip", "netns", "del", ns);
    }

    /** Runs a rump command in the background; once its TAP exists, moves it into the namespace and configures the Linux side. */
    private CompletableFuture<RumpRun> rump(String... args) throws Exception {
        // A TAP of the same name from an earlier command may still be going away inside the namespace
        // (the kernel unregisters it after the command closed it): moving the new one in meanwhile races.
        long gone = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (Files.exists(Path.of("/var/run/netns", ns)) && new ProcessBuilder("ip", "netns", "exec", ns, "test", "-e",
                "/sys/class/net/" + tap).start().waitFor() == 0) {
            assertTrue(System.nanoTime() < gone, "the earlier TAP " + tap + " is still in " + ns + " after 30 s");
            Thread.sleep(20);
        }
        CompletableFuture<RumpRun> run = CompletableFuture.supplyAsync(() -> RumpRun.of(args));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(Path.of("/sys/class/net", tap))) {
            if (run.isDone()) {
                throw new AssertionError("rump ended before its TAP appeared: " + run.get().all());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no TAP device " + tap + " after 20 s");
            }
            Thread.sleep(10);
        }
        TapNamespace.run("ip", "link", "set", tap, "netns", ns);
        inNs("ip", "addr", "add", LINUX + "/24", "dev", tap);
        inNs("ip", "link", "set", tap, "up");
        return run;
    }

    /** Starts python3's http.server in the namespace and waits until it listens. */
    private void pythonHttpServer(Path dir, Path log) throws Exception {
        processes.add(new ProcessBuilder("ip", "netns", "exec", ns, "python3", "-m", "http.server", "8000", "--bind",
                "0.0.0.0", "--directory", dir.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!inNs("ss", "-ltn").contains(":8000")) {
            assertTrue(System.nanoTime() < deadline, "python3 -m http.server did not listen: " + Files.readString(log));
            Thread.sleep(50);
        }
    }

    private String inNs(String... command) throws Exception {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(List.of(command));
        return TapNamespace.run(all.toArray(String[]::new));
    }





    /** tshark finds no malformed packet and no error-level expert info in the capture. */
    private static void cleanToTshark(Path pcap) throws Exception {
        // Standard output only: tshark warns about running as root on standard error. Thrift's
        // heuristic dissector off: random payload that starts like a Thrift message is not ours to fix.
        Process p = new ProcessBuilder("tshark", "-r", pcap.toString(), "--disable-protocol", "thrift", "-Y",
                        "_ws.malformed || _ws.expert.severity >= error")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "tshark timed out");
        assertEquals(0, p.exitValue(), "tshark failed on " + pcap);
        assertEquals("", out.strip(), "tshark flagged packets in " + pcap);
        assertTrue(Files.size(pcap) > 10_000, "the capture holds the transfer");
    }

    /** Whether this kernel has sch_netem: tried on the namespace's loopback. */
    private boolean hasNetem() throws Exception {
        Process p = new ProcessBuilder("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
                "delay", "0ms").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        if (p.exitValue() == 0) {
            inNs("tc", "qdisc", "del", "dev", "lo", "root");
            return true;
        }
        assertTrue(out.contains("qdisc kind is unknown"), "tc netem failed: " + out);
        return false;
    }

    /** netem on the TAP device: loss, delay and reordering of Linux's packets to us. */
    private void netem() throws Exception {
        inNs("tc", "qdisc", "add", "dev", tap, "root", "netem", "loss", "2%", "delay", "5ms", "reorder", "10%");
    }

    /**
     * Where the kernel lacks sch_netem: iptables sends the TAP's packets, both ways, to an NFQUEUE,
     * where nfq-shaper.py drops 2%, delays the rest by 5 ms but lets 10% through at once (reordering
     * them, as netem's reorder does) and hands them back to the kernel. Returns the shaper, which
     * prints its counts when stopped.
     */
    private Process nfqShaper() throws Exception {
        Path script = tmp.resolve("nfq-shaper.py");
        try (InputStream in = TapInteropTest.class.getResourceAsStream("nfq-shaper.py")) {
            Files.copy(in, script);
        }
        Path log = tmp.resolve("shaper.log");
        Process shaper = new ProcessBuilder("ip", "netns", "exec", ns, "python3", script.toString(), "--queue", "7",
                "--loss", "0.02", "--delay-ms", "5", "--reorder", "0.10", "--seed", "1")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.add(shaper);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.readString(log).contains("ready")) {
            assertTrue(shaper.isAlive() && System.nanoTime() < deadline, "nfq-shaper did not start: " + Files.readString(log));
            Thread.sleep(50);
        }
        inNs("iptables-legacy", "-A", "INPUT", "-i", tap, "-j", "NFQUEUE", "--queue-num", "7");
        inNs("iptables-legacy", "-A", "OUTPUT", "-o", tap, "-j", "NFQUEUE", "--queue-num", "7");
        return shaper;
    }

    @Test
    void serveAnswersPingAndCurlDownloadsByteExactIncludingInParallel() throws Exception {
        Path www = Files.createDirectory(tmp.resolve("www"));
        TransferFiles.randomFile(www.resolve("big"), 256L << 20, 1);
        int small = 100;
        for (int i = 0; i < small; i++) {
            TransferFiles.randomFile(www.resolve("s" + i), 1000 + 137L * i, 100 + i);
        }
        CompletableFuture<RumpRun> server = rump("net", "serve", "--tap", tap, "--mac", "02:00:5e:10:00:2a", "--addr",
                OURS + "/24", "--http", www.toString(), "--port", "8080", "--requests", String.valueOf(small + 1));

        String ping = inNs("ping", "-c", "3", "-i", "0.2", "-W", "5", OURS);
        assertTrue(ping.contains("3 received"), ping);
        String neighbour = inNs("ip", "neigh", "show", OURS);
        assertTrue(neighbour.contains("lladdr 02:00:5e:10:00:2a"), "Linux knows us by our --mac: " + neighbour);

        Path got = tmp.resolve("big.got");
        inNs("curl", "-sS", "--fail", "--retry", "20", "--retry-connrefused", "--retry-delay", "1", "--max-time", "240",
                "-o", got.toString(), "http://" + OURS + ":8080/big");
        assertArrayEquals(TransferFiles.sha256(www.resolve("big")), TransferFiles.sha256(got), "256 MiB through curl");

        List<String> parallel = new ArrayList<>(List.of("curl", "-sS", "--fail", "--max-time", "60", "--parallel",
                "--parallel-max", "100"));
        for (int i = 0; i < small; i++) {
            parallel.addAll(List.of("-o", tmp.resolve("s" + i + ".got").toString(), "http://" + OURS + ":8080/s" + i));
        }
        inNs(parallel.toArray(String[]::new));
        for (int i = 0; i < small; i++) {
            assertArrayEquals(Files.readAllBytes(www.resolve("s" + i)), Files.readAllBytes(tmp.resolve("s" + i + ".got")),
                    "small file " + i);
        }
        RumpRun r = server.get(60, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.all());
        assertFalse(r.err().contains("unacknowledged"), r.err()); // every response acknowledged before exit
    }

    @Test
    void capturesOfServingOnBothSidesAreCleanToTshark() throws Exception {
        Path www = Files.createDirectory(tmp.resolve("www"));
        TransferFiles.randomFile(www.resolve("f"), 2L << 20, 4);
        Path pcap = tmp.resolve("serve.pcap");
        CompletableFuture<RumpRun> server = rump("net", "serve", "--tap", tap, "--addr", OURS + "/24", "--http",
                www.toString(), "--port", "8080", "--requests", "3", "--pcap", pcap.toString());
        // The Linux side's own view too: dumpcap on the TAP device in the namespace.
        Path linuxPcap = tmp.resolve("linux.pcapng");
        Path dumpcapLog = tmp.resolve("dumpcap.log");
        Process dumpcap = new ProcessBuilder("ip", "netns", "exec", ns, "dumpcap", "-i", tap, "-w", linuxPcap.toString())
                .redirectErrorStream(true).redirectOutput(dumpcapLog.toFile()).start();
        processes.add(dumpcap);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.readString(dumpcapLog).contains("Capturing on")) {
            assertTrue(dumpcap.isAlive() && System.nanoTime() < deadline, "dumpcap did not start: " + Files.readString(dumpcapLog));
            Thread.sleep(50);
        }
        for (String path : List.of("/f", "/missing", "/../etc/passwd")) {
            Process p = new ProcessBuilder("ip", "netns", "exec", ns, "curl", "-sS", "--retry", "20", "--retry-connrefused",
                    "--retry-delay", "1", "--path-as-is", "-o", "/dev/null",
                    "-w", "%{http_code}", "http://" + OURS + ":8080" + path).start();
            String code = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(path.equals("/f") ? "200" : "404", code, path);
        }
        assertEquals(0, server.get(60, TimeUnit.SECONDS).code());
        cleanToTshark(pcap);
        assertTrue(maxFrameLength(pcap) > 1514, "our TSO segments, captured as the stack sent them");
        dumpcap.destroy(); // SIGTERM: dumpcap finishes the file
        assertTrue(dumpcap.waitFor(30, TimeUnit.SECONDS), "dumpcap did not stop");
        cleanToTshark(linuxPcap);
    }

    @Test
    void fetchDownloadsFromPythonsHttpServerByteExact() throws Exception {
        Path pcap = fetchFromPython(32L << 20, 2);
        assertTrue(maxFrameLength(pcap) > 1514, "Linux's TSO segments, taken whole (TUN_F_TSO4)");
    }

    /**
     * {@code --dhcp}: dnsmasq in the namespace leases an address (with router, MTU and DNS server
     * options) and answers web.test; the fetch of http://web.test:8000/f resolves the name through
     * our stack from the lease's server, runs over the lease, and releases it when it ends.
     */
    @Test
    void fetchWithDhcpGetsALeaseFromDnsmasqResolvesThroughItAndReleasesIt() throws Exception {
        Path www = Files.createDirectory(tmp.resolve("www"));
        TransferFiles.randomFile(www.resolve("f"), 1 << 20, 5);
        pythonHttpServer(www, tmp.resolve("http.log"));
        Path got = tmp.resolve("f.got");
        Path pcap = tmp.resolve("dhcp.pcap");
        Path log = tmp.resolve("dnsmasq.log");
        CompletableFuture<RumpRun> run = rump("net", "fetch", "--tap", tap, "--dhcp", "--dhcp-timeout", "60",
                "http://web.test:8000/f", "-o", got.toString(), "--pcap", pcap.toString());
        // dnsmasq leases the address and names itself as the DNS server, which answers web.test.
        processes.add(new ProcessBuilder("ip", "netns", "exec", ns, "dnsmasq", "--keep-in-foreground",
                "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--address=/web.test/" + LINUX, "--log-queries",
                "--user=root", "--bind-interfaces", "--interface=" + tap, "--dhcp-option=option:dns-server," + LINUX,
                "--dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,10m", "--dhcp-option=option:router," + LINUX,
                "--dhcp-option=option:mtu,1400", "--dhcp-leasefile=" + tmp.resolve("leases"), "--no-ping",
                "--log-dhcp", "--log-facility=-", "--pid-file=")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start());
        RumpRun r = run.get(120, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.all() + "\ndnsmasq:\n" + Files.readString(log));
        assertArrayEquals(TransferFiles.sha256(www.resolve("f")), TransferFiles.sha256(got));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                "DHCP lease (198\\.18\\.0\\.(\\d+))/24 from " + LINUX.replace(".", "\\.") + " router "
                        + LINUX.replace(".", "\\.") + " mtu 1400 for 600 s").matcher(r.err());
        assertTrue(m.find(), r.all());
        int host = Integer.parseInt(m.group(2));
        assertTrue(host >= 100 && host <= 150, m.group(1));
        String address = m.group(1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.readString(log).contains("DHCPRELEASE(" + tap + ") " + address)) {
            assertTrue(System.nanoTime() < deadline, "no DHCPRELEASE in dnsmasq's log:\n" + Files.readString(log));
            Thread.sleep(50);
        }
        assertTrue(Files.readString(log).contains("DHCPACK(" + tap + ") " + address), Files.readString(log));
        assertTrue(Files.readString(log).contains("query[A] web.test from " + address), "the name was asked of the"
                + " lease's DNS server through our stack:\n" + Files.readString(log));
        cleanToTshark(pcap);
        // The capture holds our DHCP exchange, decoded by tshark: DISCOVER, REQUEST, RELEASE.
        Process p = new ProcessBuilder("tshark", "-r", pcap.toString(), "-Y", "dhcp", "-T", "fields", "-e",
                "dhcp.option.dhcp").redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String types = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        List<String> seen = types.lines().map(String::strip).toList();
        assertTrue(seen.contains("1") && seen.contains("3") && seen.contains("5") && seen.contains("7"),
                "DISCOVER, REQUEST, ACK and RELEASE in the capture: " + seen);
    }

    /** The old path: a TAP opened without IFF_VNET_HDR, every frame within the MTU. */
    @Test
    void fetchWithoutOffloadsMovesOnlyMtuSizedFrames() throws Exception {
        Path pcap = fetchFromPython(8L << 20, 3, "--no-offload");
        assertTrue(maxFrameLength(pcap) <= 1514, "no large segments without offloads");
    }

    /**
     * {@code rump net fetch [flags]} of a random file of {@code size} bytes from python3's
     * http.server: byte-exact, the digest it prints right, and its capture clean to tshark, which
     * it returns.
     */
    private Path fetchFromPython(long size, long seed, String... flags) throws Exception {
        Path www = Files.createDirectory(tmp.resolve("www"));
        TransferFiles.randomFile(www.resolve("f"), size, seed);
        pythonHttpServer(www, tmp.resolve("http.log"));
        Path got = tmp.resolve("f.got");
        Path pcap = tmp.resolve("fetch.pcap");
        List<String> args = new ArrayList<>(List.of("net", "fetch"));
        args.addAll(List.of(flags));
        args.addAll(List.of("--tap", tap, "--addr", OURS + "/24", "http://" + LINUX + ":8000/f", "-o", got.toString(),
                "--pcap", pcap.toString()));
        RumpRun r = rump(args.toArray(String[]::new)).get(120, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.all());
        assertArrayEquals(TransferFiles.sha256(www.resolve("f")), TransferFiles.sha256(got));
        assertTrue(r.out().contains("sha256 " + HexFormat.of().formatHex(TransferFiles.sha256(got))), r.out());
        cleanToTshark(pcap);
        return pcap;
    }

    /** The longest frame in a capture, by tshark. */
    private static int maxFrameLength(Path pcap) throws Exception {
        Process p = new ProcessBuilder("tshark", "-r", pcap.toString(), "-T", "fields", "-e", "frame.len")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "tshark timed out");
        return out.lines().filter(l -> !l.isBlank()).mapToInt(l -> Integer.parseInt(l.strip())).max().orElse(0);
    }

    /**
     * {@code rump net resolve} asks dnsmasq in the namespace over the TAP: our stack's UDP socket
     * and the resolver on it against a real server. dnsmasq starts once the namespace side has its
     * address, so the first query may go unanswered; the command's later tries reach it.
     */
    @Test
    void resolveAsksDnsmasqThroughOurStack() throws Exception {
        Path dnsmasq = Path.of("/usr/sbin/dnsmasq");
        assertTrue(Files.isExecutable(dnsmasq), "dnsmasq is not installed (package dnsmasq-base)");
        Path log = tmp.resolve("dnsmasq.log");
        CompletableFuture<RumpRun> resolve = rump("net", "resolve", "--tap", tap, "--addr", OURS + "/24", "--server",
                LINUX, "name.test");
        processes.add(new ProcessBuilder("ip", "netns", "exec", ns, dnsmasq.toString(), "--keep-in-foreground",
                "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--pid-file=", "--user=root",
                "--listen-address=" + LINUX, "--bind-interfaces", "--address=/name.test/198.18.0.7",
                "--log-queries", "--log-facility=-").redirectErrorStream(true).redirectOutput(log.toFile()).start());
        RumpRun r = resolve.get(60, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.all() + "\ndnsmasq: " + Files.readString(log));
        assertTrue(r.out().contains("name.test A 198.18.0.7"), r.out());
        assertTrue(Files.readString(log).contains("name.test"), "dnsmasq saw the query: " + Files.readString(log));
    }

    @Test
    void sendDeliversItsPatternToSocatByteExact() throws Exception {
        long bytes = 48L << 20;
        Path got = tmp.resolve("sent.got");
        Process socat = new ProcessBuilder("ip", "netns", "exec", ns, "socat", "-u", "TCP-LISTEN:5001,reuseaddr",
                "CREATE:" + got).redirectErrorStream(true).redirectOutput(tmp.resolve("socat.log").toFile()).start();
        processes.add(socat);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!inNs("ss", "-ltn").contains(":5001")) {
            assertTrue(System.nanoTime() < deadline, "socat did not listen: " + Files.readString(tmp.resolve("socat.log")));
            Thread.sleep(50);
        }
        CompletableFuture<RumpRun> send = rump("net", "send", "--tap", tap, "--addr", OURS + "/24", "--to",
                LINUX + ":5001", "--bytes", String.valueOf(bytes));
        RumpRun r = send.get(120, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().startsWith("sent " + bytes + " bytes to " + LINUX + ":5001 in "), r.out());
        assertTrue(socat.waitFor(30, TimeUnit.SECONDS), "socat did not finish");
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        NetPair.Pattern pattern = new NetPair.Pattern(1, bytes);
        for (var b = pattern.next(1 << 20); b != null; b = pattern.next(1 << 20)) {
            md.update(b);
        }
        assertEquals(bytes, Files.size(got));
        assertArrayEquals(md.digest(), TransferFiles.sha256(got), "socat received what send's pattern holds");
    }

    @Test
    void sinkReceivesFromSocatAndReportsTheDigest() throws Exception {
        Path src = tmp.resolve("src");
        TransferFiles.randomFile(src, 48L << 20, 5);
        CompletableFuture<RumpRun> sink = rump("net", "sink", "--tap", tap, "--addr", OURS + "/24", "--port", "5002");
        inNs("socat", "-u", "OPEN:" + src, "TCP:" + OURS + ":5002,retry=40,interval=0.25");
        RumpRun r = sink.get(120, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("received " + Files.size(src) + " bytes from " + LINUX + ":"), r.out());
        assertTrue(r.out().contains("sha256 " + HexFormat.of().formatHex(TransferFiles.sha256(src))), r.out());
        assertFalse(r.err().contains("unacknowledged"), r.err());
    }

    @Test
    void bothDirectionsCompleteThroughTwoPercentLossEachWay() throws Exception {
        // nftables in the namespace drops 2% of the frames either way at random (numgen): real
        // losses of data, ACKs, SYNs and FINs, made by the Linux kernel, where netem is missing.
        String table = String.join("\n",
                "table inet jrloss {",
                "  chain in { type filter hook input priority 0; iifname \"" + tap + "\" numgen random mod 100 < 2 counter drop; }",
                "  chain out { type filter hook output priority 0; oifname \"" + tap + "\" numgen random mod 100 < 2 counter drop; }",
                "}");
        Path rules = tmp.resolve("loss.nft");
        Files.writeString(rules, table + "\n");
        inNs("nft", "-f", rules.toString());
        // 32 MiB: with offloads that is still over 500 frames (64 KiB segments) each way, so that
        // each chain drops some with near certainty (0.98^500 is 4e-5).
        bothDirections(32L << 20, () -> { });
        String counters = inNs("nft", "list", "table", "inet", "jrloss");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("counter packets (\\d+)").matcher(counters);
        int chains = 0;
        while (m.find()) {
            assertTrue(Long.parseLong(m.group(1)) > 0, "each way really dropped frames:\n" + counters);
            chains++;
        }
        assertEquals(2, chains, counters);
    }

    @Test
    void bothDirectionsCompleteThroughLossDelayAndReordering() throws Exception {
        if (hasNetem()) {
            bothDirections(4L << 20, this::netem);
            return;
        }
        Process shaper = nfqShaper();
        bothDirections(16L << 20, () -> { }); // enough packets, even as 64 KiB segments, to be shaped for sure
        shaper.destroy(); // SIGTERM: it releases what it holds and prints its counts
        assertTrue(shaper.waitFor(30, TimeUnit.SECONDS), "nfq-shaper did not stop");
        String counts = Files.readString(tmp.resolve("shaper.log"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("seen (\\d+) dropped (\\d+) reordered (\\d+)").matcher(counts);
        assertTrue(m.find(), counts);
        long seen = Long.parseLong(m.group(1));
        assertTrue(seen > 500 && Long.parseLong(m.group(2)) > 0 && Long.parseLong(m.group(3)) > 0,
                "the link really was shaped: " + counts);
    }

    /**
     * Serves a file to curl, then fetches it from python3's http.server, both byte-exact, with
     * {@code shape} run on the link each time a command has made its TAP.
     */
    private void bothDirections(long size, Shaper shape) throws Exception {
        Path www = Files.createDirectory(tmp.resolve("www"));
        TransferFiles.randomFile(www.resolve("f"), size, 3);
        // The server direction: our data out, Linux's ACKs back.
        CompletableFuture<RumpRun> server = rump("net", "serve", "--tap", tap, "--addr", OURS + "/24", "--http",
                www.toString(), "--port", "8080", "--requests", "1");
        shape.run();
        Path got = tmp.resolve("served.got");
        inNs("curl", "-sS", "--fail", "--retry", "20", "--retry-connrefused", "--retry-delay", "1", "--max-time", "240",
                "-o", got.toString(), "http://" + OURS + ":8080/f");
        assertArrayEquals(TransferFiles.sha256(www.resolve("f")), TransferFiles.sha256(got));
        RumpRun s = server.get(60, TimeUnit.SECONDS);
        assertEquals(0, s.code(), s.all());

        // The fetch direction: Linux's data to us. A new TAP of the same name.
        pythonHttpServer(www, tmp.resolve("http.log"));
        Path fetched = tmp.resolve("fetched.got");
        CompletableFuture<RumpRun> fetch = rump("net", "fetch", "--tap", tap, "--addr", OURS + "/24",
                "http://" + LINUX + ":8000/f", "-o", fetched.toString());
        shape.run();
        RumpRun r = fetch.get(240, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.all());
        assertArrayEquals(TransferFiles.sha256(www.resolve("f")), TransferFiles.sha256(fetched));
    }

    @FunctionalInterface
    private interface Shaper {
        void run() throws Exception;
    }
}
