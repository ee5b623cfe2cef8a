package io.jrump.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * tshark, the outside oracle the capture tests ask (package {@code tshark}, in
 * {@code .ci/apt-packages}): a test that needs it fails, not skips, where it is missing.
 */
public final class Tshark {
    private Tshark() {
    }

    /** Runs {@code tshark -n -r FILE ARGS...} and returns its standard output; fails the test unless it exits 0. */
    public static String run(Path file, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("tshark", "-n", "-r", file.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "tshark did not finish in 120 s");
        assertEquals(0, p.exitValue(), out);
        return out;
    }
}
