package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Hypercalls;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/** The rump command as a user sees it: output, exit codes, error lines. */
class RumpTest {
    private static String trace(RumpRun r) {
        Matcher m = Pattern.compile("(?m)^trace ([0-9a-f]{64})$").matcher(r.out());
        assertTrue(m.find(), "no trace line in:\n" + r.out());
        return m.group(1);
    }

    @Test
    void versionNamesTheHypercallVersion() {
        RumpRun r = RumpRun.of("--version");
        assertEquals(0, r.code());
        assertTrue(r.out().startsWith("rump "), r.out());
        assertTrue(r.out().contains("hypercall version " + Hypercalls.VERSION), r.out());
    }

    /** What the parameter-error hint promises ("Try 'rump fs ls --help' for more") holds for every command. */
    @Test
    void everyCommandAndSubcommandAnswersHelp() {
        List<List<String>> paths = new java.util.ArrayList<>();
        collect(new picocli.CommandLine(new Rump()), new java.util.ArrayList<>(), paths);
        assertTrue(paths.size() > 30, "the command tree: " + paths);
        for (List<String> path : paths) {
            List<String> args = new java.util.ArrayList<>(path);
            args.add("--help");
            RumpRun r = RumpRun.of(args.toArray(String[]::new));
            String name = String.join(" ", path);
            assertEquals(0, r.code(), name + " --help: " + r.all());
            assertTrue(r.out().startsWith("Usage: rump" + (name.isEmpty() ? "" : " " + name) + " "), name + ": " + r.out());
        }
    }

    private static void collect(picocli.CommandLine c, List<String> path, List<List<String>> into) {
        into.add(List.copyOf(path));
        c.getSubcommands().forEach((name, sub) -> {
            if (!name.equals("help") && sub.getCommandName().equals(name)) { // aliases once
                List<String> next = new java.util.ArrayList<>(path);
                next.add(name);
                collect(sub, next, into);
            }
        });
    }

    @Test
    void helpListsEveryCommandWithADescription() {
        RumpRun r = RumpRun.of("--help");
        assertEquals(0, r.code());
        for (String cmd : List.of("hosts", "demo", "help")) {
            assertTrue(Pattern.compile("(?m)^\\s+" + cmd + "\\s+\\S+").matcher(r.out()).find(), cmd + " in\n" + r.out());
        }
    }

    @Test
    void hostsListsTheJvmAndSimHostsAsAvailable() {
        RumpRun r = RumpRun.of("hosts");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("hypercall version " + Hypercalls.VERSION));
        assertTrue(Pattern.compile("(?m)^\\s+jvm\\s+available").matcher(r.out()).find(), r.out());
        assertTrue(Pattern.compile("(?m)^\\s+sim\\s+available").matcher(r.out()).find(), r.out());
        assertTrue(r.out().contains("components:"));
    }

    @Test
    @Tag("root")
    @EnabledIfSystemProperty(named = "user.name", matches = "root",
            disabledReason = "needs root (creating TAPs and mount(2)); ./run-tests, as root, runs it")
    void hostsSaysWhatTheLinuxHostCanOpenHere() {
        // CI runs as root on Linux: the host is there, and can create TAPs and mount directly.
        RumpRun r = RumpRun.of("hosts");
        assertTrue(Pattern.compile("(?m)^\\s+linux\\s+available").matcher(r.out()).find(), r.out());
        assertTrue(r.out().contains("nic   tap:IFNAME"), r.out());
        assertTrue(r.out().contains("(here: can create and attach)"), r.out());
        assertTrue(r.out().contains("fuse  MOUNTPOINT   a FUSE mount through /dev/fuse (here: mount(2) directly)"), r.out());
    }

    @Test
    void demoOnTheJvmHostCompletesEveryRound() {
        RumpRun r = RumpRun.of("demo", "--rounds", "4");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("got 4 pongs"), r.out());
        assertTrue(r.out().contains("b received"), r.out());
    }

    @Test
    void demoOnTheSimHostIsAPureFunctionOfTheSeed() {
        RumpRun first = RumpRun.of("demo", "--host", "sim", "--seed", "7");
        RumpRun again = RumpRun.of("demo", "--host", "sim", "--seed", "7");
        RumpRun other = RumpRun.of("demo", "--host", "sim", "--seed", "8");
        assertEquals(0, first.code(), first.err());
        assertEquals(first.out(), again.out(), "same seed, same run, line for line");
        assertEquals(trace(first), trace(again));
        assertNotEquals(trace(first), trace(other));
        assertTrue(first.out().contains("got 5 pongs"), first.out());
    }

    @Test
    void usageErrorsPrintOneLineAndAPointerToHelp() {
        for (String[] args : List.of(new String[] {"demo", "--host", "bogus"}, new String[] {"demo", "--seed", "3"},
                new String[] {"demo", "--rounds", "0"}, new String[] {"no-such-command"})) {
            RumpRun r = RumpRun.of(args);
            assertEquals(2, r.code(), String.join(" ", args));
            String[] lines = r.err().strip().split("\n");
            assertEquals(2, lines.length, r.err());
            assertTrue(lines[0].startsWith("rump: "), r.err());
            assertTrue(lines[1].startsWith("Try 'rump"), r.err());
            assertEquals("", r.out());
        }
    }
}
