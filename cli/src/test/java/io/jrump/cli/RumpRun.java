package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** One run of the rump command in-process, for tests: exit code and what it printed. */
record RumpRun(int code, String out, String err) {

    static RumpRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Rump.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new RumpRun(code, out.toString(), err.toString());
    }

    /** Runs and requires the exit code, showing the output if it differs. */
    static RumpRun expect(int exit, String... args) {
        RumpRun r = of(args);
        assertEquals(exit, r.code(), String.join(" ", args) + "\n" + r.out() + r.err());
        return r;
    }

    /**
     * Starts {@code rump mount IMAGE MNT --foreground EXTRA...} on a daemon thread and returns once
     * the kernel shows the mount, failing the test if the command ends first or 30 s pass. The
     * future completes when the command does (after an unmount).
     */
    static CompletableFuture<RumpRun> mountInForeground(String image, Path mnt, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("mount", image, mnt.toString(), "--foreground"));
        args.addAll(Arrays.asList(extra));
        CompletableFuture<RumpRun> run = CompletableFuture.supplyAsync(() -> of(args.toArray(String[]::new)), r -> {
            Thread t = new Thread(r, "rump-mount " + mnt.getFileName());
            t.setDaemon(true);
            t.start();
        });
        Path abs = mnt.toAbsolutePath().normalize();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!MountCommand.isMounted(abs)) {
            if (run.isDone()) {
                fail("rump mount ended before mounting: " + run.get().all());
            }
            if (System.nanoTime() > deadline) {
                fail("no mount on " + abs + " after 30 s");
            }
            Thread.sleep(20);
        }
        return run;
    }

    /** Standard output and error together. */
    String all() {
        return out + err;
    }
}
