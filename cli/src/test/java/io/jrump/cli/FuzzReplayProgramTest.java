package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.fuzz.kit.program.Program;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rump fuzz replay FILE} on a syscall program: run in this JVM on the sim host, no Jazzer. */
class FuzzReplayProgramTest {
    @TempDir
    Path tmp;

    private Path program(String... calls) throws Exception {
        return Files.writeString(tmp.resolve("p.prog"),
                Program.HEADER + "\nseed 0x2a\ndisk d0 ext4 4M\n" + String.join("\n", calls) + "\n");
    }

    @Test
    void aCleanProgramPrintsEveryCallAndPassesTheSameEveryTime() throws Exception {
        Path p = program(
                "mount(\"d0\", \"/\", \"ext4\", 0)",
                "mkdir(\"/d\", 0755)",
                "r0 = open(\"/d/a\", O_RDWR|O_CREAT, 0644)",
                "pwrite(r0, bytes(4096, 0x41), 0)",
                "fsync(r0)",
                "powercut()",
                "r1 = open(\"/d/missing\", O_RDONLY, 0)");
        RumpRun first = RumpRun.expect(0, "fuzz", "replay", p.toString());
        assertTrue(first.out().contains("[0] mount(\"d0\", \"/\", \"ext4\", 0) = ok"), first.all());
        assertTrue(first.out().contains("[6] r1 = open(\"/d/missing\", O_RDONLY, 0) -> ENOENT"), first.all());
        assertTrue(first.out().contains(p + " passes"), first.all());
        assertEquals(first.out(), RumpRun.expect(0, "fuzz", "replay", p.toString()).out(), "a replay is exact");
    }

    @Test
    void aMalformedProgramIsASetUpErrorNamingTheLine() throws Exception {
        Path p = program("mount(\"d0\", \"/\", \"ext4\", 0)", "frobnicate(1)");
        RumpRun r = RumpRun.expect(2, "fuzz", "replay", p.toString());
        assertTrue(r.err().contains("line 5"), r.all());
        assertTrue(r.err().contains("frobnicate"), r.all());
    }
}
