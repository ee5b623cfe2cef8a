package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rump fuzz} on this module's own test harnesses ({@code fuzztargets.PlantedBugFuzzTarget}:
 * one with a planted bug, one that never fails), run through the real Jazzer 0.30 jar on this
 * module's test class path: list, a run that finds the bug, a clean run with its status line,
 * replay, coverage, and the set-up errors ({@link FuzzMinimizeTest}: minimize). Each Jazzer JVM
 * takes about 10 s to start on two cores, which is most of the time this class takes.
 */
class FuzzCommandTest {
    private static final String CP = System.getProperty("java.class.path");
    private static final String BUGGY = "io.jrump.cli.fuzztargets.PlantedBugFuzzTarget#failsOnBug";
    private static final String CLEAN = "io.jrump.cli.fuzztargets.PlantedBugFuzzTarget#neverFails";

    @TempDir
    Path tmp;

    @Test
    void listNamesBothHarnessesWithTheirSeeds() {
        RumpRun r = RumpRun.expect(0, "fuzz", "list", "--classpath", CP);
        assertTrue(r.out().contains(BUGGY), r.all());
        assertTrue(r.out().contains(CLEAN), r.all());
        String buggyLine = r.out().lines().filter(l -> l.startsWith(BUGGY)).findFirst().orElseThrow();
        assertTrue(buggyLine.contains("byte[], 1 seed"), buggyLine);
        String cleanLine = r.out().lines().filter(l -> l.startsWith(CLEAN)).findFirst().orElseThrow();
        assertTrue(cleanLine.contains("no seed directory"), cleanLine);
    }

    @Test
    void runFindsThePlantedBugAndTheFindingReplays() throws IOException {
        Path corpus = tmp.resolve("corpus");
        Path findings = tmp.resolve("findings");
        RumpRun run = RumpRun.expect(1, "fuzz", "run", "PlantedBugFuzzTarget#failsOnBug", "--time", "60s",
                "--classpath", CP, "--corpus", corpus.toString(), "--findings", findings.toString());
        assertTrue(run.err().contains("planted bug: input starts with BUG"), run.all());
        Matcher m = Pattern.compile("finding: (\\S+) \\((\\d+) bytes\\)").matcher(run.out());
        assertTrue(m.find(), run.all());
        Path finding = Path.of(m.group(1));
        assertEquals(findings, finding.getParent());
        assertTrue(Files.readString(finding, StandardCharsets.ISO_8859_1).startsWith("BUG"), finding.toString());
        assertTrue(run.out().contains("replay:  rump fuzz replay " + finding + " --target " + BUGGY), run.out());
        assertTrue(run.err().contains("findings 1"), run.err());
        assertTrue(!run.err().contains("INFO: Seed: "), "without --verbose Jazzer's start-up lines are not shown\n" + run.err());

        // The finding's place (--findings) is no target's, so --target names it.
        RumpRun fails = RumpRun.expect(1, "fuzz", "replay", finding.toString(), "--target", BUGGY, "--classpath", CP);
        assertTrue(fails.out().contains("still fails"), fails.all());
        assertTrue(fails.err().contains("IllegalStateException: planted bug"), fails.all());

        Path harmless = Files.writeString(tmp.resolve("harmless"), "BUT NOT A BUG");
        RumpRun passes = RumpRun.expect(0, "fuzz", "replay", harmless.toString(), "--target", BUGGY, "--classpath", CP,
                "--verbose");
        assertTrue(passes.out().contains("passes " + BUGGY), passes.all());
        assertTrue(passes.err().contains("INFO: Seed: "), "--verbose passes Jazzer's start-up lines too\n" + passes.all());
        System.clearProperty("org.slf4j.simpleLogger.log.io.jrump.console"); // what rump's --verbose set

    }

    @Test
    void twoJobsFuzzOneCorpusAndTheFirstFindingEndsTheRun() throws IOException {
        Path corpus = tmp.resolve("corpus");
        Path findings = tmp.resolve("findings");
        RumpRun run = RumpRun.expect(1, "fuzz", "run", BUGGY, "--jobs", "2", "--time", "120s", "--classpath", CP,
                "--corpus", corpus.toString(), "--findings", findings.toString());
        assertTrue(run.out().startsWith("fuzzing " + BUGGY + " for 120s with 2 jobs"), run.all());
        Matcher m = Pattern.compile("finding: (\\S+) \\((\\d+) bytes\\)").matcher(run.out());
        int found = 0;
        while (m.find()) {
            found++;
            Path finding = Path.of(m.group(1));
            assertEquals(findings, finding.getParent());
            assertTrue(Files.readString(finding, StandardCharsets.ISO_8859_1).startsWith("BUG"), finding.toString());
        }
        // Each job may report the planted bug before the other is stopped; the run ends at the first.
        assertTrue(found >= 1 && found <= 2, run.all());
        assertTrue(run.err().contains("findings " + found), run.err());
    }

    @Test
    void aCleanRunEndsAtItsTimeWithAStatusLine() throws IOException {
        Path corpus = tmp.resolve("corpus");
        RumpRun run = RumpRun.expect(0, "fuzz", "run", CLEAN, "--time", "4s", "--classpath", CP,
                "--corpus", corpus.toString(), "--findings", tmp.resolve("findings").toString());
        assertTrue(run.out().contains("no findings"), run.all());
        Matcher status = Pattern.compile("(?m)^\\d+:\\d\\d  runs (\\d+)  exec/s (\\d+)  cov (\\d+)  ft \\d+  corpus (\\d+)  findings 0$")
                .matcher(run.err());
        assertTrue(status.find(), run.all());
        // Figures depend on the machine's load; that it ran and counted is what is shown here.
        assertTrue(Long.parseLong(status.group(1)) > 0, status.group());
        assertTrue(Long.parseLong(status.group(3)) > 0, status.group());

        // The corpus it kept, run for coverage with Jazzer's JaCoCo, limited to the harnesses.
        Path report = tmp.resolve("coverage.txt");
        RumpRun cov = RumpRun.expect(0, "fuzz", "coverage", CLEAN, "--corpus", corpus.toString(),
                "--report", report.toString(), "--include", "io.jrump.cli.fuzztargets.**", "--classpath", CP);
        assertTrue(cov.out().contains("instrumented io.jrump.cli.fuzztargets.**"), cov.all());
        Matcher lines = Pattern.compile("lines +(\\d+)/(\\d+)").matcher(cov.out());
        assertTrue(lines.find(), cov.all());
        assertTrue(Integer.parseInt(lines.group(1)) > 0, cov.out());
        assertTrue(Files.readString(report).contains("PlantedBugFuzzTarget.java"), Files.readString(report));
        assertTrue(Files.size(tmp.resolve("coverage.exec")) > 0);
    }

    @Test
    void setUpErrorsSayWhatIsWrongAndExit2() throws IOException {
        RumpRun unknown = RumpRun.expect(2, "fuzz", "run", "NoSuchFuzzTest#parse", "--classpath", CP);
        assertTrue(unknown.err().contains("no fuzz target 'NoSuchFuzzTest#parse'"), unknown.all());

        RumpRun ambiguous = RumpRun.expect(2, "fuzz", "run", "PlantedBugFuzzTarget", "--classpath", CP);
        assertTrue(ambiguous.err().contains("names 2 fuzz targets"), ambiguous.all());

        RumpRun badTime = RumpRun.expect(2, "fuzz", "run", BUGGY, "--time", "ten minutes", "--classpath", CP);
        assertTrue(badTime.err().contains("bad --time 'ten minutes'"), badTime.all());

        Path missing = tmp.resolve("missing");
        RumpRun noFile = RumpRun.expect(2, "fuzz", "replay", missing.toString(), "--target", BUGGY, "--classpath", CP);
        assertTrue(noFile.err().contains(missing + ": no such file"), noFile.all());

        Path program = Files.writeString(tmp.resolve("prog"), FuzzCommand.PROGRAM_HEADER + "\nopen /a\n");
        RumpRun prog = RumpRun.expect(2, "fuzz", "replay", program.toString(), "--classpath", CP);
        assertTrue(prog.err().contains("not a program this version runs: line 1"), prog.all());

        RumpRun noJazzer = RumpRun.expect(2, "fuzz", "list", "--classpath", CP, "--jazzer", missing.toString());
        assertTrue(noJazzer.err().contains("--jazzer " + missing + ": no such file"), noJazzer.all());

        RumpRun noCheckout = RumpRun.expect(2, "fuzz", "list", "--project", tmp.toString());
        assertTrue(noCheckout.err().contains("is not a jrump checkout"), noCheckout.all());

        Files.createDirectories(tmp.resolve("fuzz"));
        Files.writeString(tmp.resolve("fuzz/pom.xml"), "<project/>");
        RumpRun unbuilt = RumpRun.expect(2, "fuzz", "list", "--project", tmp.toString());
        assertTrue(unbuilt.err().contains("run '" + FuzzClassPath.BUILD_COMMAND + "' in " + tmp), unbuilt.all());

        RumpRun help = RumpRun.expect(0, "fuzz", "run", "--help");
        assertTrue(help.out().contains("--jobs=N"), help.out());

        RumpRun noMinTarget = RumpRun.of("fuzz", "minimize", program.toString(), "--classpath", CP);
        assertEquals(2, noMinTarget.code(), noMinTarget.all());
        assertTrue(noMinTarget.err().contains("--target"), noMinTarget.all());
    }

    @Test
    void statusLinesAreParsedAndSummedOverJobs() {
        FuzzStatus s = new FuzzStatus();
        assertTrue(s.accept(0, "#19\tINITED cov: 566 ft: 613 corp: 9/681b exec/s: 0 rss: 1440Mb"));
        assertTrue(s.accept(1, "#4096\tpulse  cov: 600 ft: 700 corp: 12/1Kb lim: 193 exec/s: 2048 rss: 1440Mb"));
        assertTrue(s.accept(0, "#182986\tDONE   cov: 756 ft: 1420 corp: 113/7496b lim: 1245 exec/s: 20331 rss: 1651Mb"));
        assertTrue(!s.accept(0, "INFO: Seed: 590777982"));
        s.accept(0, "artifact_prefix='/x/'; Test unit written to /x/crash-80c6");
        assertEquals(List.of("/x/crash-80c6"), s.artifacts());
        assertEquals("1:05  runs 187082  exec/s 22379  cov 756  ft 1420  corpus 113  findings 1",
                s.line(java.time.Duration.ofSeconds(65)));
    }
}
