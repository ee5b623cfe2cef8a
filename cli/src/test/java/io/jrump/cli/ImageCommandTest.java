package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rump image} end to end, checked by qemu-img. */
class ImageCommandTest {
    @TempDir
    Path dir;

    private static String run(int expectedExit, String... args) {
        return RumpRun.expect(expectedExit, args).all();
    }

    /** A FAT image file of {@code kib} KiB made by mkfs.fat, labelled {@code label}. */
    private static void mkfsFat(String path, String label, int kib) throws Exception {
        Process p = new ProcessBuilder("mkfs.fat", "-C", "-n", label, path, Integer.toString(kib)).redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "mkfs.fat: " + out);
    }

    private static String qemuImg(int expectedExit, String... args) throws Exception {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "qemu-img";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(expectedExit, p.waitFor(), out);
        return out;
    }

    /** The line after the last '\r' of what a command wrote to stderr: its progress line's final state. */
    private static String lastProgress(RumpRun r) {
        return r.err().substring(r.err().lastIndexOf('\r') + 1).strip();
    }

    @Test
    void longCommandsShowProgressWhenAskedAndStayQuietOtherwise() throws Exception {
        String q = dir.resolve("q.qcow2").toString();
        qemuImg(0, "create", "-q", "-f", "qcow2", q, "64M");
        qemuImg(0, "snapshot", "-c", "first", q); // a snapshot's L1 table is walked too
        RumpRun check = RumpRun.expect(0, "image", "check", "--progress", q);
        assertTrue(lastProgress(check).matches("checking \\[#{20}\\] 100%  0:\\d\\d"), check.all());
        assertTrue(check.out().contains("No errors were found on the image"), check.all());
        assertEquals("", RumpRun.expect(0, "image", "check", q).err(), "not a terminal, not asked: quiet");

        String e4 = dir.resolve("e4.img").toString();
        Process p = new ProcessBuilder("mke2fs", "-q", "-F", "-t", "ext4", e4, "8M").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertEquals(0, p.waitFor());
        RumpRun fsck = RumpRun.expect(0, "fs", "fsck", "--progress", e4);
        assertTrue(lastProgress(fsck).matches("checking \\[#{20}\\] 100%  0:\\d\\d"), fsck.all());
        assertEquals("", RumpRun.expect(0, "fs", "fsck", e4).err());
        String fat = dir.resolve("fat.img").toString();
        mkfsFat(fat, "CARD", 4096);
        RumpRun fatFsck = RumpRun.expect(0, "fs", "fsck", "--progress", fat);
        assertTrue(lastProgress(fatFsck).matches("checking \\[#{20}\\] 100%  0:\\d\\d"), fatFsck.all());
        String exfat = dir.resolve("exfat.img").toString();
        try (RandomAccessFile f = new RandomAccessFile(exfat, "rw")) {
            f.setLength(8 << 20);
        }
        Process x = new ProcessBuilder("mkfs.exfat", exfat).redirectErrorStream(true).start();
        x.getInputStream().readAllBytes();
        assertEquals(0, x.waitFor(), "mkfs.exfat");
        RumpRun exfatFsck = RumpRun.expect(0, "fs", "fsck", "--progress", exfat);
        assertTrue(lastProgress(exfatFsck).matches("checking \\[#{20}\\] 100%  0:\\d\\d"), exfatFsck.all());

        RumpRun convert = RumpRun.expect(0, "image", "convert", "--progress", "-O", "qcow2", e4, dir.resolve("c.qcow2").toString());
        assertTrue(lastProgress(convert).matches("converting \\[#{20}\\] 100%  8\\.0M/8\\.0M  .*/s  0:\\d\\d"), convert.all());
        qemuImg(0, "compare", "-q", e4, dir.resolve("c.qcow2").toString());
    }

    @Test
    void createPartitionInspectCheckAndConvertAQcow2Image() throws Exception {
        String q = dir.resolve("disk.qcow2").toString();
        String raw = dir.resolve("disk.raw").toString();
        run(0, "image", "create", q, "--size", "64M", "--format", "qcow2");
        run(0, "part", "create", q, "--table", "gpt");
        run(0, "part", "add", q, "--size", "16M", "--name", "boot", "--type", "efi");
        String info = run(0, "image", "info", q);
        assertTrue(info.contains("format: qcow2") && info.contains("virtual size: 64.0M") && info.contains("'boot'"), info);
        assertTrue(run(0, "image", "check", q).contains("No errors were found"));
        qemuImg(0, "check", q);
        run(0, "image", "convert", q, raw);
        qemuImg(0, "compare", q, raw);
        assertTrue(run(0, "image", "info", raw).contains("format: raw"));
    }

    /** A container jrump does not read is named with its evidence, never shown or copied as a raw disk. */
    @Test
    void aQedImageIsNamedNotTakenForRaw() throws Exception {
        String qed = dir.resolve("disk.qed").toString();
        qemuImg(0, "create", "-f", "qed", qed, "16M");
        RumpRun info = RumpRun.of("image", "info", qed);
        assertTrue(info.out().contains("format: qed (QED magic \"QED\\0\" at byte 0)"), info.out());
        assertEquals(1, info.code());
        assertTrue(info.err().contains("qed images are not supported"), info.err());
        RumpRun convert = RumpRun.of("image", "convert", qed, dir.resolve("out.raw").toString());
        assertEquals(1, convert.code(), convert.out());
        assertTrue(convert.err().contains("qed images are not supported"), convert.err());
        RumpRun ls = RumpRun.of("fs", "ls", qed + ":/");
        assertEquals(1, ls.code());
        assertTrue(ls.err().contains("qed images are not supported"), ls.err());
    }

    /** A VHDX that qemu-img made from a FAT image: its format, and the filesystem inside, read. */
    @Test
    void aVhdxIsReadAndItsFilesystemListed() throws Exception {
        String fat = dir.resolve("fat.img").toString();
        String vhdx = dir.resolve("disk.vhdx").toString();
        mkfsFat(fat, "INVHDX", 16384);
        qemuImg(0, "convert", "-f", "raw", "-O", "vhdx", "-o", "subformat=dynamic,block_size=1M", fat, vhdx);
        String info = run(0, "image", "info", vhdx);
        assertTrue(info.contains("format: vhdx (VHDX file identifier \"vhdxfile\" at byte 0") && info.contains("label 'INVHDX'"),
                info);
        RumpRun ls = RumpRun.of("fs", "df", vhdx);
        assertEquals(0, ls.code(), ls.err());
        assertTrue(ls.out().contains("(vfat)"), ls.out());
        // Converted to raw, it is the disk qemu sees.
        String raw = dir.resolve("from-vhdx.raw").toString();
        run(0, "image", "convert", vhdx, raw);
        qemuImg(0, "compare", "-f", "vhdx", "-F", "raw", vhdx, raw);
    }

    /** A VHD that qemu-img made from a FAT image: its format, and the filesystem inside, read. */
    @Test
    void aVhdIsReadAndItsFilesystemListed() throws Exception {
        String fat = dir.resolve("fat.img").toString();
        String vhd = dir.resolve("disk.vhd").toString();
        mkfsFat(fat, "INVHD", 16384);
        qemuImg(0, "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", fat, vhd);
        String info = run(0, "image", "info", vhd);
        assertTrue(info.contains("format: vhd (VHD footer copy \"conectix\" at byte 0") && info.contains("label 'INVHD'"), info);
        RumpRun ls = RumpRun.of("fs", "df", vhd);
        assertEquals(0, ls.code(), ls.err());
        assertTrue(ls.out().contains("(vfat)"), ls.out());
        // Converted to raw, it is the disk qemu sees.
        String raw = dir.resolve("from-vhd.raw").toString();
        run(0, "image", "convert", vhd, raw);
        qemuImg(0, "compare", "-f", "vpc", "-F", "raw", vhd, raw);
    }

    @Test
    void checkExitsTwoOnCorruption() throws Exception {
        String q = dir.resolve("bad.qcow2").toString();
        qemuImg(0, "create", "-f", "qcow2", q, "4M");
        qemuImg(0, "check", q);
        try (RandomAccessFile f = new RandomAccessFile(q, "rw")) {
            f.seek(40);
            long l1 = f.readLong();
            f.seek(l1);
            f.writeLong((1L << 63) | 512); // an L2 table inside the header
        }
        String out = run(2, "image", "check", q);
        assertTrue(out.contains("ERROR"), out);
    }

    @Test
    void badArgumentsAreUsageErrors() {
        run(2, "image", "create", dir.resolve("x").toString(), "--size", "lots");
        run(2, "image", "create", dir.resolve("x").toString(), "--size", "1M", "--format", "vdx");
        String option = run(1, "image", "create", dir.resolve("y").toString(), "--size", "1M", "--format", "vdi",
                "-o", "cluster_size=64k");
        assertTrue(option.contains("vdi images take no option cluster_size"), option);
        String missing = run(1, "image", "info", dir.resolve("none.img").toString());
        assertTrue(missing.contains("(ENOENT)"), missing);
    }

    /** Every written format, converted into from a FAT disk and on into the next: each is the same disk to qemu-img. */
    @Test
    void convertBetweenEveryWrittenFormat() throws Exception {
        String fat = dir.resolve("fat.img").toString();
        mkfsFat(fat, "CHAIN", 20480);
        String previous = fat;
        String[][] chain = {{"vhd", "vpc", "subformat=fixed"}, {"vdi", "vdi", "subformat=static"},
            {"vhdx", "vhdx", "subformat=fixed"}, {"vhd", "vpc", "subformat=dynamic"}, {"vdi", "vdi", "subformat=dynamic"},
            {"vhdx", "vhdx", "subformat=dynamic"}, {"vmdk", "vmdk", "subformat=monolithicSparse"},
            {"vmdk", "vmdk", "subformat=streamOptimized"}, {"vmdk", "vmdk", "subformat=twoGbMaxExtentFlat"},
            {"qcow2", "qcow2", null}, {"raw", "raw", null}};
        for (int i = 0; i < chain.length; i++) {
            String[] step = chain[i];
            String out = dir.resolve("step" + i + "." + step[0]).toString();
            if (step[2] == null) {
                run(0, "image", "convert", "--format", step[0], previous, out);
            } else {
                run(0, "image", "convert", "-O", step[0], "-o", step[2], previous, out);
            }
            qemuImg(0, "compare", "-F", "raw", "-f", step[1], out, fat);
            String info = run(0, "image", "info", out);
            assertTrue(info.contains("format: " + step[0]) && info.contains("label 'CHAIN'"), info);
            if (step[2] != null) {
                assertTrue(info.contains("subformat: " + step[2].substring("subformat=".length())), info);
                String check = run(0, "image", "check", out);
                assertTrue(check.contains("No errors were found"), check);
            }
            if (!step[0].equals("raw") && !step[0].equals("vhd")) { // qemu-img checks these formats
                qemuImg(0, "check", "-f", step[1], out);
            }
            previous = out;
        }
    }

    /** {@code --format raw} takes a container as the bytes it is; a format that is not the file's is refused. */
    @Test
    void formatRawTakesAnyFileAsItsBytes() throws Exception {
        String vdi = dir.resolve("disk.vdi").toString();
        qemuImg(0, "create", "-f", "vdi", vdi, "4M");
        long fileSize = java.nio.file.Files.size(Path.of(vdi));
        String info = run(0, "image", "info", "--format", "raw", vdi);
        assertTrue(info.contains("format: raw (as given with --format; by its content it is vdi: VDI signature"), info);
        assertTrue(info.contains("virtual size: ") && info.contains("(" + fileSize / 512 * 512 + " bytes)"), info);
        String copy = dir.resolve("bytes.raw").toString();
        run(0, "image", "convert", "--source-format", "raw", vdi, copy);
        assertEquals(-1L, java.nio.file.Files.mismatch(Path.of(vdi), Path.of(copy)));
        RumpRun wrong = RumpRun.of("image", "info", "--format", "vhd", vdi);
        assertEquals(1, wrong.code());
        assertTrue(wrong.err().contains("the format given is vhd but the file is vdi"), wrong.err());
        RumpRun damaged = RumpRun.of("image", "check", vdi);
        assertEquals(0, damaged.code(), damaged.all());
        try (RandomAccessFile f = new RandomAccessFile(vdi, "rw")) {
            f.seek(0x178); // the block size: 3 bytes, not a power of two
            f.write(new byte[] {3, 0, 0, 0});
        }
        damaged = RumpRun.of("image", "check", vdi);
        assertEquals(2, damaged.code(), damaged.all());
        assertTrue(damaged.out().contains("block size 3"), damaged.out());
    }

    /** An MBR with an extended partition: the container is named, the logical partitions inside probed. */
    @Test
    void anExtendedPartitionIsShownAsTheContainerItIs() throws Exception {
        String img = dir.resolve("mbr.img").toString();
        try (RandomAccessFile f = new RandomAccessFile(img, "rw")) {
            f.setLength(64L << 20);
        }
        Process p = new ProcessBuilder("sfdisk", "-q", img).redirectErrorStream(true).start();
        p.getOutputStream().write("label: dos\n,16M,L\n,,E\n,16M,L\n".getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String sfdisk = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), sfdisk);
        String info = run(0, "image", "info", img);
        assertTrue(info.contains("extended partition: holds the logical partitions"), info);
        assertTrue(info.contains("  5: sectors"), info);
        assertTrue(!info.contains("EINVAL") && !info.contains("Invalid argument"), info);
    }

    /** A differencing VHD over a VHD of a FAT disk: files written into the child, the parent unchanged, 7-Zip agrees. */
    @Test
    void aDifferencingVhdTakesWritesAndLeavesItsParent() throws Exception {
        String fat = dir.resolve("fat.img").toString();
        mkfsFat(fat, "PARENT", 16384);
        String parent = dir.resolve("parent.vhd").toString();
        String child = dir.resolve("child.vhd").toString();
        run(0, "image", "convert", "-O", "vhd", fat, parent);
        long size = Long.parseLong(run(0, "image", "info", parent).replaceAll("(?s).*virtual size: [^(]*\\((\\d+) bytes\\).*", "$1"));
        run(0, "image", "create", child, "-O", "vhd", "--backing", "parent.vhd", "--size", Long.toString(size));
        String info = run(0, "image", "info", child);
        assertTrue(info.contains("subformat: differencing") && info.contains("parent: " + parent), info);
        java.nio.file.Path note = dir.resolve("note.txt");
        java.nio.file.Files.writeString(note, "only in the child\n");
        run(0, "fs", "cp", note.toString(), child + ":/NOTE.TXT");
        assertTrue(run(0, "fs", "ls", child + ":/").contains("NOTE.TXT"));
        assertTrue(!run(0, "fs", "ls", parent + ":/").contains("NOTE.TXT"), "the parent is unchanged");
        qemuImg(0, "compare", "-f", "vpc", "-F", "raw", parent, fat);
        // 7-Zip opens the child with its parent, and the FAT inside with its own reader: the file is there.
        java.nio.file.Path out = dir.resolve("7z");
        Process z = new ProcessBuilder("7zz", "e", "-y", "-o" + out, child).redirectErrorStream(true).start();
        String zout = new String(z.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, z.waitFor(), zout);
        assertEquals("only in the child\n", java.nio.file.Files.readString(out.resolve("NOTE.TXT")));
        RumpRun wrong = RumpRun.of("image", "create", dir.resolve("c2.vhd").toString(), "-O", "vhd", "--backing",
                "parent.vhd", "--size", "1M");
        assertEquals(1, wrong.code());
        assertTrue(wrong.err().contains("has its parent's size"), wrong.err());
    }
}
