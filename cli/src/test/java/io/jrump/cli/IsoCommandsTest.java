package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rump image info} and {@code rump fs ls/cat/stat/cp} on ISO9660 images made by xorriso: a
 * hybrid image (an MBR partition table and El Torito BIOS and UEFI entries, {@code -isohybrid-mbr}
 * with a 432-byte dummy MBR template and {@code -isohybrid-gpt-basdat}) is listed both as a
 * partition table and as an iso9660 volume, and read as one without extra flags. A missing
 * xorriso fails the test.
 */
class IsoCommandsTest {
    @TempDir
    Path dir;
    private Path tree;
    private byte[] data;

    @BeforeEach
    void tree() throws Exception {
        tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("docs/deeper"));
        Files.writeString(tree.resolve("hello.txt"), "hello from an iso\n");
        data = new byte[300_000];
        new Random(9).nextBytes(data);
        Files.write(tree.resolve("docs/deeper/data.bin"), data);
        Files.createSymbolicLink(tree.resolve("link"), Path.of("hello.txt"));
        Files.write(tree.resolve("boot.img"), new byte[2048]);
        Files.write(tree.resolve("efi.img"), new byte[1440 * 1024]);
        Files.write(dir.resolve("mbr.bin"), new byte[432]);
    }

    private static void exec(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", cmd));
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + "\n" + out);
    }

    private Path hybrid() throws Exception {
        Path img = dir.resolve("hybrid.iso");
        exec("xorriso", "-as", "mkisofs", "-R", "-J", "-V", "HYBRID", "-b", "boot.img", "-no-emul-boot",
                "-boot-load-size", "4", "-eltorito-alt-boot", "-e", "efi.img", "-no-emul-boot",
                "-isohybrid-mbr", dir.resolve("mbr.bin").toString(), "-isohybrid-gpt-basdat",
                "-o", img.toString(), tree.toString());
        return img;
    }

    @Test
    void imageInfoListsThePartitionTableTheIsoVolumeAndItsBootEntries() throws Exception {
        String info = RumpRun.expect(0, "image", "info", hybrid().toString()).all();
        // xorriso's first MBR entry, over the whole ISO, has type 0 and so counts as unused; the EFI one is listed.
        assertTrue(info.contains("partition table: mbr, 1 partitions"), info);
        assertTrue(info.contains("  2: sectors 140-3019, 1.4M, efi"), info);
        assertTrue(info.contains("filesystem: iso9660, volume 'HYBRID', "), info);
        assertTrue(info.contains("blocks of 2048 bytes, Rock Ridge, Joliet, El Torito bootable (2 entries: x86 BIOS, UEFI)"),
                info);
        assertTrue(info.contains("  boot entry 1: x86 BIOS, bootable, no emulation, load segment 0x7c0 (default), "
                + "4 sectors of 512 bytes at block "), info);
        assertTrue(info.contains("  boot entry 2: UEFI, bootable, no emulation"), info);
    }

    /** With -appended_part_as_gpt xorriso writes a GPT: the ISO as partitions 1 and 2, the appended EFI image as 3. */
    @Test
    void gptHybridListsItsPartitionsAndReadsWhole() throws Exception {
        Path efi = dir.resolve("efipart.img");
        Files.write(efi, new byte[1440 * 1024]);
        Path img = dir.resolve("gpt-hybrid.iso");
        exec("xorriso", "-as", "mkisofs", "-R", "-J", "-V", "GPTHYB", "-b", "boot.img", "-no-emul-boot",
                "-boot-load-size", "4", "-eltorito-alt-boot", "-e", "efi.img", "-no-emul-boot",
                "-isohybrid-mbr", dir.resolve("mbr.bin").toString(), "-isohybrid-gpt-basdat",
                "-append_partition", "2", "0xef", efi.toString(), "-appended_part_as_gpt",
                "-o", img.toString(), tree.toString());
        String info = RumpRun.expect(0, "image", "info", img.toString()).all();
        assertTrue(info.contains("partition table: gpt, 3 partitions"), info);
        assertTrue(info.contains("  1: sectors 0-"), info);
        assertTrue(info.contains("accepted: an isohybrid image, whose partitions cover its ISO9660 volume"), info);
        assertTrue(info.contains("filesystem: iso9660, volume 'GPTHYB'"), info);
        assertTrue(info.contains("  boot entry 2: UEFI, bootable"), info);
        String ls = RumpRun.expect(0, "fs", "ls", img + ":/").all();
        assertTrue(ls.contains("hello.txt") && ls.contains("docs"), ls);
    }

    /** Plain -isohybrid-mbr: one MBR entry of type 0x17 from sector 0 over the whole ISO, accepted with a warning. */
    @Test
    void mbrHybridEntryFromSectorZeroIsListed() throws Exception {
        Path img = dir.resolve("mbr-hybrid.iso");
        exec("xorriso", "-as", "mkisofs", "-R", "-b", "boot.img", "-no-emul-boot", "-isohybrid-mbr",
                dir.resolve("mbr.bin").toString(), "-o", img.toString(), tree.toString());
        String info = RumpRun.expect(0, "image", "info", img.toString()).all();
        assertTrue(info.contains("partition table: mbr, 1 partitions"), info);
        assertTrue(info.contains("  1: sectors 0-"), info);
        assertTrue(info.contains("     filesystem: iso9660"), info);
        assertTrue(info.contains("filesystem: iso9660, "), info);
    }

    @Test
    void fsCommandsReadTheWholeHybridImageAsIso9660() throws Exception {
        String img = hybrid().toString();
        String ls = RumpRun.expect(0, "fs", "ls", "-l", img + ":/").all();
        assertTrue(ls.contains("hello.txt") && ls.contains("link -> hello.txt") && ls.contains("docs"), ls);
        assertTrue(RumpRun.expect(0, "fs", "ls", "-R", img + ":/docs").all().contains("data.bin"));
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        FsCommand.Cat cat = new FsCommand.Cat();
        cat.sink = bytes;
        assertEquals(0, new picocli.CommandLine(cat).execute(img + ":/link"));
        assertEquals("hello from an iso\n", bytes.toString(StandardCharsets.UTF_8));
        assertTrue(RumpRun.expect(0, "fs", "stat", img + ":/docs/deeper/data.bin").all().contains("Size: 300000"));
        Path out = dir.resolve("out");
        RumpRun.expect(0, "fs", "cp", "-r", img + ":/docs", out.toString());
        assertArrayEquals(data, Files.readAllBytes(out.resolve("deeper/data.bin")));
        String rm = RumpRun.expect(1, "fs", "rm", img + ":/hello.txt").all();
        assertTrue(rm.contains("EROFS") || rm.contains("Read-only"), rm);
        assertTrue(List.of(RumpRun.expect(0, "fs", "df", img + ":/").all().split("\n")).stream()
                .anyMatch(l -> l.contains("iso9660") || l.contains("2048")), "df answers");
    }
}
