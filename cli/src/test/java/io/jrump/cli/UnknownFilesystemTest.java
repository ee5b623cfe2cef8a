package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.ProviderNotFoundException;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A device no filesystem type reads gets one message from every command, because every command
 * asks the one probe (FileSystemTypes): the read commands, the write commands, image info, and
 * the nio provider, which declines it so that other providers may try. And a path that is not
 * there is named as the user typed it, image and all.
 */
class UnknownFilesystemTest {
    @TempDir
    Path dir;

    @Test
    void everyCommandSaysTheSameAboutADeviceNoTypeReads() throws Exception {
        Path img = dir.resolve("boot.img");
        byte[] b = new byte[4 << 20];
        b[510] = 0x55;
        b[511] = (byte) 0xAA; // a boot sector, as a partition table starts, but no FAT parameters
        Files.write(img, b);
        String expected = img + ": no filesystem this library reads (";
        String hint = "; it holds an mbr partition table with no partitions: Invalid argument (EINVAL)";
        for (String[] cmd : new String[][] {
            {"fs", "ls", img + ":/"}, {"fs", "df", img.toString()}, {"fs", "mkdir", img + ":/d"}, {"fs", "cat", img + ":/x"},
        }) {
            RumpRun r = RumpRun.of(cmd);
            assertEquals(1, r.code(), String.join(" ", cmd) + ": " + r.err());
            assertTrue(r.err().contains(expected) && r.err().contains(hint), String.join(" ", cmd) + " said: " + r.err());
        }
        RumpRun info = RumpRun.of("image", "info", img.toString());
        assertTrue(info.out().contains("filesystem: none recognized"), info.out());
        // The nio provider declines it (no other provider takes a raw disk either).
        assertThrows(ProviderNotFoundException.class, () -> FileSystems.newFileSystem(img, Map.of()));
    }

    /**
     * What a device holds is said the same way whichever command met it: a partition named on a
     * disk without a table, a filesystem sought on a disk with a table, a partition the table
     * lacks. No message borrows ENOENT's "No such file or directory" for a missing table or
     * partition.
     */
    @Test
    void partAndFsSayWhatADiskHoldsInTheSameWords() throws Exception {
        Path blank = dir.resolve("blank.img");
        Files.write(blank, new byte[4 << 20]);
        Path e4 = dir.resolve("e4.img");
        tool("mke2fs", "-q", "-F", "-t", "ext4", e4.toString(), "8M");
        Path gpt = dir.resolve("gpt.img");
        Files.write(gpt, new byte[8 << 20]);
        tool("sgdisk", "-n", "1:2048:+2M", gpt.toString());
        Path fat = dir.resolve("fat.img");
        tool("mkfs.fat", "-C", fat.toString(), "4096");

        String blankHolds = "no partition table (sector 0 lacks the 0x55AA signature); no filesystem this library reads "
                + "either; its first 64 KiB are zeros (a blank disk?)";
        assertEquals("rump: " + blank + ": " + blankHolds + ": No data available (ENODATA)\n",
                RumpRun.expect(1, "part", "list", blank.toString()).err());
        assertEquals("rump: " + blank + ": " + blankHolds + ": No data available (ENODATA)\n",
                RumpRun.expect(1, "fs", "ls", blank + ":1:/").err());
        assertEquals("rump: " + blank + ": " + blankHolds + "; 'rump part create " + blank
                + " --table gpt' makes one: No data available (ENODATA)\n",
                RumpRun.expect(1, "part", "add", blank.toString(), "--size", "1M").err());

        String e4Holds = e4 + ": no partition table (sector 0 lacks the 0x55AA signature); the whole disk holds a filesystem (ext4, ";
        for (String[] cmd : new String[][] {{"part", "list", e4.toString()}, {"fs", "ls", e4 + ":1:/"}, {"fs", "fsck", e4 + ":1"}}) {
            String err = RumpRun.expect(1, cmd).err();
            assertTrue(err.startsWith("rump: " + e4Holds) && err.endsWith("(ENODATA)\n"), String.join(" ", cmd) + " said: " + err);
            assertEquals(cmd[0].equals("fs"), err.contains("name no partition, as in " + e4 + ":"), err);
        }

        String err = RumpRun.expect(1, "fs", "ls", gpt + ":/").err();
        assertTrue(err.contains("; it holds a gpt partition table with 1 partition: name one, as in " + gpt + ":1: "
                + "Invalid argument (EINVAL)"), err);
        assertEquals("rump: " + gpt + ": no partition 9: No such device or address (ENXIO)\n",
                RumpRun.expect(1, "fs", "ls", gpt + ":9:/").err());
        assertEquals("rump: " + gpt + ": no partition 7: No such device or address (ENXIO)\n",
                RumpRun.expect(1, "part", "delete", gpt.toString(), "7").err());

        // mkfs.fat makes no partition table, but its boot sector ends in 0x55AA: sfdisk lists an empty dos table.
        String list = RumpRun.expect(0, "part", "list", fat.toString()).out();
        assertTrue(list.contains("(no partitions; the whole disk holds a filesystem (vfat (FAT12), "), list);
        assertTrue(RumpRun.expect(0, "image", "info", blank.toString()).out().contains("partition table: none\n"));
    }

    private static void tool(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + ": " + out);
    }

    @Test
    void aPathThatIsNotThereIsNamedAsTheUserTypedIt() throws Exception {
        Path img = dir.resolve("e.img");
        Process p = new ProcessBuilder("mke2fs", "-q", "-F", "-t", "ext4", img.toString(), "8M").redirectErrorStream(true)
                .start();
        p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor(), "mke2fs");
        for (String[] cmd : new String[][] {
            {"fs", "ls", img + ":/no/such"}, {"fs", "cat", img + ":/no/such"}, {"fs", "stat", img + ":/no/such"},
            {"fs", "cp", img + ":/no/such", dir.resolve("out").toString()}, {"fs", "rm", img + ":/no/such"},
            {"fs", "chmod", "644", img + ":/no/such"},
        }) {
            RumpRun r = RumpRun.of(cmd);
            assertEquals(1, r.code(), String.join(" ", cmd) + ": " + r.err());
            // The image named once, the path as typed, the errno's text and name: the same line from every command.
            assertEquals("rump: " + img + ":/no/such: No such file or directory (ENOENT)\n", r.err(), String.join(" ", cmd));
        }
        assertEquals("rump: " + img + ":/no/such -> " + img + ":/elsewhere: No such file or directory (ENOENT)\n",
                RumpRun.expect(1, "fs", "mv", img + ":/no/such", img + ":/elsewhere").err(), "mv names both ends");
        RumpRun dir = RumpRun.of("fs", "cat", img + ":/lost+found");
        assertTrue(dir.err().contains("rump: " + img + ":/lost+found: Is a directory"), dir.err());
    }
}
