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

    /** Starts it without offloads: io forwarding, the vhost port offers checksums but not TSO. */
    public static DpdkNetBackend start(Path socket) throws IOException, InterruptedException {
        return start(socket, null);
    }

    /**
     * Starts it with checksum offload and TSO carried to Linux: the vhost port offers TSO
     * ({@code tso=1}) and testpmd runs its csum engine, which marks TCP segments longer than
     * {@link #TSO_SEGMENT} bytes of payload for segmentation and the rest for checksum completion on
     * the TAP port, where DPDK's TAP driver does both in software. So Linux receives our large
     * segments cut into frames of at most the MTU, each with every checksum complete.
     *
     * <p>The csum engine rewrites every frame's Ethernet addresses, as testpmd's forwarding engines
     * other than io do: to {@code ourMac} (the jrump side's address, which must be fixed, as with
     * {@code --mac}) from the TAP port, and to {@link #LINUX_MAC} (the namespace's TAP) from the
     * vhost port. ARP and NDP still work: both learn from the payload, not the Ethernet source.
     *
     * <p>Why not io forwarding: the vhost port hands over a received large segment marked as a
     * received LRO packet, not as one to segment, so io forwarding passes it on unsegmented and the
     * TAP driver drops it as longer than the MTU.
     */
    public static DpdkNetBackend startWithOffloads(Path socket, String ourMac) throws IOException, InterruptedException {
        Path commands = Files.writeString(Path.of(socket + ".testpmd"), String.join("\n",
                "port stop 1",
                "csum set ip hw 1",
                "csum set tcp hw 1",
                "csum set udp hw 1",
                "tso set " + TSO_SEGMENT + " 1",
                "port start 1", ""));
        return start(socket, new Offloads(commands, ourMac));
    }

    /**
     * The payload per segment the TAP port cuts large segments into. Not 1448 (a 1500-byte MTU
     * less IPv4 and TCP with timestamps): DPDK 22.11's TAP driver refuses (drops) a segmentation
     * whose segment, headers included, is longer than the MTU less the Ethernet header.
     */
    public static final int TSO_SEGMENT = 1400;

    /** The MAC of the namespace's TAP when offloads are on (the csum engine writes it as destination). */
    public static final String LINUX_MAC = "02:00:00:00:00:01";

    private record Offloads(Path commands, String ourMac) {}

    /**
     * testpmd as a wire between two vhost-user ports (io forwarding, port 0 to port 1 and back), no
     * TAP and no namespace: two jrump kernels, one on each socket, talk through it. Checksum offload
     * only: io forwarding cannot carry a large segment from one vhost port to another (see
     * {@link #startWithOffloads}).
     */
    public static DpdkNetBackend wire(Path a, Path b) throws IOException, InterruptedException {
        String id = Long.toHexString(ProcessHandle.current().pid() ^ System.nanoTime()).substring(0, 6);
        Path log = Path.of(a + ".log");
        Process p = new ProcessBuilder("dpdk-testpmd", "--no-huge", "-m", "256", "--no-pci", "--file-prefix", "jrump-" + id,
                "--log-level", "lib.eal:warning", "--vdev", "net_vhost0,iface=" + a + ",queues=1",
                "--vdev", "net_vhost1,iface=" + b + ",queues=1", "--", "--forward-mode=io", "--nb-cores=1",
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

    private static DpdkNetBackend start(Path socket, Offloads offloads) throws IOException, InterruptedException {
        String id = Long.toHexString(ProcessHandle.current().pid() ^ System.nanoTime()).substring(0, 6);
        String ns = "jrvnet-" + id;
        String tap = "jrv" + id;
        run("ip", "netns", "add", ns);
        Path log = Path.of(socket + ".log");
        Process p;
        try {
            run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, "stdbuf", "-oL", "dpdk-testpmd",
                    "--no-huge", "-m", "256", "--no-pci", "--file-prefix", "jrump-" + id, "--log-level", "lib.eal:warning",
                    "--vdev", "net_vhost0,iface=" + socket + ",queues=1" + (offloads != null ? ",tso=1" : ""),
                    "--vdev", "net_tap0,iface=" + tap, "--", "--nb-cores=1", "--total-num-mbufs=16384"));
            if (offloads != null) {
                // Without the link check, which would wait for the vhost port's front-end.
                cmd.addAll(List.of("--forward-mode=csum", "--disable-link-check", "--eth-peer=0," + offloads.ourMac(),
                        "--eth-peer=1," + LINUX_MAC, "--cmdline-file=" + offloads.commands()));
            } else {
                cmd.add("--forward-mode=io");
            }
            // testpmd stops when its standard input ends: the pipe stays open until close. Its output
            // is line-buffered (stdbuf) so that the log shows at once how far it got.
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            // With commands, not before testpmd has run them: a port it restarts must not be in use yet.
            while (!Files.exists(socket) || !linkExists(ns, tap)
                    || offloads != null && !Files.readString(log).contains("Read CLI commands from")) {
                if (!p.isAlive()) {
                    throw new IOException("dpdk-testpmd exited with " + p.exitValue() + ": " + Files.readString(log));
                }
                if (System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IOException("dpdk-testpmd made no socket and TAP in 30 s: " + Files.readString(log));
                }
                Thread.sleep(20);
            }
            if (offloads != null) {
                run("ip", "netns", "exec", ns, "ip", "link", "set", tap, "address", LINUX_MAC);
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
