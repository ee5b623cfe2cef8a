package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.fuzz.kit.program.Program;
import io.jrump.fuzz.kit.program.ProgramRunner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The seeds of {@link SyscallSequenceFuzzTest} are written from scripts of the generator's
 * choices ({@link ChoiceBytes}), so each is a known small program: this test checks each file
 * still holds its script's bytes, that the program has the calls it was written for, and that it
 * runs clean. Run with {@code -Dseeds.write=true} to rewrite the files after changing a script or
 * the generator.
 */
class SyscallSequenceSeedsTest {
    static final Path DIR = Path.of("src/test/resources/io/jrump/fuzz/SyscallSequenceFuzzTestInputs/programs");

    /** Seed name to the generator's choices (see ProgramGenerator.build and step for their order). */
    static final Map<String, long[]> SCRIPTS = Map.of(
            // seed 0x2a, mount; open /a O_RDWR|O_CREAT; pwrite 4096 x 0x41 at 0; fsync; pwrite 511 x 0x42 at 4097;
            // powercut; pread 4097 at 0; stat /a
            "fsync-then-powercut", new long[] {0x2a, 1, 0, 0, 3, 3, 0, 1, 1, 8, 0x41, 1, 0, 7, 0, 3, 0, 1, 1, 2, 0x42, 1, 9,
                15, 5, 0, 1, 9, 1, 0, 14, 0},
            // seed 7, no mount; a connection (listener on b, client on a, port 80); send 10000 x 0x61 from the client;
            // link_down; sleep 5000; link_up; recv 65536 at the server; shutdown the client SHUT_WR
            "tcp-across-link-outage", new long[] {7, 0, 17, 1, 0, 0, 18, 0, 1, 0, 10000, 0x61, 22, 0, 23, 4, 22, 1,
                20, 1, 1, 11, 21, 0, 1},
            // seed 3, mount; mkdir /d; open /d/a O_WRONLY|O_CREAT|O_TRUNC; rename /d/a /b; umount (busy); close it;
            // umount; mount; rmdir /d; unlink /b
            "tree-and-remount", new long[] {3, 1, 11, 2, 0, 3, 4, 13, 3, 1, 16, 1, 9, 1, 0, 16, 1, 16, 0, 12, 2, 10, 1});

    @Test
    void seedFilesAreTheirScriptsAndRunClean() throws Exception {
        boolean write = Boolean.getBoolean("seeds.write");
        for (Map.Entry<String, long[]> s : SCRIPTS.entrySet()) {
            ChoiceBytes choices = ChoiceBytes.of(s.getValue());
            Program p = Program.generate(choices.provider(), SyscallSequenceFuzzTest.MAX_CALLS);
            Path file = DIR.resolve(s.getKey());
            if (write) {
                Files.write(file, choices.input());
            }
            assertArrayEquals(choices.input(), Files.readAllBytes(file), s.getKey() + " holds its script's bytes");
            String text = p.text();
            switch (s.getKey()) {
                case "fsync-then-powercut" -> assertTrue(text.contains("fsync(r0)\npwrite(r0, bytes(511, 0x42), 4097)\npowercut()\n"), text);
                case "tcp-across-link-outage" -> assertTrue(text.contains("r2 = accept(r0)\nsend(r1, bytes(10000, 0x61))\n"
                        + "link_down(\"lan\")\nsleep(5000)\nlink_up(\"lan\")\nrecv(r2, 65536)\nshutdown(r1, SHUT_WR)\n"), text);
                default -> assertTrue(text.contains("umount(\"/\")\nclose(r0)\numount(\"/\")\nmount(\"d0\", \"/\", \"ext4\", 0)\n"), text);
            }
            ProgramRunner.Result r = ProgramRunner.run(p);
            assertTrue(r.ok(), r + "\n" + text + String.join("\n", r.trace()));
        }
        assertEquals(3, SCRIPTS.size());
    }
}
