package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtTools.run;
import static io.jrump.fs.ext.ExtWriteTest.mkdir;
import static io.jrump.fs.ext.ExtWriteTest.random;
import static io.jrump.fs.ext.ExtWriteTest.readFile;
import static io.jrump.fs.ext.ExtWriteTest.writeFile;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Mkfs} with mke2fs-style {@code -O} feature lists, its resize inode (which resize2fs
 * grows the filesystem with) and lazy inode-table initialisation: each result clean to
 * {@code e2fsck -fn}, with the features dumpe2fs names, written by us and checked again.
 */
class MkfsFeaturesTest {
    private static final byte[] UUID = {0x3c, 0x11, (byte) 0xd8, 0x2e, (byte) 0xe4, 0x19, 0x45, 0x41,
        (byte) 0x98, (byte) 0xfe, (byte) 0xce, 0x55, (byte) 0x9b, (byte) 0xe3, (byte) 0xa6, 0x2b};
    private static final long CREATED = 1_790_000_000L;

    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("mkfs-features");

    @AfterEach
    void close() {
        host.close();
    }

    private static Mkfs.Options options(String type, int bs) {
        return Mkfs.Options.defaults(type.equals("ext2") ? Mkfs.Type.EXT2 : Mkfs.Type.EXT4, UUID, CREATED)
                .withBlockSize(bs);
    }

    private Path format(Mkfs.Options o, long bytes) throws Exception {
        Path img = dir.resolve("fs.img");
        Files.deleteIfExists(img);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(bytes);
        }
        try (BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            Mkfs.format(dev, o);
        }
        return img;
    }

    private static Set<String> dumpedFeatures(Path img) throws Exception {
        Matcher m = Pattern.compile("Filesystem features:\\s+(.*)").matcher(run("dumpe2fs", "-h", img.toString()));
        assertTrue(m.find());
        return new TreeSet<>(List.of(m.group(1).trim().split(" ")));
    }

    /** Creates directories and files through our writer, then e2fsck -fn and our checker must be clean. */
    private void writeAndCheck(Path img, String what) throws Exception {
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            assertFalse(fs.isReadOnly(), what);
            for (int i = 0; i < 12; i++) {
                mkdir(fs, "/d" + i);
                writeFile(fs, "/d" + i + "/f", random(1000 + 40_000 * i, i));
            }
            writeFile(fs, "/big", random(3_000_000, 99));
            fs.unlink(ExtWriteTest.resolve(fs, "/d3"), "f", false);
        }
        assertClean(img);
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY),
                ExtFs.MountOptions.readOnlyMount())) {
            assertArrayEquals(random(3_000_000, 99), readFile(fs, "/big"), what);
            ExtCheck.Result r = ExtCheck.check(fs.ext());
            assertTrue(r.isClean(), what + ": " + r.problems());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "ext4 1024 64 meta_bg,^resize_inode",
        "ext4 1024 300 meta_bg,^resize_inode",
        "ext4 4096 300 meta_bg,^resize_inode,^64bit",
        "ext4 1024 64 ^metadata_csum,uninit_bg",
        "ext4 1024 64 ^metadata_csum",
        "ext4 1024 64 ^metadata_csum,^64bit,meta_bg,^resize_inode,uninit_bg",
        "ext4 4096 64 ^64bit,^flex_bg",
        "ext4 1024 64 ^has_journal,^extent,^64bit",
        "ext4 1024 64 ^huge_file,^dir_nlink,^extra_isize,^dir_index",
        "ext4 2048 64 ^resize_inode",
        "ext2 1024 64 ^sparse_super,^resize_inode",
        "ext2 1024 64 ^resize_inode,^dir_index",
        "ext2 4096 64 extent,huge_file,flex_bg,metadata_csum,64bit",
        "ext2 1024 64 has_journal",
        "ext2 4096 300 has_journal,^dir_index",
        "ext4 1024 64 ^extent,^64bit",
    })
    void featureListsAsMke2fsTakesThem(String spec) throws Exception {
        String[] p = spec.split(" ");
        Mkfs.Options o = options(p[0], Integer.parseInt(p[1])).withFeatures(p[3]);
        Path img = format(o, Long.parseLong(p[2]) << 20);
        assertClean(img);
        Set<String> want = new TreeSet<>(o.features().normalized().names());
        assertEquals(want, dumpedFeatures(img), spec);
        writeAndCheck(img, spec);
    }

    @Test
    void featuresItDoesNotMakeAreRefusedByName() throws Exception {
        Mkfs.Options o = options("ext4", 1024);
        ErrnoException e = assertThrows(ErrnoException.class, () -> o.withFeatures("bigalloc"));
        assertEquals(Errno.EOPNOTSUPP, e.errno());
        assertTrue(e.getMessage().contains("bigalloc"), e.getMessage());
        e = assertThrows(ErrnoException.class, () -> o.withFeatures("^filetype"));
        assertEquals(Errno.EOPNOTSUPP, e.errno());
        e = assertThrows(ErrnoException.class, () -> o.withFeatures("extent,no_such_feature"));
        assertEquals(Errno.EINVAL, e.errno());
        assertTrue(e.getMessage().contains("no_such_feature"), e.getMessage());
        // Combinations mke2fs refuses.
        assertRefused(o.withFeatures("meta_bg"), Errno.EINVAL, "resize_inode and meta_bg");
        assertRefused(o.withFeatures("^extent"), Errno.EINVAL, "64bit");
        assertRefused(options("ext2", 1024).withFeatures("^sparse_super"), Errno.EINVAL, "sparse_super");
        assertRefused(options("ext2", 1024).withLazyItableInit(true), Errno.EINVAL, "lazy_itable_init");
    }

    /** ext3's block-mapped journal large enough for a triple indirect block (131,072 blocks of 1 KiB). */
    @Test
    void aBlockMappedJournalUpToTripleIndirect() throws Exception {
        Mkfs.Options o = options("ext2", 1024).withFeatures("has_journal,uninit_bg").withLazyItableInit(true);
        Path img = format(o, 16L << 30);
        assertClean(img);
        String stat = run("debugfs", "-R", "stat <8>", img.toString());
        assertTrue(stat.contains("(TIND)"), stat.substring(0, Math.min(stat.length(), 3000)));
        assertTrue(run("dumpe2fs", "-h", img.toString()).contains("Total journal blocks:     131072"));
        writeAndCheck(img, "ext3");
    }

    private void assertRefused(Mkfs.Options o, Errno errno, String named) throws Exception {
        ErrnoException e = assertThrows(ErrnoException.class, () -> format(o, 16 << 20));
        assertEquals(errno, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(named), e.getMessage());
    }

    /** Our resize inode and reserved GDT blocks are what resize2fs needs to grow the filesystem in place. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ext4 1024", "ext2 1024", "ext4 4096"})
    void resize2fsGrowsWhatWeMade(String spec) throws Exception {
        String[] p = spec.split(" ");
        int bs = Integer.parseInt(p[1]);
        Path img = format(options(p[0], bs), bs == 1024 ? 64L << 20 : 256L << 20);
        String dump = run("dumpe2fs", "-h", img.toString());
        assertTrue(dump.contains("resize_inode"), dump);
        assertTrue(Pattern.compile("Reserved GDT blocks:\\s+[1-9]").matcher(dump).find(), dump);
        writeAndCheck(img, spec); // our writer keeps the reserved blocks and the resize inode
        // Grown past the descriptor blocks it has: resize2fs takes reserved GDT blocks for the new ones.
        long grown = bs == 1024 ? 512L << 20 : 20L << 30;
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(grown);
        }
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "resize2fs", img.toString()), out.toString());
        assertClean(img);
        assertTrue(run("dumpe2fs", "-h", img.toString()).contains("Block count:              " + grown / bs));
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY),
                ExtFs.MountOptions.readOnlyMount())) {
            assertArrayEquals(random(3_000_000, 99), readFile(fs, "/big"), spec);
        }
    }

    private static long allocatedBytes(Path img) throws Exception {
        return Long.parseLong(run("stat", "-c", "%b", img.toString()).trim()) * 512;
    }

    /** lazy_itable_init: the inode tables of groups without inodes are left unwritten, and nothing relies on them. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1024 ^has_journal", "4096 ^has_journal,^metadata_csum,uninit_bg",
        "1024 ^has_journal,meta_bg,^resize_inode"})
    void lazyInodeTablesWriteFarLess(String spec) throws Exception {
        String[] p = spec.split(" ", 2);
        // Without a journal, whose zeroed blocks would hide the difference (there is no lazy_journal_init).
        Mkfs.Options o = options("ext4", Integer.parseInt(p[0])).withFeatures(p[1]);
        long bytes = 2L << 30;
        Path img = format(o, bytes);
        long eager = allocatedBytes(img);
        img = format(o.withLazyItableInit(true), bytes);
        long lazy = allocatedBytes(img);
        assertTrue(lazy * 4 < eager, "lazy " + lazy + " bytes, eager " + eager);
        String dump = run("dumpe2fs", img.toString());
        assertTrue(dump.contains("INODE_UNINIT"), spec);
        writeAndCheck(img, spec);
    }

    /**
     * Lazy inode tables over a device full of junk (0xA5, not zeros): the tables of unused
     * groups keep it, and our writer, creating inodes in those groups, never takes it for
     * inode contents — e2fsck and our checker find nothing.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1024 ", "4096 ^metadata_csum,uninit_bg"})
    void lazyTablesOverJunkAreNeverTrusted(String spec) throws Exception {
        String[] p = spec.split(" ", 2);
        Mkfs.Options o = options("ext4", Integer.parseInt(p[0])).withLazyItableInit(true);
        if (!p[1].isBlank()) {
            o = o.withFeatures(p[1]);
        }
        Path img = dir.resolve("fs.img");
        byte[] junk = new byte[1 << 20];
        java.util.Arrays.fill(junk, (byte) 0xA5);
        try (java.io.OutputStream out = Files.newOutputStream(img)) {
            for (int i = 0; i < 256; i++) {
                out.write(junk);
            }
        }
        try (BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE)) {
            Mkfs.format(dev, o);
        }
        assertClean(img);
        assertTrue(run("dumpe2fs", img.toString()).contains("INODE_UNINIT"), spec);
        writeAndCheck(img, spec);
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY),
                ExtFs.MountOptions.readOnlyMount())) {
            long ipg = fs.ext().superblock().inodesPerGroup();
            long outside = 0;
            for (int i = 0; i < 12; i++) {
                outside += ExtWriteTest.resolve(fs, "/d" + i) > ipg ? 1 : 0;
            }
            assertTrue(outside > 0, spec + ": every new directory stayed in group 0");
        }
    }

    /** The kernel mounts filesystems we made (lazily, meta_bg, ext3, uninit_bg) and reads what we wrote to them. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ext4 1024 lazy", "ext4 1024 meta_bg,^resize_inode", "ext2 4096 has_journal",
        "ext4 4096 ^metadata_csum,^64bit,uninit_bg lazy"})
    @Tag("root")
    @EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root (mount -o loop)")
    void theKernelMountsWhatWeMade(String spec) throws Exception {
        String[] p = spec.split(" ");
        Mkfs.Options o = options(p[0], Integer.parseInt(p[1]));
        for (int i = 2; i < p.length; i++) {
            o = p[i].equals("lazy") ? o.withLazyItableInit(true) : o.withFeatures(p[i]);
        }
        Path img = format(o, 1L << 30);
        writeAndCheck(img, spec);
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        StringBuilder m = new StringBuilder();
        assertEquals(0, exec(m, "mount", "-o", "loop,ro", img.toString(), mnt.toString()), "the kernel mounts it: " + m);
        try {
            assertArrayEquals(random(3_000_000, 99), Files.readAllBytes(mnt.resolve("big")));
            assertArrayEquals(random(1000 + 40_000 * 5, 5), Files.readAllBytes(mnt.resolve("d5/f")));
        } finally {
            StringBuilder u = new StringBuilder();
            assertEquals(0, exec(u, "umount", mnt.toString()), u.toString());
        }
    }

    /**
     * A 64bit filesystem past 2^32 blocks: 12 TiB of 2 KiB blocks (a sparse file; 4 TiB of 1 KiB
     * blocks would hold only a group or two past the line), made by us lazily. The kernel spreads
     * top-level directories over the groups, so some lie past block 2^32; we read its files
     * there, write ours beside them (debugfs shows their blocks past 2^32 too), and the kernel
     * reads ours back. Not e2fsck -fn: on 393,216 groups it takes about a minute, past the test
     * budget. Not meta_bg: its 36,864 scattered descriptor copies take the host filesystem over a
     * minute to free when the image is deleted.
     */
    @Test
    @Tag("root")
    @EnabledIfSystemProperty(named = "user.name", matches = "root", disabledReason = "needs root (mount -o loop)")
    void blocksPast2To32() throws Exception {
        int bs = 2048;
        Mkfs.Options o = options("ext4", bs).withLazyItableInit(true);
        Path img = format(o, 12L << 40);
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        StringBuilder m = new StringBuilder();
        assertEquals(0, exec(m, "mount", "-o", "loop,noinit_itable", img.toString(), mnt.toString()), m.toString());
        try {
            for (int i = 0; i < 24; i++) {
                Files.createDirectories(mnt.resolve("k" + i));
                Files.write(mnt.resolve("k" + i + "/kernel"), random(100_000, i));
            }
        } finally {
            StringBuilder u = new StringBuilder();
            assertEquals(0, exec(u, "umount", mnt.toString()), u.toString());
        }
        long past = 1L << 32;
        String high = null;
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            Superblock sb = fs.ext().superblock();
            assertTrue(sb.blocksCount() > past, "" + sb.blocksCount());
            for (int i = 0; i < 24; i++) {
                assertArrayEquals(random(100_000, i), readFile(fs, "/k" + i + "/kernel"));
                long ino = ExtWriteTest.resolve(fs, "/k" + i);
                long groupStart = sb.firstDataBlock() + (ino - 1) / sb.inodesPerGroup() * sb.blocksPerGroup();
                if (high == null && groupStart > past) {
                    high = "/k" + i;
                }
            }
            assertTrue(high != null, "no directory of the kernel's lies past block 2^32");
            writeFile(fs, high + "/ours", random(1_000_000, 77));
        }
        String[] lines = run("debugfs", "-R", "blocks " + high + "/ours", img.toString()).trim().split("\n");
        String blocks = lines[lines.length - 1];
        assertTrue(Long.parseLong(blocks.split("\\s+")[0]) > past, blocks.substring(0, Math.min(200, blocks.length())));
        m.setLength(0);
        assertEquals(0, exec(m, "mount", "-o", "loop,ro", img.toString(), mnt.toString()), m.toString());
        try {
            assertArrayEquals(random(1_000_000, 77), Files.readAllBytes(mnt.resolve(high.substring(1) + "/ours")));
        } finally {
            StringBuilder u = new StringBuilder();
            assertEquals(0, exec(u, "umount", mnt.toString()), u.toString());
        }
    }
}
