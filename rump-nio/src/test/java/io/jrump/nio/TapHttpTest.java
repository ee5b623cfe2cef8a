package io.jrump.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Whole-JVM mode between JVMs, over TAP devices: each child JVM runs with
 * {@code -Djava.nio.channels.spi.SelectorProvider=io.jrump.nio.RumpSelectorProvider -Djrump.nio.tap=NAME
 * -Djrump.nio.addr=198.18.0.x/24}, so its whole NIO is a jrump stack on its own TAP device. The test makes a
 * network namespace with a bridge {@code br0} (198.18.0.1/24), moves each TAP into it and onto the bridge:
 * the JDK's {@code HttpServer} in one JVM (198.18.0.2) serves 64 MiB, which curl in the namespace and the
 * JDK's {@code HttpClient} in a second JVM (198.18.0.3) fetch; SHA-256s must match. Only addresses inside
 * the namespace are used, and the namespace, with the devices, is deleted afterwards. Needs root, ip, curl.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (TAP devices and network namespaces); ./run-tests, as root, runs it")
class TapHttpTest {
    private static final long BYTES = 64L << 20;
    private String ns;
    private String id;
    private final List<Process> children = new ArrayList<>();
    private final List<String> taps = new ArrayList<>();

    @BeforeEach
    void namespace() throws Exception {
        id = Long.toHexString(ProcessHandle.current().pid() ^ System.nanoTime()).substring(0, 5);
        ns = "jrnio-" + id;
        run("ip", "netns", "add", ns);
        inNs("ip", "link", "set", "lo", "up");
        inNs("ip", "link", "add", "br0", "type", "bridge");
        inNs("ip", "addr", "add", "198.18.0.1/24", "dev", "br0");
        inNs("ip", "link", "set", "br0", "up");
    }

    @AfterEach
    void cleanUp() {
        for (Process p : children) {
            p.destroyForcibly();
        }
        for (String t : taps) {
            tryRun("ip", "link", "del", t); // if it never left the root namespace
        }
        tryRun("ip", "netns", "del", ns);
    }

    /** A child JVM whose NIO is a jrump stack on TAP {@code tap} with address {@code addr}; its output lines go to the queue. */
    private Process child(String tap, String addr, BlockingQueue<String> lines, String... args) throws Exception {
        List<String> cmd = WholeJvmTest.javaCommand("-Djrump.nio.tap=" + tap, "-Djrump.nio.addr=" + addr,
                NioHttpMain.class.getName());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        children.add(p);
        taps.add(tap);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add("read failed: " + e);
            }
            lines.add("<exit>");
        });
        reader.setDaemon(true);
        reader.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(Path.of("/sys/class/net", tap))) {
            assertTrue(p.isAlive(), "the child ended before its TAP appeared: " + lines);
            assertTrue(System.nanoTime() < deadline, "no TAP " + tap + " after 20 s: " + lines);
            Thread.sleep(10);
        }
        run("ip", "link", "set", tap, "netns", ns);
        inNs("ip", "link", "set", tap, "master", "br0");
        inNs("ip", "link", "set", tap, "up");
        return p;
    }

    private static String await(BlockingQueue<String> lines, String prefix, List<String> seen) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            String line = lines.poll(100, TimeUnit.MILLISECONDS);
            if (line != null) {
                seen.add(line);
                if (line.startsWith(prefix)) {
                    return line;
                }
                if (line.equals("<exit>")) {
                    break;
                }
            }
        }
        throw new AssertionError("no line '" + prefix + "…' from the child; it said: " + String.join("\n", seen));
    }

    @Test
    void curlAndTheJdkHttpClientFetch64MiBFromTheJdkHttpServerEachOnJrumpOverTap() throws Exception {
        String expected = NioHttpMain.expectedSha256(BYTES);
        BlockingQueue<String> serverOut = new LinkedBlockingQueue<>();
        List<String> serverSeen = new ArrayList<>();
        child("jrs" + id, "198.18.0.2/24", serverOut, "serve", "8080", Long.toString(BYTES));
        assertEquals("provider " + RumpSelectorProvider.class.getName(), await(serverOut, "provider", serverSeen));
        await(serverOut, "listening", serverSeen);

        // (a) curl, Linux's own stack, inside the namespace.
        String curl = inNs("sh", "-c", "curl -sSf --max-time 60 http://198.18.0.2:8080/data | sha256sum");
        assertEquals(expected, curl.strip().split("\\s+")[0], "curl's SHA-256");

        // (b) the JDK's HttpClient in a second JVM on its own jrump stack and TAP.
        BlockingQueue<String> clientOut = new LinkedBlockingQueue<>();
        List<String> clientSeen = new ArrayList<>();
        Process client = child("jrc" + id, "198.18.0.3/24", clientOut, "fetch", "http://198.18.0.2:8080/data",
                Long.toString(BYTES));
        try (OutputStream go = client.getOutputStream()) {
            go.write("go\n".getBytes(StandardCharsets.UTF_8));
        }
        String sha = await(clientOut, "sha256", clientSeen);
        assertEquals("sha256 " + expected + " bytes " + BYTES, sha, String.join("\n", clientSeen));
        assertTrue(client.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, client.exitValue());
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
}
