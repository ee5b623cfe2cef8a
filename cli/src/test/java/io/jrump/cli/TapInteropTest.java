package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our stack on a TAP device against the Linux kernel's own TCP/IP. Each test makes a network
 * namespace; the command creates its TAP device, which the test then moves into the namespace
 * and gives the Linux side 198.18.0.1/24 (ours is 198.18.0.2/24). Nothing talks to any other
 * address, and the namespace, with the device, is deleted afterwards. Needs root, ip, ping,
 * curl, python3 and tshark: a missing one fails the test.
 */
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
        run("ip", "netns", "add", ns);
        run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
    }

    @AfterEach
    void cleanUp() {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        tryRun("ip", "link", "del", tap); // if it never left the root namespace
        tryRun("ip", "netns", "del", ns);
    }

    /** Runs a rump command in the background; once its TAP exists, moves it into the namespace and configures the Linux side. */
    private CompletableFuture<RumpRun> rump(String... args) throws Exception {
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
        run("ip", "link", "set", tap, "netns", ns);
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
        return run(all.toArray(String[]::new));
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + String.join(" ", command));
        }
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", command) + "\n" + text);
        return text;
    }

    private static void tryRun(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            // best effort
        }
    }

    private static byte[] sha256(Path f) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(f)) {
            byte[] b = new byte[1 << 20];
            int n;
            while ((n = in.read(b)) > 0) {
                md.update(b, 0, n);
            }
        }
        return md.digest();
    }

    private static void randomFile(Path f, long size, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] b = new byte[1 << 20];
        try (OutputStream out = Files.newOutputStream(f)) {
            for (long left = size; left > 0; left -= b.length) {
                for (int i = 0; i < b.length; i += 8) {
                    long v = r.nextLong();
                    for (int k = 0; k < 8; k++) {
                        b[i + k] = (byte) (v >>> (8 * k));
                    }
                }
                out.write(b, 0, (int) Math.min(b.length, left));
            }
        }
    }

    /** tshark finds no malformed packet and no error-level expert info in the capture. */
    private static void cleanToTshark(Path pcap) throws Exception {
        // Standard output only: tshark warns about running as root on standard error.
        Process p = new ProcessBuilder("tshark", "-r", pcap.toString(), "-Y", "_ws.malformed || _ws.expert.severity >= error")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "tshark timed out");
        assertEquals(0, p.exitValue(), "tshark failed on " + pcap);
        assertEquals("", out.strip(), "tshark flagged packets in " + pcap);
        assertTrue(Files.size(pcap) > 10_000, "the capture holds the transfer");
    }

    /** netem needs the kernel's sch_netem; this machine's kernel may lack it (then nothing can shape the link). */
    private void netem() throws Exception {
        Process p = new ProcessBuilder("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", tap, "root", "netem",
                "loss", "2%", "delay", "5ms", "reorder", "10%").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        Assumptions.assumeFalse(out.contains("qdisc kind is unknown"),
                "this kernel has no sch_netem (tc: " + out.strip() + "): loss, delay and reordering cannot be made");
        assertEquals(0, p.exitValue(), out);
    }

    @Test
    void serveAnswersPingAndCurlDownloadsByteExactIncludingInParallel() throws Exception {
        Path www = Files.createDirectory(tmp.resolve("www"));
        randomFile(www.resolve("big"), 256L << 20, 1);
        int small = 100;
        for (int i = 0; i < small; i++) {
            randomFile(www.resolve("s" + i), 1000 + 137L * i, 100 + i);
        }
        CompletableFuture<RumpRun> server = rump("net", "serve", "--tap", tap, "--addr", OURS + "/24", "--http",
                www.toString(), "--port", "8080", "--requests", String.valueOf(small + 1));

        String ping = inNs("ping", "-c", "3", "-i", "0.2", "-W", "5", OURS);
        assertTrue(ping.contains("3 received"), ping);

        Path got = tmp.resolve("big.got");
        inNs("curl", "-sS", "--fail", "--retry", "20", "--retry-connrefused", "--retry-delay", "1", "--max-time", "240",
                "-o", got.toString(), "http://" + OURS + ":8080/big");
        assertArrayEquals(sha256(www.resolve("big")), sha256(got), "256 MiB through curl");

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
    }

    @Test
    void aCaptureOfServingIsCleanToTshark() throws Exception {
        Path www = Files.createDirectory(tmp.resolve("www"));
        randomFile(www.resolve("f"), 2L << 20, 4);
        Path pcap = tmp.resolve("serve.pcap");
        CompletableFuture<RumpRun> server = rump("net", "serve", "--tap", tap, "--addr", OURS + "/24", "--http",
                www.toString(), "--port", "8080", "--requests", "3", "--pcap", pcap.toString());
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
    }

    @Test
    void fetchDownloadsFromPythonsHttpServerByteExact() throws Exception {
        Path www = Files.createDirectory(tmp.resolve("www"));
        randomFile(www.resolve("f"), 32L << 20, 2);
        pythonHttpServer(www, tmp.resolve("http.log"));
        Path got = tmp.resolve("f.got");
        Path pcap = tmp.resolve("fetch.pcap");
        CompletableFuture<RumpRun> fetch = rump("net", "fetch", "--tap", tap, "--addr", OURS + "/24",
                "http://" + LINUX + ":8000/f", "-o", got.toString(), "--pcap", pcap.toString());
        RumpRun r = fetch.get(120, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.all());
        assertArrayEquals(sha256(www.resolve("f")), sha256(got));
        assertTrue(r.out().contains("sha256 " + HexFormat.of().formatHex(sha256(got))), r.out());
        cleanToTshark(pcap);
        assertTrue(maxFrameLength(pcap) > 1514, "Linux's TSO segments, taken whole (TUN_F_TSO4)");
    }

    /** The old path: a TAP opened without IFF_VNET_HDR, every frame within the MTU. */
    @Test
    void fetchWithoutOffloadsMovesOnlyMtuSizedFrames() throws Exception {
        Path www = Files.createDirectory(tmp.resolve("www"));
        randomFile(www.resolve("f"), 8L << 20, 3);
        pythonHttpServer(www, tmp.resolve("http.log"));
        Path got = tmp.resolve("f.got");
        Path pcap = tmp.resolve("fetch.pcap");
        CompletableFuture<RumpRun> fetch = rump("net", "fetch", "--no-offload", "--tap", tap, "--addr", OURS + "/24",
                "http://" + LINUX + ":8000/f", "-o", got.toString(), "--pcap", pcap.toString());
        RumpRun r = fetch.get(120, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.all());
        assertArrayEquals(sha256(www.resolve("f")), sha256(got));
        cleanToTshark(pcap);
        assertTrue(maxFrameLength(pcap) <= 1514, "no large segments without offloads");
    }

    /** The longest frame in a capture, by tshark. */
    private static int maxFrameLength(Path pcap) throws Exception {
        Process p = new ProcessBuilder("tshark", "-r", pcap.toString(), "-T", "fields", "-e", "frame.len")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "tshark timed out");
        return out.lines().filter(l -> !l.isBlank()).mapToInt(l -> Integer.parseInt(l.strip())).max().orElse(0);
    }

    @Test
    void bothDirectionsCompleteThroughNetemLossDelayAndReordering() throws Exception {
        Path www = Files.createDirectory(tmp.resolve("www"));
        randomFile(www.resolve("f"), 4L << 20, 3);
        // The server direction: our data out, Linux's ACKs back through netem.
        CompletableFuture<RumpRun> server = rump("net", "serve", "--tap", tap, "--addr", OURS + "/24", "--http",
                www.toString(), "--port", "8080", "--requests", "1");
        netem();
        Path got = tmp.resolve("served.got");
        inNs("curl", "-sS", "--fail", "--retry", "20", "--retry-connrefused", "--retry-delay", "1", "--max-time", "240",
                "-o", got.toString(), "http://" + OURS + ":8080/f");
        assertArrayEquals(sha256(www.resolve("f")), sha256(got));
        assertEquals(0, server.get(60, TimeUnit.SECONDS).code());
        tryRun("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", tap, "root");

        // The fetch direction: Linux's data through netem to us. A new TAP of the same name, so
        // netem goes on again once it is there.
        pythonHttpServer(www, tmp.resolve("http.log"));
        Path fetched = tmp.resolve("fetched.got");
        CompletableFuture<RumpRun> fetch = rump("net", "fetch", "--tap", tap, "--addr", OURS + "/24",
                "http://" + LINUX + ":8000/f", "-o", fetched.toString());
        netem();
        RumpRun r = fetch.get(240, TimeUnit.SECONDS);
        assertEquals(0, r.code(), r.all());
        assertArrayEquals(sha256(www.resolve("f")), sha256(fetched));
    }
}
