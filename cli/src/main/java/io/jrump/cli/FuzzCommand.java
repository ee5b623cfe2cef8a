package io.jrump.cli;

import io.jrump.fuzz.kit.program.ProgramRunner;
import io.jrump.hypercall.ErrnoException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code rump fuzz}: Jazzer {@code @FuzzTest} harnesses run through Jazzer's own driver in a child
 * JVM (no fuzzing engine of its own): list them, fuzz one for a time with a live status line,
 * replay or minimize a finding, measure the coverage of a stored corpus. Exit status: 0 nothing
 * found (or done), 1 a finding (or the replayed input still fails), 2 a usage or set-up error.
 */
@Command(name = "fuzz", mixinStandardHelpOptions = true,
        description = {"Fuzz jrump's components (or your own harnesses) with Jazzer.",
            "Targets are Jazzer @FuzzTest methods, named Class#method. Without --classpath: the harnesses "
                    + "of the fuzz module of the jrump checkout around the current directory (build them "
                    + "with '" + FuzzClassPath.BUILD_COMMAND + "')."},
        subcommands = {FuzzCommand.ListTargets.class, FuzzCommand.Run.class, FuzzCommand.Replay.class,
            FuzzCommand.Minimize.class, FuzzCommand.Coverage.class})
final class FuzzCommand implements Runnable {
    /** What a file holding a jrump syscall program starts with (the fuzz kit's program format). */
    static final String PROGRAM_HEADER = "# jrump program";

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Where the harnesses and Jazzer come from: options of every subcommand. */
    static final class Setup {
        @Option(names = "--classpath", paramLabel = "CP",
                description = "Your harnesses' class path: their test classes and test class path (with jazzer-junit).")
        String classPath;

        @Option(names = "--project", paramLabel = "DIR",
                description = "The jrump checkout whose fuzz module to use (default: found upwards from the current directory).")
        Path project;

        @Option(names = "--jazzer", paramLabel = "JAR",
                description = "Jazzer's standalone jar (default: $" + FuzzClassPath.JAZZER_ENV + ", or jazzer-VERSION.jar on the class path).")
        Path jazzer;

        @Option(names = "--include", paramLabel = "GLOBS",
                description = "Classes Jazzer instruments, ':'-separated globs (default: io.jrump.** and the target's package).")
        String include;
    }

    /** A subcommand: resolves the set-up, runs, turns set-up errors into exit status 2. */
    abstract static class Sub implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Setup setup;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                return run(out, err);
            } catch (FuzzSetupException e) {
                err.println("rump fuzz " + spec.name() + ": " + e.getMessage());
                return 2;
            } finally {
                out.flush();
                err.flush();
            }
        }

        abstract int run(PrintWriter out, PrintWriter err) throws FuzzSetupException, InterruptedException;

        FuzzClassPath classPath() throws FuzzSetupException {
            return FuzzClassPath.resolve(setup.classPath, setup.project, setup.jazzer,
                    System.getenv(FuzzClassPath.JAZZER_ENV), Path.of(""));
        }

        FuzzTargets.Target target(FuzzClassPath cp, String name) throws FuzzSetupException {
            return FuzzTargets.resolve(name, FuzzTargets.discover(cp.entries()));
        }

        String includes(FuzzTargets.Target t) {
            if (setup.include != null) {
                return "--instrumentation_includes=" + setup.include;
            }
            String own = t.packageName().isEmpty() || t.packageName().startsWith("io.jrump.") ? "" : ":" + t.packageName() + ".**";
            return "--instrumentation_includes=io.jrump.**" + own;
        }

        /** Rump's inherited --verbose, given before or after the subcommand's name. */
        boolean verbose() {
            for (CommandLine c = spec.commandLine(); c != null; c = c.getParent()) {
                if (c.getParseResult() != null && c.getParseResult().hasMatchedOption("--verbose")) {
                    return true;
                }
            }
            return false;
        }

        /** The per-target directory under ./.rump-fuzz/ for what the user did not place (made when used). */
        static Path workDir(FuzzTargets.Target t) {
            return Path.of(".rump-fuzz", t.fileName()).toAbsolutePath();
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the fuzz targets (@FuzzTest methods) on the class path.")
    static final class ListTargets extends Sub {
        @Override
        int run(PrintWriter out, PrintWriter err) throws FuzzSetupException {
            List<FuzzTargets.Target> targets = FuzzTargets.discover(classPath().entries());
            if (targets.isEmpty()) {
                throw new FuzzSetupException("no @FuzzTest methods on the class path (is jazzer-junit on it?)");
            }
            int width = targets.stream().mapToInt(t -> t.name().length()).max().orElse(0);
            for (FuzzTargets.Target t : targets) {
                String seeds = t.seedDir() == null ? "no seed directory" : t.seeds() + (t.seeds() == 1 ? " seed" : " seeds");
                String duration = t.maxDuration().isEmpty() ? "" : ", maxDuration " + t.maxDuration();
                out.printf("%-" + width + "s  %s, %s%s%n", t.name(), t.parameters(), seeds, duration);
            }
            return 0;
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true, description = {"Fuzz one target for a time, with a live status line.",
        "Exit status 0: nothing found; 1: a finding (its file and the replay command are printed); 2: set-up error."})
    static final class Run extends Sub {
        @Parameters(index = "0", paramLabel = "TARGET", description = "Class#method (or Class if it has one harness).")
        String target;

        @Parameters(index = "1..*", paramLabel = "FLAG", description = "More Jazzer or libFuzzer flags, after --, e.g. -- -dict=wire.dict")
        List<String> extra = new ArrayList<>();

        @Option(names = "--time", paramLabel = "TIME", defaultValue = "10m",
                description = "How long to fuzz: 30s, 10m, 1h (default: ${DEFAULT-VALUE}).")
        String time;

        @Option(names = "--jobs", paramLabel = "N", defaultValue = "1",
                description = "Fuzzing JVMs sharing the corpus directory (default: ${DEFAULT-VALUE}).")
        int jobs;

        @Option(names = "--corpus", paramLabel = "DIR",
                description = "The working corpus, read and extended (default: ./.rump-fuzz/Class_method/corpus).")
        Path corpus;

        @Option(names = "--findings", paramLabel = "DIR",
                description = "Where findings are written (default: ./.rump-fuzz/Class_method/findings).")
        Path findings;

        @Override
        int run(PrintWriter out, PrintWriter err) throws FuzzSetupException, InterruptedException {
            Duration duration = parseTime(time, "--time");
            if (jobs < 1) {
                throw new FuzzSetupException("--jobs must be 1 or more, not " + jobs);
            }
            FuzzClassPath cp = classPath();
            FuzzTargets.Target t = target(cp, target);
            Path corpusDir = createDirectories(corpus != null ? corpus.toAbsolutePath() : workDir(t).resolve("corpus"));
            Path findingsDir = createDirectories(findings != null ? findings.toAbsolutePath() : workDir(t).resolve("findings"));
            Path scratch = scratchDir();

            List<String> args = new ArrayList<>();
            args.add(includes(t));
            args.add("-max_total_time=" + Math.max(1, duration.toSeconds()));
            args.add("-artifact_prefix=" + findingsDir + "/");
            args.add("--reproducer_path=" + findingsDir);
            args.addAll(extra);
            // libFuzzer adds new inputs to the first directory only; Jazzer adds the seed
            // directory (<Class>Inputs/<method> on the class path) after it by itself.
            args.add(corpusDir.toString());

            out.printf("fuzzing %s for %s with %d job%s%n", t.name(), time, jobs, jobs == 1 ? "" : "s");
            out.printf("  corpus   %s (%d files)%n", corpusDir, countFiles(corpusDir));
            out.printf("  seeds    %s%n", t.seedDir() == null ? "(none)" : t.seedDir() + " (" + t.seeds() + " files)");
            out.printf("  findings %s%n", findingsDir);
            out.flush();

            FuzzStatus status = new FuzzStatus();
            Deque<String> tail = new ArrayDeque<>();
            int worstExit = 0;
            boolean terminal = System.console() != null;
            long started = System.nanoTime();
            // libFuzzer stops itself at --time after its start; this is a safety net, generous with
            // the JVM's start-up (instrumenting takes long on a loaded machine).
            long deadline = started + STARTUP_ALLOWANCE.plus(duration).toNanos();
            boolean stopped = false;
            long lastPrinted = started;
            try (JazzerProcess jazzer = new JazzerProcess()) {
                List<String> command = JazzerProcess.command(cp, t, args);
                for (int i = 0; i < jobs; i++) {
                    jazzer.start(command, scratch);
                }
                boolean[] reporting = new boolean[jobs];
                while (jazzer.running()) {
                    JazzerProcess.Line l = jazzer.next(250);
                    long now = System.nanoTime();
                    if (now > deadline) {
                        err.println("rump fuzz run: " + (status.started() ? "Jazzer did not stop after " + time
                                : "Jazzer had not started fuzzing after " + STARTUP_ALLOWANCE.toMinutes() + " minutes") + "; stopping it");
                        jazzer.stop();
                        deadline = Long.MAX_VALUE;
                        stopped = true;
                    }
                    if (l != null && l.line() == null) {
                        worstExit = Math.max(worstExit, l.exit());
                        if (!status.artifacts().isEmpty()) {
                            jazzer.stop(); // one finding ends the run, as with one job
                        }
                    } else if (l != null) {
                        boolean wasStarted = status.started();
                        boolean isStatus = status.accept(l.job(), l.line());
                        if (!wasStarted && status.started() && !stopped) {
                            deadline = now + duration.plusSeconds(60).toNanos();
                        }
                        if (verbose()) {
                            printAbove(err, terminal, l.line());
                        } else if (reporting[l.job()] || FuzzStatus.isFindingStart(l.line())) {
                            reporting[l.job()] = true;
                            if (!isStatus && !noise(l.line())) {
                                printAbove(err, terminal, l.line());
                            }
                        } else if (!isStatus) {
                            remember(tail, l.line());
                        }
                    }
                    if (status.started() && now - lastPrinted >= (terminal ? 500_000_000L : 5_000_000_000L)) {
                        lastPrinted = now;
                        if (terminal) {
                            err.print("\r" + status.line(Duration.ofNanos(now - started)) + "   ");
                        } else {
                            err.println(status.line(Duration.ofNanos(now - started)));
                        }
                        err.flush();
                    }
                }
            } finally {
                deleteTree(scratch);
            }
            if (terminal) {
                err.print("\r");
            }
            err.println(status.line(Duration.ofNanos(System.nanoTime() - started)));
            if (!status.artifacts().isEmpty()) {
                for (String a : status.artifacts()) {
                    Path p = Path.of(a);
                    out.printf("finding: %s (%d bytes)%n", p, sizeOf(p));
                    out.printf("replay:  rump fuzz replay %s --target %s%s%n", p, t.name(), setupOptions());
                }
                return 1;
            }
            if (stopped && status.started()) {
                out.println("no findings");
                return 0;
            }
            if (worstExit != 0) {
                tail.forEach(err::println);
                err.println("rump fuzz run: Jazzer exited with status " + worstExit
                        + (status.started() ? "" : " before fuzzing (its last output is above)"));
                return status.started() ? 1 : 2;
            }
            out.println("no findings");
            return 0;
        }

        /** The options a replay needs to find the same class path and Jazzer. */
        private String setupOptions() {
            StringBuilder sb = new StringBuilder();
            if (setup.classPath != null) {
                sb.append(" --classpath '").append(setup.classPath).append('\'');
            }
            if (setup.project != null) {
                sb.append(" --project ").append(setup.project);
            }
            if (setup.jazzer != null) {
                sb.append(" --jazzer ").append(setup.jazzer);
            }
            return sb.toString();
        }
    }

    @Command(name = "replay", mixinStandardHelpOptions = true, description = {"Run a target once on a file (a finding, a seed) and show what happens.",
        "Exit status 0: it passes now; 1: it still fails; 2: set-up error."})
    static final class Replay extends Sub {
        @Parameters(index = "0", paramLabel = "FILE")
        Path file;

        @Option(names = "--target", paramLabel = "TARGET",
                description = "Class#method (default: from FILE's place, <Class>Inputs/<method>/ or .rump-fuzz/Class_method/).")
        String target;

        @Override
        int run(PrintWriter out, PrintWriter err) throws FuzzSetupException, InterruptedException {
            requireFile(file);
            if (isSyscallProgram(file)) {
                return replayProgram(out, err);
            }
            FuzzClassPath cp = classPath();
            List<FuzzTargets.Target> targets = FuzzTargets.discover(cp.entries());
            FuzzTargets.Target t = FuzzTargets.resolve(target != null ? target : targetFromPlace(file, targets), targets);
            List<String> args = List.of(includes(t), file.toAbsolutePath().toString());
            Outcome o = runOnce(cp, t, args, err, verbose(), line -> !noise(line));
            if (o.exit() == 0) {
                out.printf("%s passes %s%n", file, t.name());
                return 0;
            }
            if (o.status().findingReported()) {
                out.printf("%s still fails %s%n", file, t.name());
                return 1;
            }
            o.tail().forEach(err::println);
            throw new FuzzSetupException("Jazzer exited with status " + o.exit() + " without a finding (its output is above)");
        }

        /**
         * A syscall program (the fuzz kit's reproducer format) runs on the sim host in this JVM, no
         * Jazzer needed: every call is printed with its result, like strace, then the verdict.
         */
        private int replayProgram(PrintWriter out, PrintWriter err) throws FuzzSetupException {
            ByteArrayOutputStream traced = new ByteArrayOutputStream();
            ProgramRunner.Result r;
            try (PrintStream trace = new PrintStream(traced, true, StandardCharsets.UTF_8)) {
                r = ProgramRunner.replay(file, trace);
            } catch (ErrnoException e) {
                throw new FuzzSetupException(file + ": not a program this version runs: " + e.getMessage());
            } catch (IOException e) {
                throw new FuzzSetupException(file + ": " + e.getMessage());
            }
            out.print(traced.toString(StandardCharsets.UTF_8));
            if (r.ok()) {
                out.printf("%s passes%n", file);
                return 0;
            }
            out.printf("%s still fails: %s%n", file, r);
            return 1;
        }

        /** A file under <Class>Inputs/<method>/ or .rump-fuzz/Class_method/ names its target. */
        private static String targetFromPlace(Path file, List<FuzzTargets.Target> targets) throws FuzzSetupException {
            for (Path d = file.toAbsolutePath().getParent(); d != null && d.getParent() != null; d = d.getParent()) {
                String dir = d.getFileName().toString();
                String parent = d.getParent().getFileName() == null ? "" : d.getParent().getFileName().toString();
                for (FuzzTargets.Target t : targets) {
                    if (dir.equals(t.method()) && parent.equals(t.simpleClassName() + "Inputs")
                            || dir.equals(t.fileName()) && parent.equals(".rump-fuzz")) {
                        return t.name();
                    }
                }
            }
            if (targets.size() == 1) {
                return targets.get(0).name();
            }
            throw new FuzzSetupException("which target does " + file + " belong to? give --target Class#method");
        }
    }

    @Command(name = "minimize", mixinStandardHelpOptions = true, description = {"Shrink an input that fails a target to a smaller one that fails the same way (libFuzzer's -minimize_crash).",
        "Exit status 0: done (the smallest file's path is printed); 1: the input does not fail; 2: set-up error."})
    static final class Minimize extends Sub {
        @Parameters(index = "0", paramLabel = "FILE")
        Path file;

        @Option(names = "--target", paramLabel = "TARGET", required = true, description = "Class#method.")
        String target;

        @Option(names = "--time", paramLabel = "TIME", defaultValue = "1m",
                description = "Time for the whole minimization (default: ${DEFAULT-VALUE}).")
        String time;

        @Option(names = "--runs", paramLabel = "N",
                description = "Inputs each minimization step tries at most (libFuzzer's -runs; default: only the time bounds a step).")
        Long runs;

        @Option(names = {"-o", "--output"}, paramLabel = "OUT",
                description = "The minimized input (default: minimized-FILE beside FILE).")
        Path output;

        @Override
        int run(PrintWriter out, PrintWriter err) throws FuzzSetupException, InterruptedException {
            requireFile(file);
            Duration duration = parseTime(time, "--time");
            FuzzClassPath cp = classPath();
            FuzzTargets.Target t = target(cp, target);
            Path result = (output != null ? output : file.resolveSibling("minimized-" + file.getFileName())).toAbsolutePath();
            try {
                Files.deleteIfExists(result);
            } catch (IOException e) {
                throw new FuzzSetupException("cannot replace " + result + ": " + e.getMessage());
            }
            long before = sizeOf(file);
            // libFuzzer minimizes in steps, each a new Jazzer run of -max_total_time that writes a
            // smaller failing input to -exact_artifact_path; the whole is bounded by --time here.
            // A step that finds something smaller still runs to its end, so steps are kept short.
            long step = Math.max(2, duration.toSeconds() / 6);
            List<String> args = new ArrayList<>(List.of(includes(t), "-minimize_crash=1", "-max_total_time=" + step,
                    "-exact_artifact_path=" + result));
            if (runs != null) {
                if (runs < 1) {
                    throw new FuzzSetupException("--runs must be 1 or more, not " + runs);
                }
                args.add("-runs=" + runs);
            }
            args.add(file.toAbsolutePath().toString());
            Outcome o = runOnce(cp, t, args, err, verbose(), line -> line.startsWith("CRASH_MIN: minimizing"), duration);
            if (o.lines().stream().anyMatch(l -> l.contains("did not crash"))) {
                out.printf("%s does not fail %s: nothing to minimize%n", file, t.name());
                return 1;
            }
            if (!o.timedOut() && !o.status().findingReported() && !Files.isRegularFile(result)) {
                o.tail().forEach(err::println);
                throw new FuzzSetupException("Jazzer exited with status " + o.exit() + " before minimizing (its output is above)");
            }
            if (!Files.isRegularFile(result) || sizeOf(result) >= before) {
                out.printf("%s (%d bytes) could not be made smaller in %s%s%n", file, before, time,
                        o.timedOut() ? " (the time ran out; more --time gives libFuzzer more tries)" : "");
                return 0;
            }
            out.printf("minimized: %s (%d -> %d bytes)%n", result, before, sizeOf(result));
            return 0;
        }
    }

    @Command(name = "coverage", mixinStandardHelpOptions = true, description = {"The code coverage a target's stored inputs (seeds and corpus) reach, "
            + "measured by Jazzer's bundled JaCoCo.", "Exit status 0: measured; 1: an input fails the target; 2: set-up error."})
    static final class Coverage extends Sub {
        @Parameters(index = "0", paramLabel = "TARGET")
        String target;

        @Option(names = "--corpus", paramLabel = "DIR",
                description = "The corpus to run besides the seeds (default: ./.rump-fuzz/Class_method/corpus, if there).")
        Path corpus;

        @Option(names = "--report", paramLabel = "FILE",
                description = "Jazzer's per-file report (default: ./.rump-fuzz/Class_method/coverage.txt).")
        Path report;

        @Option(names = "--dump", paramLabel = "FILE",
                description = "JaCoCo's execution data, for jacococli (default: the report's name with .exec).")
        Path dump;

        @Override
        int run(PrintWriter out, PrintWriter err) throws FuzzSetupException, InterruptedException {
            FuzzClassPath cp = classPath();
            FuzzTargets.Target t = target(cp, target);
            Path work = workDir(t);
            Path corpusDir = corpus != null ? corpus.toAbsolutePath() : work.resolve("corpus");
            if (corpus != null && !Files.isDirectory(corpusDir)) {
                throw new FuzzSetupException("--corpus " + corpus + ": no such directory");
            }
            Path reportFile = (report != null ? report : work.resolve("coverage.txt")).toAbsolutePath();
            String reportName = reportFile.getFileName().toString();
            Path dumpFile = (dump != null ? dump.toAbsolutePath()
                    : reportFile.resolveSibling(reportName.replaceFirst("\\.txt$", "") + ".exec"));
            createDirectories(reportFile.getParent());
            createDirectories(dumpFile.getParent());
            List<String> args = new ArrayList<>(List.of(includes(t), "-runs=0",
                    "--coverage_report=" + reportFile, "--coverage_dump=" + dumpFile));
            int corpusFiles = 0;
            if (Files.isDirectory(corpusDir)) {
                corpusFiles = countFiles(corpusDir);
                args.add(corpusDir.toString());
            }
            Outcome o = runOnce(cp, t, args, err, verbose(), line -> false);
            if (o.status().findingReported()) {
                o.lines().stream().filter(l -> !noise(l)).forEach(err::println);
                out.printf("a stored input fails %s: fix it or replay it with 'rump fuzz replay'; no coverage measured%n", t.name());
                return 1;
            }
            if (o.exit() != 0 || !Files.isRegularFile(reportFile)) {
                o.tail().forEach(err::println);
                throw new FuzzSetupException("Jazzer exited with status " + o.exit() + " and wrote no report (its output is above)");
            }
            FuzzCoverageReport r;
            try {
                r = FuzzCoverageReport.parse(Files.readString(reportFile));
            } catch (IOException e) {
                throw new FuzzSetupException("cannot read " + reportFile + ": " + e.getMessage());
            }
            out.printf("coverage of %s: %d inputs run (%d seeds, %d corpus files)%n", t.name(), o.status().runs(),
                    t.seeds(), corpusFiles);
            out.printf("  instrumented %s%n", includes(t).substring("--instrumentation_includes=".length()));
            out.printf("  source files %d, %d reached%n", r.files(), r.filesReached());
            out.printf("  lines        %d/%d (%s)%n", r.lines(), r.linesTotal(), FuzzCoverageReport.percent(r.lines(), r.linesTotal()));
            out.printf("  branches     %d/%d (%s)%n", r.branches(), r.branchesTotal(),
                    FuzzCoverageReport.percent(r.branches(), r.branchesTotal()));
            out.printf("report: %s%n", reportFile);
            out.printf("JaCoCo data: %s%n", dumpFile);
            return 0;
        }
    }

    /** How a one-shot Jazzer run ended: its exit status, what it said, the last lines of it. */
    record Outcome(int exit, FuzzStatus status, List<String> lines, List<String> tail, boolean timedOut) {
    }

    private static Outcome runOnce(FuzzClassPath cp, FuzzTargets.Target t, List<String> args, PrintWriter err,
            boolean verbose, java.util.function.Predicate<String> show) throws FuzzSetupException, InterruptedException {
        return runOnce(cp, t, args, err, verbose, show, null);
    }

    /** Runs Jazzer once in a scratch directory, showing the lines {@code show} picks (all with --verbose). */
    private static Outcome runOnce(FuzzClassPath cp, FuzzTargets.Target t, List<String> args, PrintWriter err,
            boolean verbose, java.util.function.Predicate<String> show, Duration limit)
            throws FuzzSetupException, InterruptedException {
        Path scratch = scratchDir();
        FuzzStatus status = new FuzzStatus();
        List<String> lines = new ArrayList<>();
        Deque<String> tail = new ArrayDeque<>();
        int exit = 0;
        long deadline = limit == null ? Long.MAX_VALUE : System.nanoTime() + limit.toNanos();
        boolean timedOut = false;
        try (JazzerProcess jazzer = new JazzerProcess()) {
            jazzer.start(JazzerProcess.command(cp, t, args), scratch);
            while (jazzer.running()) {
                JazzerProcess.Line l = jazzer.next(250);
                if (System.nanoTime() > deadline) {
                    jazzer.stop(); // the time is up: what was written so far stands
                    deadline = Long.MAX_VALUE;
                    timedOut = true;
                }
                if (l == null) {
                    continue;
                }
                if (l.line() == null) {
                    exit = l.exit();
                    continue;
                }
                status.accept(l.job(), l.line());
                lines.add(l.line());
                remember(tail, l.line());
                if (verbose || show.test(l.line())) {
                    err.println(l.line());
                    err.flush();
                }
            }
        } finally {
            deleteTree(scratch);
        }
        return new Outcome(exit, status, lines, List.copyOf(tail), timedOut);
    }

    /** Jazzer's working directory: the files it leaves there (libFuzzer's -jobs logs, say) are not wanted. */
    private static Path scratchDir() throws FuzzSetupException {
        try {
            return Files.createTempDirectory("rump-fuzz-");
        } catch (IOException e) {
            throw new FuzzSetupException("cannot create a scratch directory: " + e.getMessage());
        }
    }

    /** How long a fuzzing JVM may take to start before {@code rump fuzz run} gives up on it. */
    private static final Duration STARTUP_ALLOWANCE = Duration.ofMinutes(5);

    /** Lines of Jazzer's that say nothing about the target: start-up chatter, libFuzzer's banners. */
    static boolean noise(String line) {
        return line.startsWith("INFO:") || line.startsWith("OpenJDK 64-Bit Server VM warning")
                || line.startsWith("If you want to keep them organized") || line.startsWith("***")
                || line.startsWith("\"") || line.startsWith("######") || line.startsWith("jazzer: Running")
                || line.startsWith("Executed ") || line.isBlank();
    }

    private static void printAbove(PrintWriter err, boolean terminal, String line) {
        if (terminal) {
            err.print("\r\033[K"); // clear the status line first
        }
        err.println(line);
        err.flush();
    }

    private static void remember(Deque<String> tail, String line) {
        if (!noise(line) || line.startsWith("INFO: ") && line.contains("rror")) {
            tail.addLast(line);
            if (tail.size() > 40) {
                tail.removeFirst();
            }
        }
    }

    private static final Pattern TIME = Pattern.compile("(\\d+)(s|m|h)?");

    /** {@code 30s}, {@code 10m}, {@code 1h}, or seconds. */
    static Duration parseTime(String text, String option) throws FuzzSetupException {
        Matcher m = TIME.matcher(text == null ? "" : text.trim());
        if (!m.matches() || Long.parseLong(m.group(1)) == 0) {
            throw new FuzzSetupException("bad " + option + " '" + text + "': give a positive number of seconds, "
                    + "minutes or hours, e.g. 30s, 10m, 1h");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit) {
            case "h" -> Duration.ofHours(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofSeconds(n);
        };
    }

    static boolean isSyscallProgram(Path file) throws FuzzSetupException {
        byte[] header = PROGRAM_HEADER.getBytes(StandardCharsets.US_ASCII);
        try (InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(header.length), header);
        } catch (IOException e) {
            throw new FuzzSetupException("cannot read " + file + ": " + e.getMessage());
        }
    }

    static void requireFile(Path file) throws FuzzSetupException {
        if (!Files.isRegularFile(file)) {
            throw new FuzzSetupException(file + ": no such file");
        }
    }

    static Path createDirectories(Path dir) throws FuzzSetupException {
        try {
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new FuzzSetupException("cannot create " + dir + ": " + e.getMessage());
        }
    }

    private static int countFiles(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return (int) files.filter(Files::isRegularFile).count();
        } catch (IOException e) {
            return 0;
        }
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a scratch directory left in the temporary directory is harmless
        }
    }
}
