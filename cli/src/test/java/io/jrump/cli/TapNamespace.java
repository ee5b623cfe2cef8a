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
 * the namespace and gives the Linux side {@link #LINUX}/24. Only 198.18.0.0/24 is used. Closing
 * stops what was started in it and deletes the namespace, with the device.
 */
final class TapNamespace implements AutoCloseable {
    static final String LINUX = "198.18.0.1";

    final String ns;
    final String tap;
    private final List<Process> processes = new ArrayList<>();

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

    static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
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

    @Override
    public void close() {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        tryRun("ip", "link", "del", tap); // if it never left the root namespace
        tryRun("ip", "netns", "del", ns);
    }
}
