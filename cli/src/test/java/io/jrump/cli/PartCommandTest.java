package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rump part} end to end on an image file, checked by sgdisk. */
class PartCommandTest {
    @TempDir
    Path dir;

    private static String sgdisk(String... args) throws Exception {
        Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out;
    }

    @Test
    void createAddListAndDeleteProduceATableSgdiskAccepts() throws Exception {
        Path img = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(128L << 20);
        }
        RumpRun.expect(0, "part", "create", img.toString(), "--table", "gpt");
        RumpRun.expect(0, "part", "add", img.toString(), "--size", "32M", "--type", "efi", "--name", "ESP");
        RumpRun.expect(0, "part", "add", img.toString(), "--size", "64M", "--name", "root");
        String list = RumpRun.expect(0, "part", "list", img.toString()).out();
        assertTrue(list.contains("'ESP'") && list.contains("'root'") && list.contains("64.0M"), list);
        RumpRun.expect(0, "part", "delete", img.toString(), "1");
        String after = RumpRun.expect(0, "part", "list", img.toString()).out();
        assertTrue(!after.contains("'ESP'") && after.contains("'root'"), after);
        assertTrue(sgdisk("sgdisk", "-v", img.toString()).contains("No problems found"));
    }

    @Test
    void errorsAreOneLineWithTheErrno() throws Exception {
        Path img = dir.resolve("small.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(8L << 20);
        }
        String noTable = RumpRun.expect(1, "part", "list", img.toString()).err();
        assertTrue(noTable.startsWith("rump: ") && noTable.contains("(ENODATA)") && !noTable.contains("No such file"), noTable);
        RumpRun.expect(0, "part", "create", img.toString(), "--table", "mbr");
        String full = RumpRun.expect(1, "part", "add", img.toString(), "--size", "1G").err();
        assertTrue(full.contains("(ENOSPC)") && full.strip().split("\n").length == 1, full);
        RumpRun.expect(2, "part", "create", img.toString(), "--table", "zfs");
    }

    private static void sh(String script) throws Exception {
        Process p = new ProcessBuilder("sh", "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), script);
        assertEquals(0, p.exitValue(), script + "\n" + out);
    }

    /**
     * Fixture: a 64 MiB image given a GPT of 4096-byte sectors by {@code fdisk -b 4096} (partition
     * 1 at LBA 256, 8 MiB), a vfat of 4096-byte sectors made by {@code mkfs.vfat -S 4096} on
     * partition 1 cut out with dd, hello.txt put in with mcopy, and the partition put back. The
     * commands find the table's unit themselves, or take it from {@code --sector-size}.
     */
    @Test
    void aFourKnImageIsListedAndItsPartitionFilesystemRead() throws Exception {
        Path img = dir.resolve("4kn.img");
        Path p1 = dir.resolve("p1");
        sh("truncate -s 64M " + img + " && printf 'g\\nn\\n1\\n\\n+8M\\nn\\n2\\n\\n+8M\\nw\\n' | fdisk -b 4096 " + img
                + " >/dev/null && dd if=" + img + " of=" + p1 + " bs=4096 skip=256 count=2048 status=none"
                + " && mkfs.vfat -S 4096 " + p1 + " >/dev/null && echo 'from a 4Kn disk' > " + dir.resolve("hello.txt")
                + " && mcopy -i " + p1 + " " + dir.resolve("hello.txt") + " ::/ && dd if=" + p1 + " of=" + img
                + " bs=4096 seek=256 conv=notrunc status=none");
        String list = RumpRun.expect(0, "part", "list", img.toString()).out();
        assertTrue(list.contains("gpt, 16384 sectors of 4096 bytes"), list);
        assertTrue(java.util.regex.Pattern.compile("(?m)^1\\s+256\\s+2303\\s+8.0M").matcher(list).find(), list);
        assertEquals(list, RumpRun.expect(0, "part", "list", "--sector-size", "4096", img.toString()).out());
        String as512 = RumpRun.expect(1, "part", "list", "--sector-size", "512", img.toString()).err();
        assertTrue(as512.contains("no EFI PART signature") && as512.contains("(EUCLEAN)"), as512);
        RumpRun.expect(2, "part", "list", "--sector-size", "1000", img.toString());
        String info = RumpRun.expect(0, "image", "info", img.toString()).out();
        assertTrue(info.contains("partition table: gpt, 2 partitions, sectors of 4096 bytes"), info);
        assertTrue(info.contains("  1: sectors 256-2303, 8.0M"), info);
        assertTrue(info.contains("     filesystem: vfat") || info.contains("     filesystem: fat"), info);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        FsCommand.Cat cat = new FsCommand.Cat();
        cat.sink = bytes;
        assertEquals(0, new picocli.CommandLine(cat).execute(img + ":1:/hello.txt"));
        assertEquals("from a 4Kn disk\n", bytes.toString(StandardCharsets.UTF_8));
        RumpRun.expect(0, "part", "add", img.toString(), "--size", "4M", "--name", "third");
        String added = RumpRun.expect(0, "part", "list", img.toString()).out();
        assertTrue(java.util.regex.Pattern.compile("(?m)^3\\s+4352\\s+5375\\s+4.0M").matcher(added).find(), added);
    }

    /**
     * An MBR whose partitions 1 and 2 overlap and whose 3 lies apart: listed, 1 and 2 marked bad;
     * opening them is refused, editing too, until one of them is deleted.
     */
    @Test
    void badPartitionsAreListedRefusedAndCanBeDeleted() throws Exception {
        Path img = dir.resolve("overlap.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(8L << 20);
            java.nio.ByteBuffer s = java.nio.ByteBuffer.allocate(512).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            long[][] entries = {{2048, 4096}, {4000, 100}, {8192, 2048}};
            for (int i = 0; i < 3; i++) {
                s.put(446 + 16 * i + 4, (byte) 0x83);
                s.putInt(446 + 16 * i + 8, (int) entries[i][0]);
                s.putInt(446 + 16 * i + 12, (int) entries[i][1]);
            }
            s.put(510, (byte) 0x55).put(511, (byte) 0xaa);
            f.write(s.array());
        }
        RumpRun list = RumpRun.expect(0, "part", "list", img.toString());
        assertTrue(list.out().contains("BAD: overlaps partition 2 (sectors 4000-4099)"), list.out());
        assertTrue(list.err().contains("rump: warning: ") && list.err().contains("overlap; neither can be opened"), list.err());
        String info = RumpRun.expect(0, "image", "info", img.toString()).out();
        assertTrue(info.contains("     not opened: overlaps partition 1 (sectors 2048-6143)"), info);
        String open = RumpRun.expect(1, "fs", "ls", img + ":2:/").err();
        assertTrue(open.contains("partition 2 (sectors 4000-4099) overlaps partition 1") && open.contains("(EUCLEAN)"), open);
        String add = RumpRun.expect(1, "part", "add", img.toString(), "--size", "1M").err();
        assertTrue(add.contains("cannot add a partition") && add.contains("delete it first"), add);
        RumpRun.expect(0, "part", "delete", img.toString(), "2");
        String after = RumpRun.expect(0, "part", "list", img.toString()).out();
        assertTrue(!after.contains("BAD") && java.util.regex.Pattern.compile("(?m)^1\\s+2048\\s+6143\\s").matcher(after).find(),
                after);
    }
}
