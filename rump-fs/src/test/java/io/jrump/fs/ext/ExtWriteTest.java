package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.debugfsCat;
import static io.jrump.fs.ext.ExtTools.mke2fs;
import static io.jrump.fs.ext.ExtTools.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Writing ext2/3/4 and checking with e2fsprogs: after our changes {@code e2fsck -fn} finds
 * nothing to fix and {@code debugfs} reads back what we wrote.
 */
class ExtWriteTest {
    static final long NOW = 1_790_000_000_123_456_789L;

    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-write");

    @AfterEach
    void close() {
        host.close();
    }

    private ExtVfs mount(Path img) throws Exception {
        BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE);
        return ExtVfs.mount(dev, ExtFs.MountOptions.readWrite(() -> NOW));
    }

    /** The inode a path names, walking lookups from the root (no symlinks followed). */
    static long resolve(ExtVfs fs, String path) throws ErrnoException {
        long cur = fs.rootInode();
        for (String part : path.split("/")) {
            if (!part.isEmpty()) {
                cur = fs.lookup(cur, part);
            }
        }
        return cur;
    }

    static long parent(ExtVfs fs, String path) throws ErrnoException {
        return resolve(fs, path.substring(0, path.lastIndexOf('/')));
    }

    static String base(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    static long mkdir(ExtVfs fs, String path) throws ErrnoException {
        return fs.create(parent(fs, path), base(path), Attributes.S_IFDIR | 0755, 0, 0, 0);
    }

    static long writeFile(ExtVfs fs, String path, byte[] data) throws ErrnoException {
        long ino = fs.create(parent(fs, path), base(path), Attributes.S_IFREG | 0644, 1000, 1000, 0);
        fs.write(ino, 0, ByteBuffer.wrap(data));
        return ino;
    }

    static byte[] readFile(ExtVfs fs, String path) throws ErrnoException {
        long ino = resolve(fs, path);
        ByteBuffer b = ByteBuffer.allocate((int) fs.getattr(ino).size());
        while (b.hasRemaining() && fs.read(ino, b.position(), b) > 0) {
            // read until full
        }
        return b.array();
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private Path image(String type, int bs, String size) throws Exception {
        Path img = dir.resolve(type + "-" + bs + ".img");
        mke2fs(img, type, bs, size);
        return img;
    }

    /** Several FUSE workers hand writes to the filesystem out of order; the file must still be one run. */
    @Test
    void writesArrivingOutOfOrderStillLayTheFileOutContiguously() throws Exception {
        Path img = image("ext4", 4096, "64M");
        byte[] data = random(4 << 20, 7);
        try (ExtVfs fs = mount(img)) {
            long ino = fs.create(fs.rootInode(), "f", Attributes.S_IFREG | 0644, 0, 0, 0);
            int mib = 1 << 20;
            for (int piece : new int[] {0, 2, 3, 1}) {
                fs.write(ino, (long) piece * mib, ByteBuffer.wrap(data, piece * mib, mib));
            }
            ExtFs ext = fs.ext();
            ExtFs.Mapping first;
            ext.lock.lock();
            try {
                first = ext.map(ext.inode(ino), 0);
            } finally {
                ext.lock.unlock();
            }
            assertEquals(1024, first.run(), "one extent of 1024 blocks from logical block 0");
            assertArrayEquals(data, readFile(fs, "/f"));
        }
        assertClean(img);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ext2:1024", "ext2:4096", "ext3:2048", "ext4:1024", "ext4:4096"})
    void aSequenceOfChangesLeavesE2fsckClean(String spec) throws Exception {
        String[] p = spec.split(":");
        Path img = image(p[0], Integer.parseInt(p[1]), "64M");
        byte[] big = random(3 << 20, 1);
        try (ExtVfs fs = mount(img)) {
            mkdir(fs, "/a");
            mkdir(fs, "/a/b");
            mkdir(fs, "/a/b/c");
            writeFile(fs, "/f1", "hello\n".getBytes(StandardCharsets.UTF_8));
            long bigIno = fs.create(resolve(fs, "/a"), "big", Attributes.S_IFREG | 0600, 0, 0, 0);
            for (int off = 0; off < big.length; off += 100_003) {
                fs.write(bigIno, off, ByteBuffer.wrap(big, off, Math.min(100_003, big.length - off)));
            }
            long sparse = writeFile(fs, "/sparse", new byte[0]);
            fs.write(sparse, 10 << 20, ByteBuffer.wrap("tail".getBytes(StandardCharsets.UTF_8)));
            mkdir(fs, "/many");
            for (int i = 0; i < 300; i++) {
                writeFile(fs, "/many/file-with-a-longer-name-" + i, ("n" + i).getBytes(StandardCharsets.UTF_8));
            }
            fs.symlink(fs.rootInode(), "l1", "a/b", 0, 0);
            fs.symlink(fs.rootInode(), "l2", "x".repeat(100), 0, 0);
            fs.link(resolve(fs, "/a"), "hard", resolve(fs, "/f1"));
            fs.rename(fs.rootInode(), "f1", resolve(fs, "/a/b"), "moved", ino -> false);
            fs.rename(resolve(fs, "/a/b"), "c", fs.rootInode(), "c2", ino -> false);
            for (int i = 0; i < 300; i += 3) {
                fs.unlink(resolve(fs, "/many"), "file-with-a-longer-name-" + i, false);
            }
            fs.truncate(bigIno, (1 << 20) + 17);
            mkdir(fs, "/empty");
            fs.rmdir(fs.rootInode(), "empty", false);
            fs.setattr(resolve(fs, "/a/hard"), 0640, 42, 43, Long.MIN_VALUE, 1_000_000_000_000_000_000L);
            assertEquals(2, fs.getattr(resolve(fs, "/a/hard")).nlink());
            assertThrows(ErrnoException.class, () -> fs.rmdir(fs.rootInode(), "a", false));
        }
        assertClean(img);
        assertArrayEquals(java.util.Arrays.copyOf(big, (1 << 20) + 17), debugfsCat(img, "/a/big"));
        assertEquals("hello\n", new String(debugfsCat(img, "/a/b/moved"), StandardCharsets.UTF_8));
        byte[] sparse = debugfsCat(img, "/sparse");
        assertEquals((10 << 20) + 4, sparse.length);
        assertEquals("tail", new String(sparse, 10 << 20, 4, StandardCharsets.UTF_8));
        String stat = run("debugfs", "-R", "stat /a/hard", img.toString());
        assertTrue(stat.contains("User:    42   Group:    43") && stat.contains("Mode:  0640"), stat);
        assertTrue(run("debugfs", "-R", "ls -l /c2", img.toString()).contains(".."));
        // And we read back what we wrote, from a fresh read-only mount.
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY),
                ExtFs.MountOptions.readOnlyMount())) {
            assertEquals("a/b", fs.readlink(resolve(fs, "/l1")));
            assertEquals("x".repeat(100), fs.readlink(resolve(fs, "/l2")));
            Set<String> names = fs.readdir(resolve(fs, "/many")).stream().map(DirEntry::name).collect(Collectors.toSet());
            assertEquals(2 + 200, names.size());
            assertTrue(ExtCheck.check(fs.ext()).isClean(), ExtCheck.check(fs.ext()).problems().toString());
        }
    }

    @Test
    void anHtreeDirectoryIsChangedCorrectly() throws Exception {
        Path tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("big"));
        for (int i = 0; i < 600; i++) {
            Files.writeString(tree.resolve("big/entry-" + i), "e" + i);
        }
        Path img = dir.resolve("htree.img");
        mke2fs(img, "ext4", 1024, "32M", "-d", tree.toString());
        ExtTools.exec(new StringBuilder(), "e2fsck", "-fyD", img.toString());
        assertTrue(run("debugfs", "-R", "stat /big", img.toString()).contains("Flags: 0x81000"), "made an htree directory");
        try (ExtVfs fs = mount(img)) {
            long big = resolve(fs, "/big");
            for (int i = 0; i < 600; i += 2) {
                fs.unlink(big, "entry-" + i, false);
            }
            for (int i = 0; i < 100; i++) {
                writeFile(fs, "/big/new-" + i, new byte[] {1});
            }
        }
        assertClean(img);
        assertTrue(run("debugfs", "-R", "stat /big", img.toString()).contains("Flags: 0x81000"), "still indexed");
        // debugfs lists a block's emptied first record with inode 0, as Linux leaves it.
        Set<String> listed = new TreeSet<>(run("debugfs", "-R", "ls -p /big", img.toString()).lines()
                .map(l -> l.split("/")).filter(a -> a.length > 5 && !a[1].equals("0")).map(a -> a[5]).collect(Collectors.toSet()));
        assertEquals(300 + 100 + 2, listed.size(), listed.toString());
        assertTrue(listed.contains("entry-1") && listed.contains("new-99") && !listed.contains("entry-0"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"ext4:1024", "ext3:1024"})
    void aFragmentedFileGrowsAndShrinksItsMap(String spec) throws Exception {
        String[] p = spec.split(":");
        Path img = image(p[0], Integer.parseInt(p[1]), "64M");
        byte[] block = random(1024, 3);
        try (ExtVfs fs = mount(img)) {
            long a = writeFile(fs, "/a", new byte[0]);
            long b = writeFile(fs, "/b", new byte[0]);
            // Interleaved writes keep the two files from merging into long extents.
            for (int i = 0; i < 3000; i++) {
                fs.write(a, (long) i * 1024, ByteBuffer.wrap(block));
                fs.write(b, (long) i * 1024, ByteBuffer.wrap(block));
            }
        }
        assertClean(img);
        if (p[0].equals("ext4")) {
            String stat = run("debugfs", "-R", "stat /a", img.toString());
            assertTrue(stat.contains("(ETB0)") || stat.contains("ETB"), "the tree grew a level:\n" + stat);
        }
        try (ExtVfs fs = mount(img)) {
            fs.truncate(resolve(fs, "/a"), 5 * 1024 + 3);
            fs.unlink(fs.rootInode(), "b", false);
        }
        assertClean(img);
        assertEquals(5 * 1024 + 3, debugfsCat(img, "/a").length);
    }

    @Test
    void unlinkedButOpenFilesAreOrphansUntilReleasedOrTheNextMount() throws Exception {
        Path img = image("ext4", 4096, "32M");
        {
            ExtVfs fs = mount(img);
            long ino = writeFile(fs, "/kept", random(100_000, 4));
            long ino2 = writeFile(fs, "/released", random(10_000, 5));
            fs.unlink(fs.rootInode(), "kept", true);
            fs.unlink(fs.rootInode(), "released", true);
            assertEquals(100_000, fs.getattr(ino).size(), "still readable while open");
            fs.released(ino2);
            fs.sync();
            // Crash: the object is dropped without unmounting; "kept" is still on the orphan list.
        }
        try (ExtVfs fs = mount(img)) {
            assertEquals(0, fs.ext().lastOrphan(), "the mount processed the orphan list");
        }
        assertClean(img);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ext2:1024", "ext4:4096"})
    void runningOutOfSpaceAndInodesFailsCleanly(String spec) throws Exception {
        String[] p = spec.split(":");
        Path img = dir.resolve("full.img");
        mke2fs(img, p[0], Integer.parseInt(p[1]), "8M", "-N", "64");
        try (ExtVfs fs = mount(img)) {
            long f = writeFile(fs, "/fill", new byte[0]);
            byte[] chunk = random(1 << 20, 6);
            long off = 0;
            ErrnoException full = null;
            while (full == null) {
                try {
                    fs.write(f, off, ByteBuffer.wrap(chunk));
                    off += chunk.length;
                } catch (ErrnoException e) {
                    full = e;
                }
            }
            assertEquals(Errno.ENOSPC, full.errno());
            assertEquals(off, fs.getattr(f).size(), "the failed write changed nothing");
            ErrnoException noInodes = null;
            for (int i = 0; noInodes == null; i++) {
                try {
                    fs.create(fs.rootInode(), "n" + i, Attributes.S_IFREG | 0644, 0, 0, 0);
                } catch (ErrnoException e) {
                    noInodes = e;
                }
            }
            assertEquals(Errno.ENOSPC, noInodes.errno());
            ErrnoException mkdirFull = assertThrows(ErrnoException.class, () -> mkdir(fs, "/no-room"));
            assertEquals(Errno.ENOSPC, mkdirFull.errno());
            fs.truncate(f, 0);
            fs.unlink(fs.rootInode(), "n0", false);
            mkdir(fs, "/room-again");
        }
        assertClean(img);
    }

    @Test
    void deviceNodesAndFifosAreReadAndMadeAsLinuxEncodesThem() throws Exception {
        Path tree = dir.resolve("devtree");
        Files.createDirectories(tree);
        run("mkfifo", tree.resolve("fifo").toString());
        run("mknod", tree.resolve("null").toString(), "c", "1", "3");
        run("mknod", tree.resolve("big").toString(), "b", "259", "300000");
        Path img = dir.resolve("dev.img");
        mke2fs(img, "ext4", 4096, "16M", "-d", tree.toString());
        try (ExtVfs fs = mount(img)) {
            assertEquals(Attributes.S_IFIFO, fs.getattr(resolve(fs, "/fifo")).type());
            Attributes nul = fs.getattr(resolve(fs, "/null"));
            assertEquals(Attributes.S_IFCHR, nul.type());
            assertEquals(0x103, nul.rdev(), "makedev(1, 3)");
            Attributes big = fs.getattr(resolve(fs, "/big"));
            assertEquals(Attributes.S_IFBLK, big.type());
            long rdev = big.rdev();
            assertEquals(259, (rdev >>> 8) & 0xfff, "major");
            assertEquals(300000, (rdev & 0xff) | ((rdev >>> 12) & ~0xffL), "minor");
            fs.create(fs.rootInode(), "zero", Attributes.S_IFCHR | 0666, 0, 0, (1 << 8) | 5);
            fs.create(fs.rootInode(), "pipe", Attributes.S_IFIFO | 0644, 0, 0, 0);
        }
        assertClean(img);
        String zero = run("debugfs", "-R", "stat /zero", img.toString());
        assertTrue(zero.contains("character special") && zero.contains("Device major/minor number: 01:05"), zero);
        assertTrue(run("debugfs", "-R", "stat /pipe", img.toString()).contains("FIFO"));
    }

    @Test
    void aGrowingFileStaysContiguous() throws Exception {
        Path img = image("ext4", 4096, "64M");
        try (ExtVfs fs = mount(img)) {
            long f = writeFile(fs, "/big", new byte[0]);
            byte[] chunk = random(1 << 20, 12);
            for (int i = 0; i < 8; i++) {
                fs.write(f, (long) i << 20, ByteBuffer.wrap(chunk));
            }
        }
        String ex = run("debugfs", "-R", "ex /big", img.toString());
        assertEquals(1, ex.lines().filter(l -> l.matches("\\s*\\d+/\\s*\\d+.*")).count(), "one extent:\n" + ex);
    }

    @Test
    void aReadOnlyMountRefusesChangesAndWritesNothing() throws Exception {
        Path img = image("ext4", 4096, "16M");
        byte[] before = java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(img));
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readOnlyMount())) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> writeFile(fs, "/x", new byte[1]));
            assertEquals(Errno.EROFS, e.errno());
            fs.readdir(fs.rootInode());
            fs.sync();
        }
        assertArrayEquals(before, java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(img)),
                "a read-only mount wrote to the image");
    }

    @Test
    void anUnknownRoCompatFeatureMountsReadOnlyAndAnUnknownIncompatOneNotAtAll() throws Exception {
        Path img = image("ext4", 4096, "16M");
        run("debugfs", "-w", "-R", "ssv feature_ro_compat 0x8000046b", img.toString());
        try (ExtVfs fs = mount(img)) {
            assertTrue(fs.isReadOnly());
            assertTrue(fs.ext().readOnlyReason().contains("ro_compat 0x80000000"), fs.ext().readOnlyReason());
            ErrnoException e = assertThrows(ErrnoException.class, () -> writeFile(fs, "/x", new byte[1]));
            assertEquals(Errno.EROFS, e.errno());
        }
        // debugfs will not open the image again with an unknown ro_compat bit set: a fresh one.
        mke2fs(img, "ext4", 4096, "16M");
        run("debugfs", "-w", "-R", "ssv feature_incompat 0x802c2", img.toString());
        ErrnoException refused = assertThrows(ErrnoException.class, () -> mount(img));
        assertEquals(Errno.EOPNOTSUPP, refused.errno());
        assertTrue(refused.getMessage().contains("unsupported ext feature: 0x80000"), refused.getMessage());
    }
}
