package io.jrump.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Jazzer's driver ({@code com.code_intelligence.jazzer.Jazzer}) in child JVMs, one per job, on a
 * {@link FuzzClassPath}: {@code java -cp JAZZER:CP com.code_intelligence.jazzer.Jazzer
 * --target_class=C --target_method=m [flags] [dirs or file]}, as .clusterfuzzlite/build.sh's
 * wrappers run it. Their output (stdout and stderr together) comes back line by line through
 * {@link #next}.
 */
final class JazzerProcess implements AutoCloseable {
    static final String MAIN_CLASS = "com.code_intelligence.jazzer.Jazzer";

    /** A line of job {@code job}'s output; {@code line == null} says the job ended with {@code exit}. */
    record Line(int job, String line, int exit) {
    }

    private final List<Process> processes = new ArrayList<>();
    private final BlockingQueue<Line> lines = new LinkedBlockingQueue<>();
    private int running;

    /** The command of one Jazzer run of {@code target} with {@code args} (Jazzer and libFuzzer flags, then files). */
    static List<String> command(FuzzClassPath cp, FuzzTargets.Target target, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-cp");
        cmd.add(cp.javaClassPath());
        cmd.add(MAIN_CLASS);
        cmd.add("--target_class=" + target.className());
        cmd.add("--target_method=" + target.method());
        cmd.addAll(args);
        return cmd;
    }

    /** Starts one job running {@code command} in {@code workDir} (where Jazzer's stray files go). */
    void start(List<String> command, Path workDir) throws FuzzSetupException {
        int job = processes.size();
        Process p;
        try {
            p = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new FuzzSetupException("cannot start " + command.get(0) + ": " + e.getMessage());
        }
        processes.add(p);
        running++;
        Thread reader = new Thread(() -> pump(job, p), "jazzer-job-" + job);
        reader.setDaemon(true);
        reader.start();
    }

    private void pump(int job, Process p) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String s = r.readLine(); s != null; s = r.readLine()) {
                lines.add(new Line(job, s, 0));
            }
        } catch (IOException e) {
            // the process went away (killed at the deadline): its exit status says the rest
        }
        int exit;
        try {
            exit = p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            exit = -1;
        }
        lines.add(new Line(job, null, exit));
    }

    /** The next line, waiting at most {@code millis}; null if none came. */
    Line next(long millis) throws InterruptedException {
        Line l = lines.poll(millis, TimeUnit.MILLISECONDS);
        if (l != null && l.line() == null) {
            running--;
        }
        return l;
    }

    /** Whether a job has not yet reported its end through {@link #next}. */
    boolean running() {
        return running > 0;
    }

    /** Ends every job and what it started (libFuzzer's minimizer runs Jazzer again in children). */
    void stop() {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
    }

    @Override
    public void close() {
        stop();
        for (Process p : processes) {
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
