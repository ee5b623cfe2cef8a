package io.jrump.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Whole-JVM mode without privileges: a child JVM started with
 * {@code -Djava.nio.channels.spi.SelectorProvider=io.jrump.nio.RumpSelectorProvider} (JVM host, loopback
 * only) runs the JDK's {@code com.sun.net.httpserver.HttpServer} and fetches 8 MiB from it with
 * {@code java.net.http.HttpClient}, both over the jrump stack's 127.0.0.1; the body's SHA-256 must match.
 */
class WholeJvmTest {
    static final String PROVIDER = "-Djava.nio.channels.spi.SelectorProvider=" + RumpSelectorProvider.class.getName();

    static List<String> javaCommand(String... propsThenArgs) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(PROVIDER);
        cmd.addAll(List.of(propsThenArgs));
        return cmd;
    }

    @Test
    void theJdksHttpServerAndHttpClientRunOverTheJrumpLoopback() throws Exception {
        long n = 8 << 20;
        List<String> cmd = javaCommand(NioHttpMain.class.getName(), "both", Long.toString(n));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), text);
        assertTrue(text.contains("provider " + RumpSelectorProvider.class.getName()), text);
        assertTrue(text.contains("status 200"), text);
        assertTrue(text.contains("sha256 " + NioHttpMain.expectedSha256(n) + " bytes " + n), text);
    }
}
