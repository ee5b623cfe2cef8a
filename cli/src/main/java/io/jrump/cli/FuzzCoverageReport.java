package io.jrump.cli;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The totals of Jazzer's {@code --coverage_report} file: its "Branch coverage:" and "Line coverage:"
 * sections list one {@code Name.java: covered/total (percent)} line per source file of the
 * instrumented classes on the class path (JaCoCo's figures), reached or not.
 */
record FuzzCoverageReport(int files, int filesReached, long lines, long linesTotal, long branches, long branchesTotal) {
    private static final Pattern ENTRY = Pattern.compile("^(\\S+): (\\d+)/(\\d+) \\(");

    static FuzzCoverageReport parse(String report) {
        String section = "";
        int files = 0;
        int reached = 0;
        long lines = 0;
        long linesTotal = 0;
        long branches = 0;
        long branchesTotal = 0;
        for (String line : report.split("\n")) {
            if (line.matches("[A-Z][a-z ]+:")) { // a section heading, e.g. "Missed lines:"
                section = line;
                continue;
            }
            Matcher m = ENTRY.matcher(line);
            if (!m.find()) {
                continue;
            }
            long covered = Long.parseLong(m.group(2));
            long total = Long.parseLong(m.group(3));
            if (section.equals("Line coverage:")) {
                files++;
                reached += covered > 0 ? 1 : 0;
                lines += covered;
                linesTotal += total;
            } else if (section.equals("Branch coverage:")) {
                branches += covered;
                branchesTotal += total;
            }
        }
        return new FuzzCoverageReport(files, reached, lines, linesTotal, branches, branchesTotal);
    }

    static String percent(long part, long whole) {
        return whole == 0 ? "-" : String.format("%.1f%%", 100.0 * part / whole);
    }
}
