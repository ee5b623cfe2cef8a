package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A network namespace a root test creates for one TAP device, and what runs in it: the test's
 * kernel (or rump command) creates the TAP in the root namespace; {@link #adopt} moves it into
 * the namespace and gives the Linux side {@link #LINUX}/24; or {@link #tapInside} makes the TAP in the
 * namespace and {@link #rumpProcess} runs a command there. Only 198.18.0.0/24 and
 * 2001:db8::/32 are used. Closing
 * stops what was started in it and deletes the namespace, with the device.
 */
final class TapNamespace implements AutoCloseable {
    static final String LINUX = "198.18.0.1";

    final String ns;
    final String tap;
    private final List<Process> processes = new ArrayList<>();
    private Path resolvConfDir;

    TapNamespace() throws IOException, InterruptedException {
        String id = Long.toHexString(ProcessHandle.current().pid() ^ System.nanoTime()).substring(0, 6);
        ns = "jrdhcp-" + id;
        tap = "jrd" + id;
        run("ip", "netns", "add", ns);
        run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
    }

    /**
     * Runs {@code work} (which creates the TAP) in the background; once the TAP exists, moves it
     * into the namespace and brings the Linux side up. Returns the work's future.
     */
    <T> CompletableFuture<T> adopt(Supplier<T> work) throws Exception {
        CompletableFuture<T> run = CompletableFuture.supplyAsync(work);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(Path.of("/sys/class/net", tap))) {
            if (run.isDone()) {
                throw new AssertionError("ended before its TAP appeared: " + run.get());
            }
            assertTrue(System.nanoTime() < deadline, "no TAP device " + tap + " after 20 s");
            Thread.sleep(10);
        }
        run("ip", "link", "set", tap, "netns", ns);
        inNs("ip", "addr", "add", LINUX + "/24", "dev", tap);
        inNs("ip", "link", "set", tap, "up");
        return run;
    }

    /** A rump command in-process, adopted. */
    CompletableFuture<RumpRun> rump(String... args) throws Exception {
        return adopt(() -> RumpRun.of(args));
    }

    /**
     * dnsmasq in the namespace, DHCP on the TAP (its DNS on {@link #LINUX} too), with its own
     * {@code extra} options, logging to {@code log}; returns once it logs that DHCP is set up. Fails
     * if dnsmasq is missing.
     */
    Process dnsmasq(Path log, String... extra) throws Exception {
        Path dnsmasq = Path.of("/usr/sbin/dnsmasq");
        assertTrue(Files.isExecutable(dnsmasq), "dnsmasq is not installed (package dnsmasq-base)");
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, dnsmasq.toString(), "--keep-in-foreground",
                "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--user=root", "--pid-file=", "--bind-interfaces",
                "--interface=" + tap, "--no-ping", "--log-dhcp", "--log-queries", "--log-facility=-"));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.add(p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.readString(log).contains("DHCP, IP range")) {
            assertTrue(p.isAlive() && System.nanoTime() < deadline, "dnsmasq did not start: " + Files.readString(log));
            Thread.sleep(20);
        }
        return p;
    }

    /**
     * Creates the TAP inside the namespace (persistent, so a rump command run in the namespace
     * attaches to it: {@link #rumpProcess}) with {@link #LINUX}/24 and {@code ipv6} (ADDR/P each,
     * {@code nodad}: usable at once, so Linux holds them before our stack looks), Linux's own
     * router advertisement processing off (dnsmasq's RAs are for our stack), and brings it up. The
     * device is configured before any of our frames can arrive: no race with our first
     * solicitations, as there is when a command creates the TAP and {@link #adopt} moves it.
     */
    void tapInside(String... ipv6) throws Exception {
        inNs("ip", "tuntap", "add", "dev", tap, "mode", "tap");
        inNs("ip", "addr", "add", LINUX + "/24", "dev", tap);
        inNs("sysctl", "-q", "-w", "net.ipv6.conf." + tap + ".accept_ra=0");
        for (String a : ipv6) {
            inNs("ip", "-6", "addr", "add", a, "dev", tap, "nodad");
        }
        inNs("ip", "link", "set", tap, "up");
    }

    /**
     * A rump command in its own JVM inside the namespace (on the TAP {@link #tapInside} made),
     * standard output to {@code name}.out and standard error to {@code name}.err: both readable
     * while it runs. Stopped on close if still running.
     */
    Process rumpProcess(Path dir, String name, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, java, "-cp",
                System.getProperty("java.class.path"), Rump.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectOutput(dir.resolve(name + ".out").toFile())
                .redirectError(dir.resolve(name + ".err").toFile()).start();
        processes.add(p);
        return p;
    }

    /** Waits for a process of {@link #rumpProcess} to end and returns its exit code and output. */
    static RumpRun finish(Process p, Path dir, String name, int seconds) throws Exception {
        assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), name + " did not end in " + seconds + " s:\n"
                + Files.readString(dir.resolve(name + ".out")) + Files.readString(dir.resolve(name + ".err")));
        return new RumpRun(p.exitValue(), Files.readString(dir.resolve(name + ".out")),
                Files.readString(dir.resolve(name + ".err")));
    }

    /** Waits until {@code file} contains {@code text} (written by a process still running); returns the file's text. */
    static String awaitText(Path file, String text, int seconds, Process writer) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            String now = Files.exists(file) ? Files.readString(file) : "";
            if (now.contains(text)) {
                return now;
            }
            assertTrue(writer.isAlive() || Files.readString(file).contains(text), "'" + text + "' not in " + file
                    + "; the process ended:\n" + now);
            assertTrue(System.nanoTime() < deadline, "'" + text + "' not in " + file + " after " + seconds + " s:\n" + now);
            Thread.sleep(20);
        }
    }

    /**
     * {@code /etc/netns/NS/resolv.conf} naming {@code server}: what {@code ip netns exec} mounts
     * over /etc/resolv.conf, so curl in the namespace resolves through dnsmasq. Removed on close.
     */
    void resolvConf(String server) throws IOException {
        Path dir = Files.createDirectories(Path.of("/etc/netns", ns));
        Files.writeString(dir.resolve("resolv.conf"), "nameserver " + server + "\n");
        resolvConfDir = dir;
    }

    /** dumpcap on the TAP in the namespace, writing {@code pcap}; returns once it captures. Stop it with {@link #stop}. */
    Process dumpcap(Path pcap, Path log) throws Exception {
        Process p = new ProcessBuilder("ip", "netns", "exec", ns, "dumpcap", "-i", tap, "-w", pcap.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        processes.add(p);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.readString(log).contains("Capturing on")) {
            assertTrue(p.isAlive() && System.nanoTime() < deadline, "dumpcap did not start: " + Files.readString(log));
            Thread.sleep(50);
        }
        return p;
    }

    /** A process the test started in the namespace, stopped on close. */
    void track(Process p) {
        processes.add(p);
    }

    /** Stops a process started here (SIGTERM) and waits for it. */
    static void stop(Process p) throws InterruptedException {
        p.destroy();
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "did not stop");
    }

    String inNs(String... command) throws Exception {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(List.of(command));
        return run(all.toArray(String[]::new));
    }

    /** Runs {@code command} to its end (at most 300 s) and returns its output; fails the test unless it exits 0. */
    static String run(String... command) throws IOException, InterruptedException {
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

    /** Runs {@code command}, whatever comes of it (clean-up). */
    static void tryRun(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            p.waitFor(30, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            // best effort
        }
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        tryRun("ip", "link", "del", tap); // if it never left the root namespace
        tryRun("ip", "netns", "exec", ns, "ip", "link", "del", tap); // a persistent one made inside
        tryRun("ip", "netns", "del", ns);
        if (resolvConfDir != null) {
            tryRun("rm", "-r", resolvConfDir.toString());
        }
    }
}
