package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rump fuzz minimize} on the planted-bug harness of {@code fuzztargets}, through the real
 * Jazzer jar; in a class of its own because libFuzzer's minimization starts five Jazzer JVMs
 * (about 45 s on two cores).
 */
class FuzzMinimizeTest {
    private static final String CP = System.getProperty("java.class.path");
    private static final String BUGGY = "io.jrump.cli.fuzztargets.PlantedBugFuzzTarget#failsOnBug";

    @TempDir
    Path tmp;

    @Test
    void aPaddedFailingInputShrinksToBug() throws IOException {
        // A padded failing input shrinks to "BUG". libFuzzer minimizes in steps, each two new Jazzer
        // JVMs (check, then shrink) and at most one smaller input, until a step finds none; --runs
        // keeps a step short. About 45 s here (2 cores, some load); --time is the bound for a loaded machine.
        Path padded = Files.writeString(tmp.resolve("padded"), "BUGG");
        Path smaller = tmp.resolve("smaller");
        RumpRun min = RumpRun.expect(0, "fuzz", "minimize", padded.toString(), "--target", BUGGY, "--time", "150s",
                "--runs", "2000", "-o", smaller.toString(), "--include", "io.jrump.cli.fuzztargets.**", "--classpath", CP);
        assertTrue(min.out().contains("minimized: " + smaller + " (4 -> 3 bytes)"), min.all());
        assertEquals("BUG", Files.readString(smaller, StandardCharsets.ISO_8859_1));
    }
}
