package io.jrump.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What libFuzzer's output says about a run, from its status lines
 * ({@code #4096 NEW cov: 756 ft: 1420 corp: 113/7496b lim: 1245 exec/s: 20331 rss: 1651Mb},
 * {@code pulse}, {@code INITED}, {@code DONE}) and its finding reports, summed over the jobs of
 * one run; and the one-line summary {@code rump fuzz run} prints of it.
 */
final class FuzzStatus {
    private static final Pattern STATUS = Pattern.compile("^#(\\d+)\\s+(INITED|NEW|REDUCE|pulse|DONE|RELOAD)\\b(.*)$");
    private static final Pattern COV = Pattern.compile("\\bcov: (\\d+)");
    private static final Pattern FT = Pattern.compile("\\bft: (\\d+)");
    private static final Pattern CORP = Pattern.compile("\\bcorp: (\\d+)/");
    private static final Pattern EXECS = Pattern.compile("\\bexec/s: (\\d+)");
    private static final Pattern WRITTEN = Pattern.compile("Test unit written to (\\S+)");

    /** The last figures one job reported. */
    private static final class Job {
        long runs;
        long execPerSecond;
        long cov;
        long ft;
        long corpus;
    }

    private final Map<Integer, Job> jobs = new HashMap<>();
    private final List<String> artifacts = new ArrayList<>();
    private boolean started;
    private boolean findingReported;

    /** Reads one line of job {@code job}'s output; true if it was a status line. */
    boolean accept(int job, String line) {
        Matcher w = WRITTEN.matcher(line);
        if (w.find()) {
            artifacts.add(w.group(1));
        }
        if (isFindingStart(line)) {
            findingReported = true;
        }
        Matcher m = STATUS.matcher(line);
        if (!m.matches()) {
            return false;
        }
        started = true;
        Job j = jobs.computeIfAbsent(job, k -> new Job());
        j.runs = Long.parseLong(m.group(1));
        String rest = m.group(3);
        j.execPerSecond = number(EXECS, rest, j.execPerSecond);
        j.cov = number(COV, rest, j.cov);
        j.ft = number(FT, rest, j.ft);
        j.corpus = number(CORP, rest, j.corpus);
        return true;
    }

    /** The first line of a report libFuzzer or Jazzer prints on a finding. */
    static boolean isFindingStart(String line) {
        return line.startsWith("== Java Exception:") || line.startsWith("==") && line.contains("ERROR: libFuzzer");
    }

    private static long number(Pattern p, String text, long otherwise) {
        Matcher m = p.matcher(text);
        return m.find() ? Long.parseLong(m.group(1)) : otherwise;
    }

    /** Whether any job got as far as running inputs (libFuzzer's first status line). */
    boolean started() {
        return started;
    }

    boolean findingReported() {
        return findingReported;
    }

    /** The files libFuzzer wrote findings to, in order. */
    List<String> artifacts() {
        return List.copyOf(artifacts);
    }

    long runs() {
        return jobs.values().stream().mapToLong(j -> j.runs).sum();
    }

    long execPerSecond() {
        return jobs.values().stream().mapToLong(j -> j.execPerSecond).sum();
    }

    /** Jobs share one corpus directory, so the largest figure is the closest to the whole. */
    long cov() {
        return jobs.values().stream().mapToLong(j -> j.cov).max().orElse(0);
    }

    long ft() {
        return jobs.values().stream().mapToLong(j -> j.ft).max().orElse(0);
    }

    long corpus() {
        return jobs.values().stream().mapToLong(j -> j.corpus).max().orElse(0);
    }

    /** {@code 0:12 runs 183k exec/s 20331 cov 756 ft 1420 corpus 113 findings 0}. */
    String line(Duration elapsed) {
        return String.format("%s  runs %d  exec/s %d  cov %d  ft %d  corpus %d  findings %d",
                clock(elapsed), runs(), execPerSecond(), cov(), ft(), corpus(), artifacts.size());
    }

    static String clock(Duration d) {
        long s = d.toSeconds();
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format("%d:%02d", s / 60, s % 60);
    }
}
