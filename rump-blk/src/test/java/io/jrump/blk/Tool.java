package io.jrump.blk;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a real tool for an interop test. A missing tool fails the test (the test command installs
 * them; a skip would hide that it did not), and so does a tool that hangs.
 */
public final class Tool {
    /** What a tool printed and how it exited. */
    public record Result(int exit, String out) {
    }

    private Tool() {
    }

    public static Result run(String... command) {
        try {
            Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(String.join(" ", command) + " did not finish in 60 s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError(command[0] + " could not run (is it installed? ./run-tests installs it): " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** Runs a tool that must succeed and returns its output. */
    public static String ok(String... command) {
        Result r = run(command);
        if (r.exit() != 0) {
            fail(String.join(" ", command) + " exited " + r.exit() + ":\n" + r.out());
        }
        return r.out();
    }

    /** Runs a shell pipeline that must succeed; for fixtures made by feeding a tool a script. */
    public static String sh(String script) {
        return ok("sh", "-c", script);
    }
}
