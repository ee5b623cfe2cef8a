package io.jrump.blk.part;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.blk.Tool;
import io.jrump.blk.part.PartitionTable.Scheme;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Partition tables against util-linux's sfdisk and gdisk's sgdisk: tables they write read back as
 * {@code sfdisk --json} lists them, and tables we write pass {@code sgdisk -v} and
 * {@code sfdisk --verify} and list as we wrote them.
 */
class PartitionInteropTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("part-interop");

    @AfterEach
    void close() {
        host.close();
    }

    /** {@code sfdisk --json IMG} reduced to one line per partition: start size type [uuid] [name]. */
    private static List<String> sfdiskList(Path img) {
        String json = Tool.ok("sfdisk", "--json", img.toString());
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("\\{[^{}]*\"node\"[^{}]*\\}").matcher(json);
        while (m.find()) {
            String o = m.group();
            out.add(field(o, "start") + " " + field(o, "size") + " " + field(o, "type").toLowerCase()
                    + " " + field(o, "uuid") + " " + field(o, "name"));
        }
        return out;
    }

    private static String field(String obj, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":\\s*\"?([^\",}]*)\"?").matcher(obj);
        return m.find() ? m.group(1).trim() : "";
    }

    private static List<String> ours(PartitionTable t) {
        List<String> out = new ArrayList<>();
        for (Partition p : t.partitions()) {
            out.add(p.firstLba() + " " + p.sectors() + " " + p.type().toLowerCase() + " "
                    + (p.uuid() == null ? "" : p.uuid()) + " " + p.name());
        }
        return out;
    }

    private PartitionTable read(Path img) throws Exception {
        try (HostDisk disk = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            return PartitionTable.read(disk);
        }
    }

    /**
     * Fixture: {@code truncate -s 64M t.img; printf 'label: gpt\n size=8MiB, type=linux,
     * name="root fs"\n size=4MiB, type=uefi, name=esp\n type=swap\n' | sfdisk t.img}.
     */
    @Test
    void gptWrittenBySfdiskReadsAsSfdiskListsIt() throws Exception {
        Path img = dir.resolve("t.img");
        Tool.sh("truncate -s 64M " + img + " && printf 'label: gpt\\nsize=8MiB, type=linux, name=\"root fs\"\\n"
                + "size=4MiB, type=uefi, name=esp\\ntype=swap\\n' | sfdisk -q " + img);
        PartitionTable t = read(img);
        assertEquals(Scheme.GPT, t.scheme());
        assertEquals(sfdiskList(img), ours(t));
        assertEquals("root fs", t.partitions().get(0).name());
        assertEquals("efi", t.partitions().get(1).typeName());
        assertTrue(t.warnings().isEmpty(), t.warnings().toString());
    }

    /** Fixture: sgdisk -o -n 1:0:+10M -c 1:boot -t 1:ef00 -n 2:0:+20M -c 2:data -t 2:8300 IMG. */
    @Test
    void gptWrittenBySgdiskReadsAsSfdiskListsIt() throws Exception {
        Path img = dir.resolve("s.img");
        Tool.ok("truncate", "-s", "100M", img.toString());
        Tool.ok("sgdisk", "-o", "-n", "1:0:+10M", "-c", "1:boot", "-t", "1:ef00", "-n", "2:0:+20M", "-c", "2:data",
                "-t", "2:8300", img.toString());
        assertEquals(sfdiskList(img), ours(read(img)));
    }

    /**
     * Fixture: {@code printf 'label: dos\n m.img1 : size=8MiB, type=83\n m.img2 : size=30MiB,
     * type=5\n m.img5 : size=4MiB, type=83\n m.img6 : size=4MiB, type=82\n m.img3 : size=4MiB,
     * type=c\n' | sfdisk m.img} — primaries, an extended partition and two logicals.
     */
    @Test
    void mbrWithLogicalPartitionsWrittenBySfdiskReadsAsSfdiskListsIt() throws Exception {
        Path img = dir.resolve("m.img");
        Tool.sh("truncate -s 64M " + img + " && printf 'label: dos\\n" + img + "1 : size=8MiB, type=83\\n"
                + img + "2 : size=30MiB, type=5\\n" + img + "5 : size=4MiB, type=83\\n" + img + "6 : size=4MiB, type=82\\n"
                + img + "3 : size=4MiB, type=c\\n' | sfdisk -q " + img);
        PartitionTable t = read(img);
        assertEquals(Scheme.MBR, t.scheme());
        List<String> expected = sfdiskList(img);
        List<String> got = ours(t);
        expected.sort(null);
        got.sort(null);
        assertEquals(expected, got);
        assertEquals(5, t.partitions().size());
        assertTrue(t.partition(6).isPresent());
    }

    @Test
    void gptWeWriteIsAcceptedBySgdiskAndSfdiskAndListsAsWritten() throws Exception {
        Path img = dir.resolve("ours.img");
        try (HostDisk disk = HostDisk.create(host, img.toString(), 200L << 20)) {
            PartitionEditor ed = PartitionEditor.create(disk, Scheme.GPT, host.random());
            ed.add(64L << 20, "efi", "EFI system", -1);
            ed.add(100L << 20, "linux", "root", -1);
            ed.add(0, "swap", "", -1);
            ed.write();
        }
        String v = Tool.ok("sgdisk", "-v", img.toString());
        assertTrue(v.contains("No problems found"), v);
        Tool.ok("sfdisk", "--verify", img.toString());
        PartitionTable t = read(img);
        assertEquals(sfdiskList(img), ours(t));
        assertEquals(List.of(2048L, 2048L + (64 << 11), 2048L + (164 << 11)),
                t.partitions().stream().map(Partition::firstLba).toList());
        assertEquals("root", t.partitions().get(1).name());
        String sg = Tool.ok("sgdisk", "-i", "2", img.toString());
        assertTrue(sg.contains("Partition name: 'root'"), sg);
    }

    @Test
    void mbrWeWriteIsAcceptedBySfdiskAndListsAsWritten() throws Exception {
        Path img = dir.resolve("ours-mbr.img");
        try (HostDisk disk = HostDisk.create(host, img.toString(), 64L << 20)) {
            PartitionEditor ed = PartitionEditor.create(disk, Scheme.MBR, host.random());
            ed.add(16L << 20, "fat32", "", -1);
            ed.add(0, "linux", "", -1);
            ed.write();
        }
        String v = Tool.ok("sfdisk", "--verify", img.toString());
        assertTrue(v.contains("No errors detected"), v);
        assertEquals(sfdiskList(img), ours(read(img)));
    }

    @Test
    void editsOfAnExistingTableKeepItValid() throws Exception {
        Path img = dir.resolve("edit.img");
        Tool.ok("truncate", "-s", "100M", img.toString());
        Tool.ok("sgdisk", "-o", "-n", "1:0:+10M", "-n", "2:0:+20M", "-n", "3:0:+5M", img.toString());
        try (HostDisk disk = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            PartitionEditor ed = PartitionEditor.open(disk, host.random());
            ed.delete(2);
            ed.resize(1, 25L << 20);
            ed.setName(3, "renamed");
            ed.setType(3, "linux");
            ed.write();
        }
        assertTrue(Tool.ok("sgdisk", "-v", img.toString()).contains("No problems found"));
        PartitionTable t = read(img);
        assertEquals(sfdiskList(img), ours(t));
        assertEquals(25L << 20, t.partition(1).orElseThrow().sizeBytes(512));
        assertTrue(t.partition(2).isEmpty());
        assertEquals("renamed", t.partition(3).orElseThrow().name());
    }

    @Test
    void aDamagedPrimaryGptIsReadFromTheBackupWithAWarning() throws Exception {
        Path img = dir.resolve("damaged.img");
        Tool.ok("truncate", "-s", "64M", img.toString());
        Tool.ok("sgdisk", "-o", "-n", "1:0:+10M", "-c", "1:keep", img.toString());
        List<String> before = sfdiskList(img);
        try (HostDisk disk = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            ByteBuffer lba1 = ByteBuffer.allocate(512);
            disk.read(512, lba1);
            lba1.put(40, (byte) (lba1.get(40) ^ 0x01)); // first_usable_lba: the header CRC no longer matches
            disk.write(512, lba1);
            PartitionTable t = PartitionTable.read(disk);
            assertEquals(before, ours(t));
            assertEquals(1, t.warnings().size());
            assertTrue(t.warnings().get(0).contains("GPT header at LBA 1: CRC"), t.warnings().get(0));
            assertTrue(t.warnings().get(0).contains("using the backup GPT"), t.warnings().get(0));
            BlockDevice p1 = Partitions.openByName(disk, "keep");
            assertEquals(10L << 20, p1.size());
        }
    }

    /**
     * {@code fdisk -b SS -l} (util-linux; sfdisk 2.38 has no {@code --sector-size}) reduced to one
     * line per partition as {@link #ours}: start size type uuid name.
     */
    private static List<String> fdiskList(Path img, int sectorSize) {
        String out = Tool.ok("fdisk", "-b", Integer.toString(sectorSize), "-l", "-o", "Start,Sectors,Type-UUID,UUID,Name",
                img.toString());
        List<String> rows = new ArrayList<>();
        boolean table = false;
        for (String line : out.split("\n")) {
            if (line.trim().startsWith("Start ")) {
                table = true;
            } else if (table && line.trim().matches("\\d+\\s+\\d+\\s+\\S+\\s+\\S+.*")) {
                String[] f = line.trim().split("\\s+", 5);
                rows.add(f[0] + " " + f[1] + " " + f[2].toLowerCase() + " " + f[3] + " " + (f.length > 4 ? f[4] : ""));
            }
        }
        return rows;
    }

    /** {@code sgdisk -p IMG} reduced to "number first last" per partition. */
    private static List<String> sgdiskList(Path img) {
        List<String> rows = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s").matcher(Tool.ok("sgdisk", "-p", img.toString()));
        while (m.find()) {
            rows.add(m.group(1) + " " + m.group(2) + " " + m.group(3));
        }
        return rows;
    }

    private static List<String> numbered(PartitionTable t) {
        return t.partitions().stream().map(p -> p.number() + " " + p.firstLba() + " " + p.lastLba()).toList();
    }

    /**
     * Fixture: {@code truncate -s 64M n.img}, then {@code fdisk -b 4096 n.img} with the script
     * {@code g n 1 +8M n 2 +8M t 2 1 x n 1 root r w}: a GPT of 4096-byte sectors, the header at
     * byte 4096, partitions at LBA 256 and 2304. Read from the plain image (a device of 512-byte
     * sectors) it lists as {@code fdisk -b 4096 -l} does.
     */
    private Path fourKn() {
        Path img = dir.resolve("n.img");
        Tool.sh("truncate -s 64M " + img + " && printf 'g\\nn\\n1\\n\\n+8M\\nn\\n2\\n\\n+8M\\nt\\n2\\n1\\nx\\nn\\n1\\nroot\\nr\\nw\\n'"
                + " | fdisk -b 4096 " + img + " >/dev/null");
        return img;
    }

    @Test
    void a4096ByteSectorGptWrittenByFdiskReadsAsFdiskListsIt() throws Exception {
        Path img = fourKn();
        PartitionTable t = read(img);
        assertEquals(4096, t.sectorSize());
        List<String> expected = fdiskList(img, 4096);
        assertEquals(2, expected.size(), expected.toString());
        assertEquals(expected, ours(t));
        assertEquals(256, t.partition(1).orElseThrow().firstLba());
        assertEquals("root", t.partition(1).orElseThrow().name());
        assertTrue(t.warnings().isEmpty(), t.warnings().toString());
    }

    /**
     * Fixture as {@link #fourKn()}, then partition 1 cut out ({@code dd bs=4096 skip=256
     * count=2048}), {@code mkfs.vfat -S 4096} on it, a file put in with {@code mcopy}, and put
     * back: the partition we open is that filesystem, byte for byte.
     */
    @Test
    void aFilesystemMadeInA4096ByteSectorPartitionIsWhereThePartitionOpens() throws Exception {
        Path img = fourKn();
        Path p1 = dir.resolve("p1");
        Tool.sh("dd if=" + img + " of=" + p1 + " bs=4096 skip=256 count=2048 status=none && mkfs.vfat -S 4096 -n FOURK " + p1
                + " >/dev/null && echo hi > " + dir.resolve("hello.txt") + " && mcopy -i " + p1 + " " + dir.resolve("hello.txt")
                + " ::/ && dd if=" + p1 + " of=" + img + " bs=4096 seek=256 conv=notrunc status=none");
        byte[] expected = java.nio.file.Files.readAllBytes(p1);
        try (HostDisk disk = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            BlockDevice part = Partitions.open(disk, 1);
            assertEquals(expected.length, part.size());
            ByteBuffer got = ByteBuffer.allocate(expected.length);
            part.read(0, got);
            assertTrue(java.util.Arrays.equals(expected, got.array()), "partition 1 is not the vfat made for it");
            assertEquals(4096, ByteBuffer.wrap(got.array()).order(java.nio.ByteOrder.LITTLE_ENDIAN).getShort(11));
        }
    }

    /** A 4Kn GPT we write on an image file lists in fdisk -b 4096 as we wrote it, without complaint. */
    @Test
    void a4096ByteSectorGptWeWriteIsTheOneFdiskReads() throws Exception {
        Path img = dir.resolve("ours4k.img");
        try (HostDisk disk = HostDisk.create(host, img.toString(), 64L << 20)) {
            PartitionEditor ed = PartitionEditor.create(disk, Scheme.GPT, 4096, host.random());
            ed.add(16L << 20, "efi", "esp", -1);
            ed.add(0, "linux", "root", -1);
            ed.write();
        }
        String all = Tool.ok("fdisk", "-b", "4096", "-l", img.toString());
        assertTrue(all.contains("Disklabel type: gpt") && !all.contains("corrupt") && !all.contains("differ")
                && !all.contains("mismatch"), all);
        PartitionTable t = read(img);
        assertEquals(fdiskList(img, 4096), ours(t));
        assertEquals(List.of(256L, 256L + 4096), t.partitions().stream().map(Partition::firstLba).toList());
    }

    /** sgdisk's image with the primary header's entry count set to 0 and its CRCs fixed. */
    private Path primaryWithNoEntries() throws Exception {
        Path img = dir.resolve("zero.img");
        Tool.ok("truncate", "-s", "16M", img.toString());
        Tool.ok("sgdisk", "-o", "-n", "1:0:+2M", "-c", "1:a", "-n", "2:0:+2M", "-c", "2:b", img.toString());
        try (HostDisk disk = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            ByteBuffer h = ByteBuffer.allocate(512).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            disk.read(512, h);
            h.putInt(80, 0);
            h.putInt(88, 0); // CRC32 of no bytes
            h.putInt(16, 0);
            h.putInt(16, GptCodec.crc(h, 0, 92, 16));
            disk.write(512, h);
        }
        return img;
    }

    /**
     * A primary GPT whose CRCs check but that has no entries, while the backup lists two
     * partitions: sfdisk says the primary is corrupt and uses the backup, sgdisk lists the
     * backup's two; so do we, with a warning.
     */
    @Test
    void aPrimaryGptWithNoEntriesGivesWayToTheBackupAsSfdiskAndSgdiskDo() throws Exception {
        Path img = primaryWithNoEntries();
        PartitionTable t = read(img);
        assertEquals(sfdiskList(img), ours(t));
        assertEquals(sgdiskList(img), numbered(t));
        assertEquals(2, t.partitions().size());
        assertTrue(t.warnings().get(0).contains("the primary GPT (LBA 1) has no partition entries but the backup (LBA 32767)"
                + " lists 2 partitions"), t.warnings().toString());
        String sgdiskV = Tool.run("sgdisk", "-v", img.toString()).out();
        assertTrue(sgdiskV.contains("Main and backup partition tables differ"), sgdiskV);
    }

    /** Both copies sound but different (entry 2 dropped from the primary): the primary is used, as sfdisk and sgdisk do. */
    @Test
    void differingGptCopiesAreReadFromThePrimaryAsSfdiskAndSgdiskDo() throws Exception {
        Path img = dir.resolve("differ.img");
        Tool.ok("truncate", "-s", "16M", img.toString());
        Tool.ok("sgdisk", "-o", "-n", "1:0:+2M", "-c", "1:a", "-n", "2:0:+2M", img.toString());
        try (HostDisk disk = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            ByteBuffer arr = ByteBuffer.allocate(128 * 128);
            disk.read(1024, arr);
            arr.put(128, new byte[128]);
            disk.write(1024, arr);
            ByteBuffer h = ByteBuffer.allocate(512).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            disk.read(512, h);
            h.putInt(88, GptCodec.crc(arr, 0, 128 * 128, -1));
            h.putInt(16, 0);
            h.putInt(16, GptCodec.crc(h, 0, 92, 16));
            disk.write(512, h);
        }
        PartitionTable t = read(img);
        assertEquals(sfdiskList(img), ours(t));
        assertEquals(sgdiskList(img), numbered(t));
        assertEquals(1, t.partitions().size());
        assertTrue(t.warnings().get(0).contains("differ: the primary lists 1 partitions, the backup 2; using the primary"),
                t.warnings().toString());
    }

    /**
     * Fixture: {@code printf 'label: gpt\nsize=8MiB\nsize=8MiB\nsize=40MiB\n' | sfdisk} on 64
     * MiB, then {@code truncate -s 40M}: sgdisk still lists the three partitions (sfdisk refuses
     * the GPT and shows its protective MBR); we list the three, the third marked bad, and open
     * the first two.
     */
    @Test
    void aTruncatedGptImageListsAsSgdiskListsItWithTheCutPartitionBad() throws Exception {
        Path img = dir.resolve("cut.img");
        Tool.sh("truncate -s 64M " + img + " && printf 'label: gpt\\nsize=8MiB\\nsize=8MiB\\nsize=40MiB\\n' | sfdisk -q " + img
                + " && truncate -s 40M " + img);
        try (HostDisk disk = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            PartitionTable t = PartitionTable.read(disk);
            assertEquals(sgdiskList(img), numbered(t));
            assertEquals(List.of(false, false, true), t.partitions().stream().map(Partition::isBad).toList());
            assertEquals(8L << 20, Partitions.open(disk, 2).size());
            ErrnoException e = assertThrows(ErrnoException.class, () -> Partitions.open(disk, 3));
            assertEquals(Errno.EUCLEAN, e.errno());
            assertTrue(e.getMessage().contains("partition 3 (sectors 34816-116735) runs past the end of the disk (its last"
                    + " sector is 81919)"), e.getMessage());
        }
    }

    /**
     * An MBR whose partitions 1 (2048+4096) and 2 (4000+100) overlap and 3 (8192+2048) is apart:
     * sfdisk lists all three and {@code sfdisk --verify} says "Partition 1: overlaps partition 2";
     * we list the three, 1 and 2 marked bad, and open 3.
     */
    @Test
    void overlappingMbrPartitionsListAsSfdiskListsThemAndTheOtherOpens() throws Exception {
        Path img = dir.resolve("overlap.img");
        try (HostDisk disk = HostDisk.create(host, img.toString(), 8L << 20)) {
            ByteBuffer s = ByteBuffer.allocate(512).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            long[][] entries = {{2048, 4096}, {4000, 100}, {8192, 2048}};
            for (int i = 0; i < 3; i++) {
                s.put(446 + 16 * i + 4, (byte) 0x83);
                s.putInt(446 + 16 * i + 8, (int) entries[i][0]);
                s.putInt(446 + 16 * i + 12, (int) entries[i][1]);
            }
            s.put(510, (byte) 0x55).put(511, (byte) 0xaa);
            disk.write(0, s);
        }
        Tool.Result verify = Tool.run("sfdisk", "--verify", img.toString());
        assertTrue(verify.out().contains("Partition 1: overlaps partition 2"), verify.out());
        try (HostDisk disk = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            PartitionTable t = PartitionTable.read(disk);
            assertEquals(sfdiskList(img), ours(t));
            assertEquals(List.of(true, true, false), t.partitions().stream().map(Partition::isBad).toList());
            assertEquals(2048L * 512, Partitions.open(disk, 3).size());
            assertEquals(Errno.EUCLEAN, assertThrows(ErrnoException.class, () -> Partitions.open(disk, 1)).errno());
        }
    }
}
