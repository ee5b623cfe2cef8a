package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image commands on a real block device: a loop device ({@code losetup -f --show}) over an
 * image that {@code sgdisk} partitioned and {@code mke2fs -d} filled, opened by its {@code /dev}
 * path through the Linux host. Needs root, losetup, sgdisk, mke2fs and e2fsck, as CI has: a
 * missing one fails the test.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (losetup); ./run-tests, as root, runs it")
class BlockDeviceCommandsTest {
    @TempDir
    Path dir;
    private String loop;

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command) + " timed out");
        assertEquals(0, p.exitValue(), String.join(" ", command) + "\n" + out);
        return out;
    }

    @AfterEach
    void detach() throws Exception {
        if (loop != null) {
            run("losetup", "-d", loop);
        }
    }

    @Test
    void fsAndPartCommandsWorkOnALoopDeviceAndE2fsckAgrees() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("tree/etc"));
        Files.writeString(tree.resolve("hostname"), "jrump\n");
        Path disk = dir.resolve("disk.img");
        Files.write(disk, new byte[0]);
        run("truncate", "-s", "64M", disk.toString());
        run("sgdisk", "-n", "1:2048:0", "-t", "1:8300", "-c", "1:root", disk.toString());
        Path part = dir.resolve("part.img");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-d", dir.resolve("tree").toString(), part.toString(), "60M");
        run("dd", "if=" + part, "of=" + disk, "bs=1M", "seek=1", "conv=notrunc", "status=none");
        loop = run("losetup", "-f", "--show", disk.toString()).trim();

        RumpRun parts = RumpRun.expect(0, "part", "list", loop);
        assertTrue(parts.out().contains("root"), parts.out());
        RumpRun ls = RumpRun.expect(0, "fs", "ls", loop + ":1:/etc");
        assertTrue(ls.out().contains("hostname"), ls.out());
        Path hostname = dir.resolve("hostname");
        RumpRun.expect(0, "fs", "cp", loop + ":1:/etc/hostname", hostname.toString());
        assertEquals("jrump\n", Files.readString(hostname));

        byte[] data = new byte[300_000];
        new java.util.Random(7).nextBytes(data);
        Path src = dir.resolve("blob");
        Files.write(src, data);
        RumpRun.expect(0, "fs", "cp", src.toString(), loop + ":1:/blob");
        RumpRun.expect(0, "fs", "mkdir", loop + ":1:/made");

        run("losetup", "-d", loop);
        loop = null;
        run("dd", "if=" + disk, "of=" + part, "bs=1M", "skip=1", "count=60", "status=none");
        run("e2fsck", "-fn", part.toString());
        Path back = dir.resolve("back");
        run("debugfs", "-R", "dump /blob " + back, part.toString());
        assertArrayEquals(data, Files.readAllBytes(back));
        assertTrue(run("debugfs", "-R", "stat /made", part.toString()).contains("Type: directory"));
    }
}
