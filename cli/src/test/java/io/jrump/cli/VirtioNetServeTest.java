package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.virtio.DpdkNetBackend;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rump net serve --nic vhost-user:SOCKET}: jrump's TCP/IP stack on jrump's virtio-net driver,
 * DPDK's testpmd as the vhost-user back-end, forwarding to a TAP in a namespace where ping, curl
 * and dumpcap are the Linux kernel's. Checksum offload and TSO are negotiated and used: jrump
 * sends large TCP segments ({@code GSO_TCPV4}) with partial checksums ({@code NEEDS_CSUM}), which
 * testpmd's TAP port cuts into frames of the MTU and completes in software, as the two captures
 * show.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root (a network namespace)")
class VirtioNetServeTest {
    private static final String OURS = "198.18.0.2";
    /** Fixed, because testpmd's csum engine writes it as the destination of what Linux sends. */
    private static final String OUR_MAC = "02:00:00:00:00:02";

    @TempDir
    Path tmp;



    /** Starts {@code rump net serve} over the back-end's port and waits until it answers a ping. */
    private static CompletableFuture<RumpRun> serve(DpdkNetBackend backend, Path www, int requests, String... extra)
            throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("net", "serve", "--nic", backend.deviceName(), "--mac", OUR_MAC,
                "--addr", OURS + "/24", "--http", www.toString(), "--port", "8080", "--requests", String.valueOf(requests)));
        args.addAll(List.of(extra));
        CompletableFuture<RumpRun> server = CompletableFuture.supplyAsync(() -> RumpRun.of(args.toArray(String[]::new)));
        for (int i = 0; i < 60 && !server.isDone(); i++) {
            Process p = new ProcessBuilder("ip", "netns", "exec", backend.namespace(), "ping", "-c", "1", "-W", "1", OURS)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (p.waitFor() == 0) {
                break;
            }
        }
        if (server.isDone()) {
            throw new AssertionError("rump net serve ended early: " + server.join().all());
        }
        return server;
    }

    /** tshark's complaints about {@code pcap}, with TCP and IPv4 checksums checked. */
    private static String tsharkComplaints(Path pcap, String filter) throws Exception {
        Process p = new ProcessBuilder("tshark", "-r", pcap.toString(), "--disable-protocol", "thrift",
                "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-Y", filter)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "tshark timed out");
        assertEquals(0, p.exitValue(), "tshark failed on " + pcap);
        return out.strip();
    }

    @Test
    void curlFetches256MibByteExactAndPingAnswers() throws Exception {
        Path www = Files.createDirectory(tmp.resolve("www"));
        TransferFiles.randomFile(www.resolve("big"), 256L << 20, 1);
        try (DpdkNetBackend backend = DpdkNetBackend.startWithOffloads(tmp.resolve("net.sock"), OUR_MAC)) {
            CompletableFuture<RumpRun> server = serve(backend, www, 1);
            String ping = backend.inNamespace("ping", "-c", "3", "-i", "0.2", "-W", "5", OURS);
            assertTrue(ping.contains("3 received"), ping);
            Path got = tmp.resolve("big.got");
            backend.inNamespace("curl", "-sS", "--fail", "--retry", "20", "--retry-connrefused", "--retry-delay", "1",
                    "--max-time", "240", "-o", got.toString(), "http://" + OURS + ":8080/big");
            assertArrayEquals(TransferFiles.sha256(www.resolve("big")), TransferFiles.sha256(got), "256 MiB through curl");
            RumpRun r = server.get(60, TimeUnit.SECONDS);
            assertEquals(0, r.code(), r.all());
            assertTrue(r.out().contains("vhost-user:"), r.out());
        }
    }

    @Test
    void checksumOffloadAndTsoAreUsedAndBothCapturesAreCleanToTshark() throws Exception {
        Path www = Files.createDirectory(tmp.resolve("www"));
        TransferFiles.randomFile(www.resolve("f"), 2L << 20, 4);
        Path ours = tmp.resolve("ours.pcap");
        Path linux = tmp.resolve("linux.pcapng");
        try (DpdkNetBackend backend = DpdkNetBackend.startWithOffloads(tmp.resolve("net.sock"), OUR_MAC)) {
            Path dumpcapLog = tmp.resolve("dumpcap.log");
            Process dumpcap = new ProcessBuilder("ip", "netns", "exec", backend.namespace(), "dumpcap", "-i", backend.tap(),
                    "-w", linux.toString()).redirectErrorStream(true).redirectOutput(dumpcapLog.toFile()).start();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (!Files.readString(dumpcapLog).contains("Capturing on")) {
                    assertTrue(dumpcap.isAlive() && System.nanoTime() < deadline, "dumpcap: " + Files.readString(dumpcapLog));
                    Thread.sleep(50);
                }
                CompletableFuture<RumpRun> server = serve(backend, www, 1, "--pcap", ours.toString());
                Path got = tmp.resolve("f.got");
                backend.inNamespace("curl", "-sS", "--fail", "--retry", "20", "--retry-connrefused", "--retry-delay", "1",
                        "--max-time", "60", "-o", got.toString(), "http://" + OURS + ":8080/f");
                assertArrayEquals(TransferFiles.sha256(www.resolve("f")), TransferFiles.sha256(got));
                assertEquals(0, server.get(60, TimeUnit.SECONDS).code());
            } finally {
                dumpcap.destroy();
                assertTrue(dumpcap.waitFor(30, TimeUnit.SECONDS), "dumpcap did not stop");
            }
        }
        // Ours, as the stack handed the frames over: data segments with only the pseudo-header sum,
        // most of them longer than the MTU (TSO).
        String partial = tsharkComplaints(ours, "tcp.srcport == 8080 && tcp.len > 0 && tcp.checksum.status == \"Bad\"");
        assertTrue(partial.lines().count() > 20, "jrump sent its data with partial checksums (NEEDS_CSUM):\n" + partial);
        long large = tsharkComplaints(ours, "tcp.srcport == 8080 && tcp.len > 1460").lines().count();
        assertTrue(large > 20, "jrump sent large segments (TSO): " + large);
        // Linux's: our large segments arrived cut by the back-end, none longer than the MTU.
        assertEquals("", tsharkComplaints(linux, "ip.src == " + OURS + " && frame.len > 1514"));
        long cut = tsharkComplaints(linux, "ip.src == " + OURS + " && tcp.len == " + DpdkNetBackend.TSO_SEGMENT).lines().count();
        assertTrue(cut > 1000, "the back-end cut our segments into " + DpdkNetBackend.TSO_SEGMENT + "-byte ones: " + cut);
        // Linux's, after the back-end completed ours: nothing malformed, and not one bad checksum or
        // error in what we sent (Linux's own frames, captured on their way out, are its business).
        assertEquals("", tsharkComplaints(linux, "_ws.malformed || ip.src == " + OURS + " && (_ws.expert.severity >= error"
                + " || tcp.checksum.status == \"Bad\" || ip.checksum.status == \"Bad\")"));
        assertTrue(Files.size(linux) > 2_000_000, "the capture holds the transfer");
    }
}
