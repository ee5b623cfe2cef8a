package io.jrump.host.linux;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs Linux tools for tests; a missing tool or a failed command fails the test. */
final class Commands {
    private Commands() {
    }

    /** Runs the command and returns its standard output; throws if it exits non-zero. */
    static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + String.join(" ", command));
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new AssertionError("exit " + p.exitValue() + ": " + String.join(" ", command) + "\n" + text);
        }
        return text;
    }

    /** Runs the command, ignoring its exit status: for clean-up. */
    static void tryRun(String... command) {
        try {
            run(command);
        } catch (IOException | InterruptedException | AssertionError e) {
            // clean-up is best effort; the test's own failure, if any, is the one to report
        }
    }
}
