package io.jrump.fs.ext;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Filesystems made by {@link Mkfs} are clean to {@code e2fsck -fn}, described by {@code dumpe2fs}
 * as asked, readable by {@link ExtFs}, and writable by {@code debugfs} without damage.
 */
class MkfsTest {
    private static final String EXT2_FEATURES = "ext_attr resize_inode dir_index filetype sparse_super large_file";
    private static final String EXT4_FEATURES = "has_journal ext_attr resize_inode dir_index filetype extent 64bit flex_bg "
            + "sparse_super large_file huge_file dir_nlink extra_isize metadata_csum";
    private static final byte[] UUID = {0x1b, (byte) 0x87, (byte) 0xd8, (byte) 0x9e, (byte) 0xe4, 0x19, 0x45, 0x41,
        (byte) 0x98, (byte) 0xfe, (byte) 0xce, 0x55, (byte) 0x9b, (byte) 0xe3, (byte) 0xa6, 0x1a};

    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("mkfs");

    @AfterEach
    void close() {
        host.close();
    }

    private static int exec(StringBuilder out, String... cmd) throws Exception {
        return ExtTools.exec(out, cmd);
    }

    private static String run(String... cmd) throws Exception {
        return ExtTools.run(cmd);
    }

    /** An image of {@code mib} MiB full of 0xA5, so that nothing relies on a zeroed device. */
    private Path image(String name, long bytes) throws Exception {
        Path img = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(bytes);
            byte[] junk = new byte[1 << 20];
            Arrays.fill(junk, (byte) 0xA5);
            for (long at = 0; at < Math.min(bytes, 8L << 20); at += junk.length) {
                f.seek(at);
                f.write(junk, 0, (int) Math.min(junk.length, bytes - at));
            }
        }
        return img;
    }

    private Path format(Mkfs.Options o, long bytes) throws Exception {
        return format(o, bytes, 512);
    }

    private Path format(Mkfs.Options o, long bytes, int sectorSize) throws Exception {
        Path img = image("fs.img", bytes);
        try (BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE, sectorSize)) {
            Mkfs.format(dev, o);
        }
        return img;
    }

    private static Mkfs.Options options(String spec) {
        String[] p = spec.split(":");
        Mkfs.Type type = p[0].equals("ext2") ? Mkfs.Type.EXT2 : Mkfs.Type.EXT4;
        Mkfs.Options o = Mkfs.Options.defaults(type, UUID, System.currentTimeMillis() / 1000 - 60)
                .withBlockSize(Integer.parseInt(p[1])).withLabel("jrump-" + p[0]);
        return p.length > 3 ? o.withInodeSize(Integer.parseInt(p[3])) : o;
    }

    private static void assertClean(Path img) throws Exception {
        StringBuilder out = new StringBuilder();
        int rc = exec(out, "e2fsck", "-fn", img.toString());
        assertEquals(0, rc, out.toString());
        assertFalse(out.toString().contains("Fix") || out.toString().contains("corrupt"), out.toString());
    }

    private static long field(String dump, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + ":\\s+(\\d+)").matcher(dump);
        assertTrue(m.find(), name + " in\n" + dump);
        return Long.parseLong(m.group(1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"ext2:1024:16", "ext2:2048:64", "ext2:4096:300", "ext2:1024:64:128", "ext2:4096:16:128",
        "ext4:1024:16", "ext4:2048:64", "ext4:4096:16", "ext4:4096:300", "ext4:1024:300", "ext4:2048:300"})
    void makesACleanFilesystemAsAsked(String spec) throws Exception {
        Mkfs.Options o = options(spec);
        long bytes = Long.parseLong(spec.split(":")[2]) << 20;
        Path img = format(o, bytes);
        assertClean(img);

        String dump = run("dumpe2fs", "-h", img.toString());
        assertTrue(dump.contains("Filesystem volume name:   " + o.label() + "\n"), dump);
        assertEquals(o.blockSize(), field(dump, "Block size"), dump);
        assertEquals(o.inodeSize(), field(dump, "Inode size"), dump);
        Matcher f = Pattern.compile("Filesystem features:\\s+(.*)").matcher(dump);
        assertTrue(f.find(), dump);
        String want = o.type() == Mkfs.Type.EXT2 ? EXT2_FEATURES : EXT4_FEATURES;
        assertEquals(new TreeSet<>(List.of(want.split(" "))), new TreeSet<>(List.of(f.group(1).trim().split(" "))));
        assertTrue(dump.contains("Filesystem state:         clean"), dump);

        try (BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)) {
            ExtFs fs = ExtFs.open(dev);
            Set<String> names = new TreeSet<>();
            names.addAll(ExtPaths.of(fs).names("/"));
            assertEquals(Set.of(".", "..", "lost+found"), names);
            io.jrump.kernel.sys.StatVfs st = new ExtVfs(fs).statvfs();
            assertEquals(field(dump, "Block count"), st.blocks());
            assertEquals(field(dump, "Inode count"), st.files());
            assertEquals(field(dump, "Free blocks"), st.freeBlocks());
            assertEquals(field(dump, "Free inodes"), st.freeFiles());
            assertTrue(st.blocks() <= bytes / o.blockSize() && st.blocks() > bytes / o.blockSize() * 9 / 10);
            assertEquals(o.type() == Mkfs.Type.EXT2 ? "ext2" : "ext4", fs.type());
        }
        if (o.type() == Mkfs.Type.EXT4) {
            String j = run("dumpe2fs", "-h", img.toString());
            assertTrue(j.contains("Journal inode:            8"), j);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ext2:1024:16", "ext2:4096:64", "ext4:1024:16", "ext4:4096:64", "ext4:2048:300"})
    void aForeignWriterKeepsItClean(String spec) throws Exception {
        Mkfs.Options o = options(spec);
        Path img = format(o, Long.parseLong(spec.split(":")[2]) << 20);
        Path file = dir.resolve("hello.txt");
        String text = "hello from debugfs\n".repeat(100_000); // 1.9 MB: many blocks, past group 0 on 1 KiB blocks
        java.nio.file.Files.writeString(file, text);
        run("debugfs", "-w", "-R", "write " + file + " hello", img.toString());
        run("debugfs", "-w", "-R", "mkdir /sub", img.toString());
        assertClean(img);
        String cat = run("debugfs", "-R", "cat /hello", img.toString());
        assertTrue(cat.contains(text), cat.substring(0, Math.min(cat.length(), 2000)));
    }

    @Test
    void badOptionsAreRefusedNamingTheOption() throws Exception {
        Mkfs.Options o = options("ext4:4096:16");
        assertEinval(o.withBlockSize(8192), "block size");
        assertEinval(o.withInodeSize(512), "inode size");
        assertEinval(o.withLabel("a label far longer than sixteen"), "label");
        assertEinval(o.withUuid(new byte[3]), "uuid");
        assertEinval(o.withReservedPercent(90), "reserved");
    }

    private void assertEinval(Mkfs.Options o, String named) throws Exception {
        Path img = image("bad.img", 16 << 20);
        try (BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> Mkfs.format(dev, o));
            assertEquals(Errno.EINVAL, e.errno());
            assertTrue(e.getMessage().contains(named), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ext2:1024:32768", "ext4:4096:4194304", "ext4:1024:1048576"})
    void aTooSmallDeviceIsRefused(String spec) throws Exception {
        Mkfs.Options o = options(spec);
        Path img = image("small.img", Long.parseLong(spec.split(":")[2]));
        try (BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> Mkfs.format(dev, o));
            assertTrue(e.errno() == Errno.EINVAL || e.errno() == Errno.ENOSPC, e.toString());
            assertTrue(e.getMessage().contains("small") || e.getMessage().contains("room"), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ext2:1024:16", "ext4:1024:16", "ext4:2048:64"})
    void blocksSmallerThanTheSectorAreMergedIntoIt(String spec) throws Exception {
        Path img = format(options(spec), Long.parseLong(spec.split(":")[2]) << 20, 4096);
        assertClean(img);
    }

    @Test
    void theSmallestDevicesAreClean() throws Exception {
        assertClean(format(options("ext2:1024:0").withBytesPerInode(4096), 64 << 10));
        assertClean(format(options("ext4:1024:0"), 2 << 20));
        assertClean(format(options("ext4:4096:0"), 8 << 20));
    }
}
