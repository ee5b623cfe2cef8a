package io.jrump.fuzz.kit.program;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.kernel.sys.OpenFlags;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hand-written programs run by {@link ProgramRunner}: a power cut with fsync'd and unsynced
 * writes, a TCP transfer across a link outage, and a world changed behind the model's back, whose
 * finding names its step and replays the same from the printed program.
 */
class ProgramRunnerTest {
    @TempDir
    Path dir;

    private static String program(String... calls) {
        return Program.HEADER + "\nseed 0x2a\ndisk d0 ext4 4M\n" + String.join("\n", calls) + "\n";
    }

    @Test
    void aPowerCutKeepsWhatFsyncMadeDurableAndTheTreeIsAStateSinceTheCommit() throws Exception {
        Program p = Program.parse(program(
                "mount(\"d0\", \"/\", \"ext4\", 0)",
                "mkdir(\"/d\", 0755)",
                "r0 = open(\"/d/a\", O_RDWR|O_CREAT, 0644)",
                "pwrite(r0, bytes(5000, 0x41), 0)",
                "fsync(r0)",
                "pwrite(r0, bytes(3000, 0x42), 8192)",
                "r1 = open(\"/b\", O_WRONLY|O_CREAT, 0644)",
                "powercut()",
                "stat(\"/d/a\")",
                "pread(r0, 10, 0)",
                "r2 = open(\"/d/a\", O_RDONLY, 0)",
                "pread(r2, 5000, 0)"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ProgramRunner.Result r = ProgramRunner.run(p, new PrintStream(out, true, StandardCharsets.UTF_8));
        String trace = out.toString(StandardCharsets.UTF_8);
        assertTrue(r.ok(), r + "\n" + trace);
        assertTrue(trace.contains("[7] powercut()"), trace);
        assertTrue(trace.contains("[9] pread(r0, 10, 0) -> EBADF"), "the descriptor died with the power: " + trace);
        // The fsync'd 5000 bytes of 'A' came back; the pread checked them against the model.
        assertTrue(trace.contains("[11] pread(r2, 5000, 0) = ok 5000"), trace);
        assertEquals(13, r.trace().size(), "one line a call and one for the end");
    }

    @Test
    void aStreamCrossesALinkOutageAndIsDeliveredWhenTheLinkComesBack() throws Exception {
        Program p = Program.parse(program(
                "b: r0 = socket(AF_INET, SOCK_STREAM, 0)",
                "bind(r0, \"0.0.0.0:80\")",
                "listen(r0, 4)",
                "r1 = socket(AF_INET, SOCK_STREAM, 0)",
                "connect(r1, \"198.18.0.2:80\")",
                "sleep(5)",
                "r2 = accept(r0)",
                "send(r1, bytes(20000, 0x61))",
                "link_down(\"lan\")",
                "send(r1, hex\"0001020304\")",
                "sleep(3000)",
                "recv(r2, 65536)",
                "link_up(\"lan\")",
                "sleep(30000)",
                "recv(r2, 65536)",
                "recv(r2, 65536)",
                "send(r2, bytes(100, 0x7a))",
                "shutdown(r2, SHUT_WR)",
                "sleep(10)",
                "recv(r1, 1000)",
                "recv(r1, 1000)"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ProgramRunner.Result r = ProgramRunner.run(p, new PrintStream(out, true, StandardCharsets.UTF_8));
        String trace = out.toString(StandardCharsets.UTF_8);
        assertTrue(r.ok(), r + "\n" + trace);
        assertTrue(trace.contains("[19] recv(r1, 1000) = ok 100"), "the reply, then the end of stream: " + trace);
        assertTrue(trace.contains("[20] recv(r1, 1000) = ok 0"), trace);
    }

    @Test
    void bytesLeftInFlightAtTheEndAreDeliveredByTheLivenessCheck() throws Exception {
        Program p = Program.parse(program(
                "b: r0 = socket(AF_INET, SOCK_STREAM, 0)",
                "bind(r0, \"0.0.0.0:81\")",
                "listen(r0, 4)",
                "r1 = socket(AF_INET, SOCK_STREAM, 0)",
                "connect(r1, \"198.18.0.2:81\")",
                "sleep(5)",
                "r2 = accept(r0)",
                "loss(\"lan\", 30)",
                "send(r1, bytes(60000, 0x33))",
                "link_down(\"lan\")",
                "sleep(20000)"));
        ProgramRunner.Result r = ProgramRunner.run(p);
        assertTrue(r.ok(), r + "\n" + String.join("\n", r.trace()));
        String end = r.trace().get(r.trace().size() - 1);
        assertTrue(end.contains("[11] end") && end.contains("60000 bytes delivered"), end);
    }

    @Test
    void aChangeBehindTheModelsBackIsAFindingAtItsStepAndReplaysTheSame() throws Exception {
        Program p = Program.parse(program(
                "mount(\"d0\", \"/\", \"ext4\", 0)",
                "r0 = open(\"/a\", O_RDWR|O_CREAT, 0644)",
                "pwrite(r0, bytes(100, 0x01), 0)",
                "close(r0)",
                "r1 = open(\"/a\", O_RDONLY, 0)",
                "pread(r1, 100, 0)"));
        // After step 3 (the close), something writes to /a that the model does not know of.
        ProgramRunner.Interference sneak = (step, a) -> {
            if (step == 3) {
                int fd = a.open("/a", OpenFlags.O_WRONLY, 0);
                a.pwrite(fd, ByteBuffer.wrap(new byte[] {9}), 50);
                a.close(fd);
            }
        };
        ProgramRunner.Result first = ProgramRunner.run(p, null, sneak);
        assertFalse(first.ok());
        assertEquals(5, first.step(), first.toString());
        assertEquals("pread(r1, 100, 0)", first.call());
        assertTrue(first.message().contains("first difference at byte 50"), first.message());
        // The printed program, read back and run again, gives the very same finding and trace.
        Path file = dir.resolve("finding.prog");
        Files.writeString(file, p.text());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Program again = Program.parse(Files.readString(file));
        ProgramRunner.Result second = ProgramRunner.run(again, new PrintStream(out, true, StandardCharsets.UTF_8), sneak);
        assertEquals(first, second);
        assertEquals(first.worldTraceHash(), second.worldTraceHash());
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("FINDING at step 5"), out.toString(StandardCharsets.UTF_8));
        // Without the interference the same program is clean.
        assertTrue(ProgramRunner.run(again).ok());
    }

    @Test
    void theGuidesExampleRunsClean() throws Exception {
        Program p = Program.parse(program(
                "mount(\"d0\", \"/\", \"ext4\", 0)",
                "mkdir(\"/d\", 0755)",
                "r0 = open(\"/d/a\", O_RDWR|O_CREAT, 0644)",
                "pwrite(r0, bytes(4096, 0x41), 0)",
                "fsync(r0)",
                "pwrite(r0, hex\"00ff10\", 4097)",
                "powercut()",
                "b: r1 = socket(AF_INET, SOCK_STREAM, 0)",
                "bind(r1, \"0.0.0.0:80\")",
                "listen(r1, 4)",
                "r2 = socket(AF_INET, SOCK_STREAM, 0)",
                "connect(r2, \"198.18.0.2:80\")",
                "sleep(5)",
                "r3 = accept(r1)",
                "send(r2, bytes(10000, 0x61))",
                "link_down(\"lan\")",
                "sleep(5000)",
                "link_up(\"lan\")",
                "recv(r3, 65536)",
                "shutdown(r2, SHUT_WR)"));
        ProgramRunner.Result r = ProgramRunner.run(p);
        assertTrue(r.ok(), r + "\n" + String.join("\n", r.trace()));
        assertEquals("[14] send(r2, bytes(10000, 0x61)) = ok 10000", r.trace().get(14));
    }

    @Test
    void aFileTheModelDoesNotKnowIsFoundAfterThePowerCut() throws Exception {
        Program p = Program.parse(program(
                "mount(\"d0\", \"/\", \"ext4\", 0)",
                "mkdir(\"/d\", 0755)",
                "powercut()"));
        ProgramRunner.Result r = ProgramRunner.run(p, null, (step, a) -> {
            if (step == 1) {
                a.close(a.open("/ghost", OpenFlags.O_CREAT | OpenFlags.O_WRONLY, 0644));
                a.sync();
            }
        });
        assertEquals(2, r.step(), r.toString());
        assertTrue(r.message().contains("none of the 2 states since the last commit point")
                && r.message().contains("unexpected [/ghost]"), r.message());
    }

    @Test
    void replayReadsAFileAndPrintsEveryCallLikeStrace() throws Exception {
        Path file = dir.resolve("p.prog");
        Files.writeString(file, program(
                "mount(\"d0\", \"/\", \"ext4\", 0)",
                "mkdir(\"/x\", 0755)",
                "mkdir(\"/x\", 0755)",
                "rmdir(\"/nope\")"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ProgramRunner.Result r = ProgramRunner.replay(file, new PrintStream(out, true, StandardCharsets.UTF_8));
        assertTrue(r.ok(), r.toString());
        assertEquals(String.join("\n",
                "[0] mount(\"d0\", \"/\", \"ext4\", 0) = ok",
                "[1] mkdir(\"/x\", 0755) = ok",
                "[2] mkdir(\"/x\", 0755) -> EEXIST",
                "[3] rmdir(\"/nope\") -> ENOENT",
                "[4] end = ok",
                "ok", ""), out.toString(StandardCharsets.UTF_8));
    }
}
