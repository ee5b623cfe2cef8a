package io.jrump.blk.part;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.blk.Tool;
import io.jrump.blk.part.PartitionTable.Scheme;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
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
}
