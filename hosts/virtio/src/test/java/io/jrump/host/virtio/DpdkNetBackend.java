package io.jrump.host.virtio;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A vhost-user net back-end nobody here wrote: DPDK's {@code dpdk-testpmd}, without hugepages,
 * forwarding between a vhost-user port (the socket jrump connects to) and a TAP port inside a
 * network namespace this object creates, where the Linux side has {@link #LINUX}/24. So frames
 * jrump sends reach the namespace's kernel stack, and its answers come back. Closing stops
 * testpmd and deletes the namespace. Fails, never skips, without testpmd (it is in the CI package
 * list) or root.
 */
public final class DpdkNetBackend implements AutoCloseable {
    /** The Linux side's address in the namespace. */
    public static final String LINUX = "198.18.0.1";

    private final String ns;
    private final String tap;
    private final Path socket;
    private final Path log;
    private final Process testpmd;

    private DpdkNetBackend(String ns, String tap, Path socket, Path log, Process testpmd) {
        this.ns = ns;
        this.tap = tap;
        this.socket = socket;
        this.log = log;
        this.testpmd = testpmd;
    }

    /** Starts it without offloads: the vhost port offers checksums but not TSO. */
    public static DpdkNetBackend start(Path socket) throws IOException, InterruptedException {
        return start(socket, false, null);
    }

    /**
     * Starts it with the TAP port completing the TCP, UDP and IPv4 checksums that jrump leaves
     * partial ({@code NEEDS_CSUM}): testpmd's {@code tx_offload} settings for that port. Not TSO:
     * DPDK 22.11's TAP port drops the large segments the vhost port hands it with {@code tso=1}
     * (its TX-dropped counter counts them), so the vhost port does not offer it.
     */
    public static DpdkNetBackend startWithChecksumOffload(Path socket) throws IOException, InterruptedException {
        Path commands = Files.writeString(Path.of(socket + ".testpmd"), String.join("\n",
                "port stop 1",
                "port config 1 tx_offload ipv4_cksum on",
                "port config 1 tx_offload tcp_cksum on",
                "port config 1 tx_offload udp_cksum on",
                "port start 1", ""));
        return start(socket, false, commands);
    }

    /**
     * testpmd as a wire between two vhost-user ports (io forwarding, port 0 to port 1 and back), no
     * TAP and no namespace: two jrump kernels, one on each socket, talk through it.
     */
    public static DpdkNetBackend wire(Path a, Path b) throws IOException, InterruptedException {
        return wire(a, b, false);
    }

    /** As {@link #wire(Path, Path)}; with {@code tso} both ports offer TCP segmentation ({@code tso=1}). */
    public static DpdkNetBackend wire(Path a, Path b, boolean tso) throws IOException, InterruptedException {
        String id = Long.toHexString(ProcessHandle.current().pid() ^ System.nanoTime()).substring(0, 6);
        Path log = Path.of(a + ".log");
        Process p = new ProcessBuilder("dpdk-testpmd", "--no-huge", "-m", "256", "--no-pci", "--file-prefix", "jrump-" + id,
                "--log-level", "lib.eal:warning", "--vdev", "net_vhost0,iface=" + a + ",queues=1" + (tso ? ",tso=1" : ""),
                "--vdev", "net_vhost1,iface=" + b + ",queues=1" + (tso ? ",tso=1" : ""), "--", "--forward-mode=io", "--nb-cores=1",
                "--total-num-mbufs=16384").redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(a) || !Files.exists(b)) {
            if (!p.isAlive()) {
                throw new IOException("dpdk-testpmd exited with " + p.exitValue() + ": " + Files.readString(log));
            }
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IOException("dpdk-testpmd made no sockets in 30 s: " + Files.readString(log));
            }
            Thread.sleep(20);
        }
        return new DpdkNetBackend(null, null, a, log, p);
    }

    private static DpdkNetBackend start(Path socket, boolean tso, Path commands) throws IOException, InterruptedException {
        String id = Long.toHexString(ProcessHandle.current().pid() ^ System.nanoTime()).substring(0, 6);
        String ns = "jrvnet-" + id;
        String tap = "jrv" + id;
        run("ip", "netns", "add", ns);
        Path log = Path.of(socket + ".log");
        Process p;
        try {
            run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "dpdk-testpmd", "--no-huge", "-m", "256",
                    "--no-pci", "--file-prefix", "jrump-" + id, "--log-level", "lib.eal:warning",
                    "--vdev", "net_vhost0,iface=" + socket + ",queues=1" + (tso ? ",tso=1" : ""),
                    "--vdev", "net_tap0,iface=" + tap, "--",
                    "--forward-mode=io", "--nb-cores=1", "--total-num-mbufs=16384"));
            if (commands != null) {
                cmd.add("--cmdline-file=" + commands);
            }
            // testpmd stops when its standard input ends: the pipe stays open until close.
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(socket) || !linkExists(ns, tap)) {
                if (!p.isAlive()) {
                    throw new IOException("dpdk-testpmd exited with " + p.exitValue() + ": " + Files.readString(log));
                }
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IOException("dpdk-testpmd made no socket and TAP in 30 s: " + Files.readString(log));
                }
                Thread.sleep(20);
            }
            run("ip", "netns", "exec", ns, "ip", "addr", "add", LINUX + "/24", "dev", tap);
            run("ip", "netns", "exec", ns, "ip", "link", "set", tap, "up");
        } catch (IOException | InterruptedException | RuntimeException e) {
            run("ip", "netns", "delete", ns);
            throw e;
        }
        return new DpdkNetBackend(ns, tap, socket, log, p);
    }

    private static boolean linkExists(String ns, String tap) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ip", "netns", "exec", ns, "ip", "link", "show", tap)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor() == 0;
    }

    /** The {@code vhost-user:} device name of the back-end's port. */
    public String deviceName() {
        return VirtioHost.VHOST_USER_PREFIX + socket;
    }

    public String namespace() {
        return ns;
    }

    /** The TAP device inside the namespace. */
    public String tap() {
        return tap;
    }

    /** Runs {@code cmd} in the namespace; returns its output, failing on a non-zero exit. */
    public String inNamespace(String... cmd) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(List.of(cmd));
        return run(full.toArray(String[]::new));
    }

    /** What testpmd printed so far. */
    public String output() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", cmd));
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited with " + p.exitValue() + ":\n" + out);
        }
        return out;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        testpmd.getOutputStream().close(); // testpmd ends at the end of its input
        if (!testpmd.waitFor(10, TimeUnit.SECONDS)) {
            testpmd.destroy();
            if (!testpmd.waitFor(5, TimeUnit.SECONDS)) {
                testpmd.destroyForcibly();
                testpmd.waitFor(5, TimeUnit.SECONDS);
            }
        }
        if (ns != null) {
            run("ip", "netns", "delete", ns);
        }
        Files.deleteIfExists(socket);
        Files.deleteIfExists(log);
    }
}
