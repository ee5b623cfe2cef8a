package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtWriteTest.mkdir;
import static io.jrump.fs.ext.ExtWriteTest.readFile;
import static io.jrump.fs.ext.ExtWriteTest.resolve;
import static io.jrump.fs.ext.ExtWriteTest.writeFile;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The mke2fs feature matrix: for each feature set, a filesystem that {@code mke2fs -d} filled
 * from a tree reads identical through us; a random sequence of creates, writes, renames, unlinks
 * and directories through our VFS leaves it clean to {@code e2fsck -fn}; and the Linux kernel's
 * ext4 driver mounts the result (loop, read-only) and reads every file as we wrote it. A feature
 * set we do not write is refused by name ({@code EOPNOTSUPP} or read-only), never written.
 * Case: {@code TYPE BLOCK [mke2fs options...]}.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (mount -o loop); ./run-tests, as root, runs it")
class ExtFeatureMatrixTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-matrix");
    private Path tree;

    @BeforeEach
    void tree() throws Exception {
        tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("a/b/c"));
        Random r = new Random(3);
        for (int i = 0; i < 30; i++) {
            byte[] data = new byte[i == 7 ? 400_000 : r.nextInt(9000)];
            r.nextBytes(data);
            Files.write(tree.resolve((i % 3 == 0 ? "a/" : i % 3 == 1 ? "a/b/" : "") + "f" + i), data);
        }
        Files.writeString(tree.resolve("a/b/c/small"), "x");
        Files.createSymbolicLink(tree.resolve("short"), Path.of("a/f0"));
        Files.createSymbolicLink(tree.resolve("long"), Path.of("a/b/" + "y".repeat(100)));
    }

    @AfterEach
    void close() {
        host.close();
    }

    /**
     * Feature sets that must mount read-write and pass every check (issue 18): all of them, as
     * every feature mke2fs can enable is read and written.
     */
    private static boolean mustWrite(String spec) {
        return true;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "ext2 1024", "ext2 4096", "ext3 1024", "ext3 4096 -O ^dir_index", "ext4 1024", "ext4 2048", "ext4 4096",
        "ext4 1024 -O ^metadata_csum", "ext4 1024 -O ^metadata_csum,uninit_bg", "ext4 4096 -O ^flex_bg",
        "ext4 4096 -O ^64bit", "ext4 1024 -O ^extent,^64bit", "ext4 1024 -O ^has_journal", "ext4 1024 -O ^dir_index",
        "ext4 1024 -O ^huge_file", "ext4 1024 -O ^dir_nlink", "ext4 1024 -O ^extra_isize", "ext4 1024 -I 128",
        "ext4 4096 -I 1024", "ext4 1024 -O ^resize_inode", "ext4 1024 -O sparse_super2", "ext4 1024 -O ^sparse_super,^resize_inode",
        "ext4 1024 -O large_dir", "ext4 1024 -O metadata_csum_seed", "ext4 4096 -O 64bit,^flex_bg",
        "ext4 1024 -O quota", "ext4 1024 -O project,quota", "ext4 1024 -O inline_data", "ext4 4096 -O stable_inodes",
        "ext4 1024 -O encrypt", "ext4 4096 -O mmp", "ext4 4096 -O meta_bg,^resize_inode", "ext4 1024 -O meta_bg,^resize_inode",
        "ext4 1024 -O meta_bg,^resize_inode,^64bit,^metadata_csum", "ext4 4096 -O bigalloc",
        "ext4 1024 -O ea_inode", "ext4 4096 -O casefold", "ext4 4096 -O orphan_file", "ext4 1024 -O fast_commit",
        "ext4 4096 -O fast_commit,^metadata_csum", "ext4 1024 -O verity",
        "ext4 4096 -O inline_data", "ext4 1024 -O inline_data,^metadata_csum", "ext4 2048 -I 512 -O inline_data",
        "ext4 1024 -O bigalloc -C 16384", "ext4 4096 -O bigalloc,^metadata_csum -C 16384",
        "ext4 4096 -O casefold -E encoding_flags=strict", "ext4 1024 -O casefold,^metadata_csum", "ext4 4096 -O encrypt",
        "ext4 1024 -O encrypt,casefold",
        "ext4 4096 -O ea_inode,^metadata_csum", "ext4 1024 -O orphan_file,^metadata_csum", "ext4 1024 -O mmp,^metadata_csum",
        "ext4 4096 -O quota,^metadata_csum", "ext4 4096 -O project,quota,orphan_file", "ext4 1024 -O quota,ea_inode",
    })
    void readIdenticalWrittenCleanAndMountedByTheKernel(String spec) throws Exception {
        String[] p = spec.split(" ");
        Path img = dir.resolve("m.img");
        List<String> mkfs = new ArrayList<>(List.of("mke2fs", "-q", "-F", "-t", p[0], "-b", p[1], "-d", tree.toString()));
        mkfs.addAll(List.of(p).subList(2, p.length));
        mkfs.addAll(List.of(img.toString(), "32M"));
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, mkfs.toArray(String[]::new)), out.toString());
        if (spec.contains("quota")) {
            // mke2fs 1.47.0 -d counts the quota before it copies the tree in (e2fsck -fn finds the files
            // inconsistent straight after mkfs): e2fsck counts them first, then we keep them.
            StringBuilder fix = new StringBuilder();
            assertTrue(exec(fix, "e2fsck", "-fy", img.toString()) <= 1, fix.toString());
            assertClean(img);
        }
        ExtVfs fs;
        try {
            fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                    ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW)
                            .withMmp(MmpHost.of(host).withWaitNanos(100_000_000L)));
        } catch (ErrnoException e) {
            assertFalse(mustWrite(spec), spec + " must mount read-write: " + e.getMessage());
            // Not read or not written: refused by name, never taken on.
            assertEquals(Errno.EOPNOTSUPP, e.errno(), e.getMessage());
            assertTrue(e.getMessage().contains("unsupported ext feature"), e.getMessage());
            return;
        }
        Map<String, byte[]> written = new TreeMap<>();
        try {
            // Everything mke2fs put there reads as the tree holds it.
            try (Stream<Path> all = Files.walk(tree)) {
                for (Path f : (Iterable<Path>) all::iterator) {
                    String path = "/" + tree.relativize(f).toString().replace('\\', '/');
                    if (Files.isSymbolicLink(f)) {
                        assertEquals(Files.readSymbolicLink(f).toString(), fs.readlink(resolve(fs, path)), path);
                    } else if (Files.isRegularFile(f)) {
                        assertArrayEquals(Files.readAllBytes(f), readFile(fs, path), path);
                    }
                }
            }
            assertFalse(fs.isReadOnly() && mustWrite(spec), spec + " must mount read-write");
            if (fs.isReadOnly()) {
                return; // features this writer does not keep: mounted read-only, said so in features.md
            }
            Random r = new Random(spec.hashCode());
            mkdir(fs, "/new");
            mkdir(fs, "/new/sub");
            for (int i = 0; i < 120; i++) {
                String name = "/new/" + (r.nextBoolean() ? "sub/" : "") + "n" + r.nextInt(60);
                int op = r.nextInt(10);
                if (written.containsKey(name) && op < 3) {
                    fs.unlink(resolve(fs, name.substring(0, name.lastIndexOf('/'))), name.substring(name.lastIndexOf('/') + 1),
                            false);
                    written.remove(name);
                } else if (!written.containsKey(name)) {
                    byte[] data = new byte[r.nextInt(4) == 0 ? r.nextInt(300_000) : r.nextInt(3000)];
                    r.nextBytes(data);
                    writeFile(fs, name, data);
                    written.put(name, data);
                }
            }
            if (spec.contains("ea_inode")) {
                // Values past a block: in inodes of their own.
                long f = ExtWriteTest.writeFile(fs, "/new/xattrs", new byte[10]);
                fs.setxattr(f, "user.big", ExtWriteTest.random(30_000, 1), 0);
                fs.setxattr(f, "user.bigger", ExtWriteTest.random(65_536, 2), 0);
                written.put("/new/xattrs", new byte[10]);
            }
            fs.sync();
        } finally {
            fs.close();
        }
        assertClean(img);
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        StringBuilder m = new StringBuilder();
        int mounted = exec(m, "mount", "-o", "loop,ro", img.toString(), mnt.toString());
        if (spec.contains("casefold") && !CasefoldEncryptTest.kernelHasUnicode()) {
            // A kernel built without CONFIG_UNICODE refuses every casefold filesystem; e2fsck -fn above is the oracle.
            assertNotEquals(0, mounted, "a kernel without CONFIG_UNICODE mounted a casefold filesystem");
            return;
        }
        assertEquals(0, mounted, "the kernel mounts it: " + m);
        try {
            for (Map.Entry<String, byte[]> e : written.entrySet()) {
                assertArrayEquals(e.getValue(), Files.readAllBytes(mnt.resolve(e.getKey().substring(1))), e.getKey());
            }
            if (spec.contains("ea_inode")) {
                java.nio.file.attribute.UserDefinedFileAttributeView v = Files.getFileAttributeView(
                        mnt.resolve("new/xattrs"), java.nio.file.attribute.UserDefinedFileAttributeView.class);
                java.nio.ByteBuffer got = java.nio.ByteBuffer.allocate(v.size("bigger"));
                v.read("bigger", got);
                assertArrayEquals(ExtWriteTest.random(65_536, 2), got.array(), "the kernel reads our value inode");
            }
        } finally {
            StringBuilder u = new StringBuilder();
            assertEquals(0, exec(u, "umount", mnt.toString()), u.toString());
        }
    }
}
