package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.exec;
import static io.jrump.fs.ext.ExtWriteTest.mkdir;
import static io.jrump.fs.ext.ExtWriteTest.parent;
import static io.jrump.fs.ext.ExtWriteTest.base;
import static io.jrump.fs.ext.ExtWriteTest.readFile;
import static io.jrump.fs.ext.ExtWriteTest.resolve;
import static io.jrump.fs.ext.ExtWriteTest.writeFile;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.kernel.sys.Attributes;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * bigalloc (clusters of 2^k blocks): filesystems {@code mke2fs -O bigalloc -C SIZE -d} filled read
 * identical to the tree and check clean through {@link ExtCheck}; random writes at random offsets
 * (holes and blocks sharing a cluster), truncates into the middle of clusters, unlinks,
 * directories that grow and symlinks leave them clean to {@code e2fsck -fn} and to ExtCheck, and
 * (as root) the kernel's ext4 reads what we wrote. Case: {@code BLOCK CLUSTER [extra -O features]},
 * clusters of 4 to 64 blocks.
 */
class BigallocTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("ext-bigalloc");
    private Path tree;

    @BeforeEach
    void tree() throws Exception {
        tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("a/b"));
        Random r = new Random(18);
        for (int i = 0; i < 24; i++) {
            byte[] data = new byte[i == 5 ? 300_000 : r.nextInt(20_000)];
            r.nextBytes(data);
            Files.write(tree.resolve((i % 2 == 0 ? "a/" : "a/b/") + "f" + i), data);
        }
        Files.createSymbolicLink(tree.resolve("long"), Path.of("a/" + "z".repeat(90)));
    }

    @AfterEach
    void close() {
        host.close();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1024 4096", "1024 16384", "4096 16384", "4096 65536", "1024 8192 ^metadata_csum",
        "4096 32768 ^metadata_csum,^has_journal,^flex_bg", "4096 262144", "2048 131072 ^metadata_csum"})
    void readWrittenAndCheckedClean(String spec) throws Exception {
        Path img = make(spec);
        Map<String, byte[]> model = writeRandomly(img, spec.hashCode());
        assertClean(img);
        ExtCheck.Result r = ExtCheck.check(ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)));
        assertTrue(r.isClean(), r.problems().toString());
        ExtVfs again = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY),
                ExtFs.MountOptions.readOnlyMount());
        try {
            for (Map.Entry<String, byte[]> e : model.entrySet()) {
                assertArrayEquals(e.getValue(), readFile(again, e.getKey()), e.getKey());
            }
        } finally {
            again.close();
        }
    }

    @Tag("root")
    @EnabledIfSystemProperty(named = "user.name", matches = "root",
            disabledReason = "needs root (mount -o loop); ./run-tests, as root, runs it")
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1024 16384", "4096 65536 ^metadata_csum"})
    void theKernelReadsWhatWeWrote(String spec) throws Exception {
        Path img = make(spec);
        Map<String, byte[]> model = writeRandomly(img, 7 + spec.hashCode());
        assertClean(img);
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        StringBuilder m = new StringBuilder();
        assertEquals(0, exec(m, "mount", "-o", "loop,ro", img.toString(), mnt.toString()), "the kernel mounts it: " + m);
        try {
            for (Map.Entry<String, byte[]> e : model.entrySet()) {
                assertArrayEquals(e.getValue(), Files.readAllBytes(mnt.resolve(e.getKey().substring(1))), e.getKey());
            }
        } finally {
            StringBuilder u = new StringBuilder();
            assertEquals(0, exec(u, "umount", mnt.toString()), u.toString());
        }
    }

    /**
     * ext4's cluster rule, and what it costs: a block written next to one of its logical cluster
     * takes its place in the same physical cluster, allocating nothing; i_blocks and the free count
     * move by whole clusters; a truncate frees a cluster only with the last block of it. Then two
     * files written in turn, a cluster at a time, get extent trees with index blocks (each a
     * cluster of its own) that shrink and go again; e2fsck and ExtCheck find all of it clean.
     */
    @Test
    void blocksShareTheirClusterWhichGoesWithTheLastOfThem() throws Exception {
        Path img = dir.resolve("s.img");
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-C", "8192", "-O", "bigalloc",
                img.toString(), "32M"), out.toString());
        ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW));
        try {
            fs.sync();
            long free = fs.statvfs().freeBlocks();
            long ino = fs.create(fs.rootInode(), "f", Attributes.S_IFREG | 0644, 0, 0, 0);
            fs.write(ino, 1024, ByteBuffer.wrap(new byte[1024]));
            fs.sync();
            assertEquals(free - 8, fs.statvfs().freeBlocks(), "one cluster of 8 blocks");
            fs.write(ino, 6 * 1024, ByteBuffer.wrap(new byte[] {6}));
            fs.sync();
            assertEquals(free - 8, fs.statvfs().freeBlocks(), "block 6 joins block 1's cluster");
            long p1 = fs.ext().map(fs.ext().inode(ino), 1).physical();
            long p6 = fs.ext().map(fs.ext().inode(ino), 6).physical();
            assertEquals(1, p1 % 8, "a block sits at its own offset in the cluster");
            assertEquals(p1 + 5, p6);
            assertEquals(16, fs.getattr(ino).blocks512(), "i_blocks: one 8 KiB cluster");
            fs.write(ino, 8 * 1024, ByteBuffer.wrap(new byte[] {8}));
            assertEquals(32, fs.getattr(ino).blocks512(), "block 8 starts a second cluster");
            fs.truncate(ino, 7 * 1024 + 10);
            fs.sync();
            assertEquals(free - 8, fs.statvfs().freeBlocks(), "the second cluster went");
            fs.truncate(ino, 1024 + 5);
            fs.sync();
            assertEquals(free - 8, fs.statvfs().freeBlocks(), "block 1 still holds the first");
            assertEquals(16, fs.getattr(ino).blocks512());
            fs.truncate(ino, 1000);
            fs.sync();
            assertEquals(free, fs.statvfs().freeBlocks(), "the last block of it gone, so is the cluster");
            assertEquals(0, fs.getattr(ino).blocks512());

            long a = fs.create(fs.rootInode(), "a", Attributes.S_IFREG | 0644, 0, 0, 0);
            long b = fs.create(fs.rootInode(), "b", Attributes.S_IFREG | 0644, 0, 0, 0);
            byte[] chunk = new byte[8192];
            for (int i = 0; i < 400; i++) {
                java.util.Arrays.fill(chunk, (byte) i);
                fs.write(a, (long) i * 8192, ByteBuffer.wrap(chunk));
                fs.write(b, (long) i * 8192 + 4096, ByteBuffer.wrap(chunk)); // across two logical clusters
            }
            byte[] root = fs.ext().inode(a).block();
            assertTrue((root[6] & 0xff) >= 1, "file a's extents need a tree of index blocks, depth " + root[6]);
            fs.truncate(a, 150 * 8192 + 3000);
            fs.unlink(fs.rootInode(), "b", false);
            fs.sync();
        } finally {
            fs.close();
        }
        assertClean(img);
        ExtCheck.Result r = ExtCheck.check(ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)));
        assertTrue(r.isClean(), r.problems().toString());
    }

    /**
     * What the kernel's ext4 wrote — sparse files whose blocks share clusters, fallocated
     * (unwritten) extents, an xattr block, a directory of many names — we change: blocks written
     * into holes of those clusters, truncates into them, unlinks; e2fsck finds it clean and the
     * kernel reads it back as we say it is.
     */
    @Tag("root")
    @EnabledIfSystemProperty(named = "user.name", matches = "root",
            disabledReason = "needs root (mount -o loop); ./run-tests, as root, runs it")
    @Test
    void weChangeWhatTheKernelWrote() throws Exception {
        Path img = dir.resolve("k.img");
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-C", "8192", "-O", "bigalloc",
                img.toString(), "32M"), out.toString());
        Path mnt = Files.createDirectories(dir.resolve("mnt"));
        Map<String, byte[]> model = new TreeMap<>();
        Random r = new Random(5);
        assertEquals(0, exec(out, "mount", "-o", "loop", img.toString(), mnt.toString()), out.toString());
        try {
            for (int f = 0; f < 6; f++) {
                byte[] content = new byte[0];
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(mnt.resolve("h" + f),
                        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE)) {
                    for (int k = 0; k < 6; k++) {
                        int at = r.nextInt(120_000);
                        byte[] data = new byte[1 + r.nextInt(1500)];
                        r.nextBytes(data);
                        ch.write(ByteBuffer.wrap(data), at);
                        content = Arrays.copyOf(content, Math.max(content.length, at + data.length));
                        System.arraycopy(data, 0, content, at, data.length);
                    }
                }
                model.put("/h" + f, content);
            }
            assertEquals(0, exec(out, "fallocate", "-l", "100K", mnt.resolve("fa").toString()), out.toString());
            model.put("/fa", new byte[100 * 1024]);
            Files.getFileAttributeView(mnt.resolve("h0"), java.nio.file.attribute.UserDefinedFileAttributeView.class)
                    .write("user.big", ByteBuffer.wrap(new byte[800]));
            Files.createDirectories(mnt.resolve("d"));
            for (int i = 0; i < 120; i++) {
                Files.writeString(mnt.resolve("d/name-of-some-length-" + i), "y".repeat(i * 37));
                model.put("/d/name-of-some-length-" + i, "y".repeat(i * 37).getBytes());
            }
        } finally {
            assertEquals(0, exec(out, "umount", mnt.toString()), out.toString());
        }
        assertClean(img);
        ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW));
        try {
            for (Map.Entry<String, byte[]> e : model.entrySet()) {
                assertArrayEquals(e.getValue(), readFile(fs, e.getKey()), e.getKey());
            }
            for (int i = 0; i < 200; i++) {
                List<String> names = new ArrayList<>(model.keySet());
                String name = names.get(r.nextInt(names.size()));
                long ino = resolve(fs, name);
                byte[] cur = model.get(name);
                int op = r.nextInt(10);
                if (op < 6) {
                    int at = r.nextInt(cur.length + 20_000);
                    byte[] data = new byte[1 + r.nextInt(r.nextBoolean() ? 30 : 5000)];
                    r.nextBytes(data);
                    fs.write(ino, at, ByteBuffer.wrap(data));
                    byte[] next = Arrays.copyOf(cur, Math.max(cur.length, at + data.length));
                    System.arraycopy(data, 0, next, at, data.length);
                    model.put(name, next);
                } else if (op < 9) {
                    int size = r.nextInt(cur.length + 10_000);
                    fs.truncate(ino, size);
                    model.put(name, Arrays.copyOf(cur, size));
                } else if (names.size() > 10) {
                    fs.unlink(parent(fs, name), base(name), false);
                    model.remove(name);
                }
            }
            fs.sync();
        } finally {
            fs.close();
        }
        assertClean(img);
        ExtCheck.Result check = ExtCheck.check(ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)));
        assertTrue(check.isClean(), check.problems().toString());
        assertEquals(0, exec(out, "mount", "-o", "loop,ro", img.toString(), mnt.toString()), out.toString());
        try {
            for (Map.Entry<String, byte[]> e : model.entrySet()) {
                assertArrayEquals(e.getValue(), Files.readAllBytes(mnt.resolve(e.getKey().substring(1))), e.getKey());
            }
        } finally {
            assertEquals(0, exec(out, "umount", mnt.toString()), out.toString());
        }
    }

    /**
     * Groups mke2fs left BLOCK_UNINIT (their bitmap implied: the backup superblock and descriptor
     * clusters in use) and a short last group: directories spread over the groups and files in
     * them initialize those bitmaps by cluster; e2fsck and ExtCheck find them right.
     */
    @Test
    void uninitializedGroupsAreInitializedByCluster() throws Exception {
        Path img = dir.resolve("g.img");
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-C", "4096", "-O", "bigalloc",
                img.toString(), "200M"), out.toString());
        Map<String, byte[]> model = new TreeMap<>();
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            java.util.Set<Long> groups = new java.util.TreeSet<>();
            for (int d = 0; d < 12; d++) {
                long dino = mkdir(fs, "/d" + d);
                groups.add((dino - 1) / fs.ext().superblock().inodesPerGroup());
                byte[] data = new byte[5000 + d * 3000];
                new Random(d).nextBytes(data);
                writeFile(fs, "/d" + d + "/f", data);
                model.put("/d" + d + "/f", data);
            }
            assertTrue(groups.size() > 3, "directories spread over groups " + groups);
            fs.sync();
        }
        assertClean(img);
        ExtFs again = ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY));
        ExtCheck.Result r = ExtCheck.check(again);
        assertTrue(r.isClean(), r.problems().toString());
        ExtVfs v = new ExtVfs(again);
        for (Map.Entry<String, byte[]> e : model.entrySet()) {
            assertArrayEquals(e.getValue(), readFile(v, e.getKey()), e.getKey());
        }
    }

    /** Full: ENOSPC changes nothing, free space comes back by clusters, e2fsck finds it clean. */
    @Test
    void runningOutOfClustersFailsCleanly() throws Exception {
        Path img = dir.resolve("full.img");
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-C", "16384", "-O", "bigalloc",
                "-N", "64", img.toString(), "8M"), out.toString());
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            long f = writeFile(fs, "/fill", new byte[0]);
            byte[] chunk = new byte[300_000];
            long off = 0;
            io.jrump.hypercall.ErrnoException full = null;
            while (full == null) {
                try {
                    fs.write(f, off, ByteBuffer.wrap(chunk));
                    off += chunk.length;
                } catch (io.jrump.hypercall.ErrnoException e) {
                    full = e;
                }
            }
            assertEquals(io.jrump.hypercall.Errno.ENOSPC, full.errno());
            assertEquals(off, fs.getattr(f).size(), "the failed write changed nothing");
            for (int i = 0; i < 40; i++) { // one-block writes take the last clusters, each a whole one
                try {
                    writeFile(fs, "/s" + i, new byte[] {1});
                } catch (io.jrump.hypercall.ErrnoException e) {
                    assertEquals(io.jrump.hypercall.Errno.ENOSPC, e.errno());
                    break;
                }
            }
            fs.truncate(f, 1);
            fs.sync();
            assertEquals(0, fs.statvfs().freeBlocks() % 16);
            mkdir(fs, "/room-again");
        }
        assertClean(img);
    }

    /**
     * An extent that puts a block at another offset in its cluster than in its logical cluster
     * breaks the rule: e2fsck and ExtCheck say so, and writing next to it is EUCLEAN naming the
     * inode, not a write somewhere.
     */
    @Test
    void anExtentThatBreaksTheClusterRuleIsCorruption() throws Exception {
        Path img = dir.resolve("bad.img");
        Path one = Files.createDirectories(dir.resolve("one"));
        Files.write(one.resolve("f"), "x".repeat(1024).getBytes()); // not zeros, which mke2fs -d leaves a hole
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-C", "8192", "-O", "bigalloc",
                "-d", one.toString(), img.toString(), "16M"), out.toString());
        StringBuilder bmap = new StringBuilder();
        exec(bmap, "debugfs", "-R", "bmap /f 0", img.toString());
        long pb = Long.parseLong(bmap.toString().lines().filter(l -> l.matches("\\d+")).findFirst().orElseThrow());
        assertEquals(0, pb % 8, bmap.toString());
        Path script = dir.resolve("x.debugfs"); // logical block 1 at offset 0 of its cluster
        Files.writeString(script, "extent_open /f\nroot\nreplace_node 1 1 " + pb + "\nextent_close\n");
        assertEquals(0, exec(out, "debugfs", "-w", "-f", script.toString(), img.toString()), out.toString());
        StringBuilder e2fsck = new StringBuilder();
        assertEquals(4, exec(e2fsck, "e2fsck", "-fn", img.toString()), "e2fsck finds it too: " + e2fsck);
        assertTrue(e2fsck.toString().contains("violates cluster allocation rules"), e2fsck.toString());
        ExtCheck.Result r = ExtCheck.check(ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY)));
        assertTrue(r.problems().toString().contains("violates cluster allocation rules"), r.problems().toString());
        try (ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW))) {
            long f = resolve(fs, "/f");
            io.jrump.hypercall.ErrnoException e = org.junit.jupiter.api.Assertions.assertThrows(
                    io.jrump.hypercall.ErrnoException.class, () -> fs.write(f, 2048, ByteBuffer.wrap(new byte[] {1})));
            assertEquals(io.jrump.hypercall.Errno.EUCLEAN, e.errno(), e.getMessage());
            assertTrue(e.getMessage().contains("cluster rule"), e.getMessage());
        }
    }

    /** A bigalloc filesystem from the tree; it reads identical and checks clean before we write. */
    private Path make(String spec) throws Exception {
        String[] p = spec.split(" ");
        Path img = dir.resolve("b.img");
        String features = "bigalloc" + (p.length > 2 ? "," + p[2] : "");
        StringBuilder out = new StringBuilder();
        assertEquals(0, exec(out, "mke2fs", "-q", "-F", "-t", "ext4", "-b", p[0], "-C", p[1], "-O", features,
                "-d", tree.toString(), img.toString(), "48M"), out.toString());
        ExtFs fs = ExtFs.open(HostDisk.open(host, img.toString(), OpenMode.READ_ONLY));
        assertEquals(Integer.parseInt(p[1]) / Integer.parseInt(p[0]), fs.superblock().clusterRatio());
        ExtCheck.Result r = ExtCheck.check(fs);
        assertTrue(r.isClean(), "mke2fs's image: " + r.problems());
        ExtVfs v = new ExtVfs(fs);
        try (Stream<Path> all = Files.walk(tree)) {
            for (Path f : (Iterable<Path>) all::iterator) {
                String path = "/" + tree.relativize(f).toString().replace('\\', '/');
                if (Files.isSymbolicLink(f)) {
                    assertEquals(Files.readSymbolicLink(f).toString(), v.readlink(resolve(v, path)), path);
                } else if (Files.isRegularFile(f)) {
                    assertArrayEquals(Files.readAllBytes(f), readFile(v, path), path);
                }
            }
        }
        return img;
    }

    /**
     * Random creates, writes at random offsets (past the end, leaving holes; into holes next to
     * mapped blocks of one cluster), truncates to random sizes, unlinks, directories of many names
     * and long symlinks; returns each regular file's contents as they should now be.
     */
    private Map<String, byte[]> writeRandomly(Path img, long seed) throws Exception {
        Map<String, byte[]> model = new TreeMap<>();
        try (Stream<Path> all = Files.walk(tree)) {
            for (Path f : (Iterable<Path>) all::iterator) {
                if (Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    model.put("/" + tree.relativize(f).toString().replace('\\', '/'), Files.readAllBytes(f));
                }
            }
        }
        ExtVfs fs = ExtVfs.mount(HostDisk.open(host, img.toString(), OpenMode.READ_WRITE),
                ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW));
        assertFalse(fs.isReadOnly(), fs.ext().readOnlyReason());
        long freeBefore = fs.statvfs().freeBlocks();
        Random r = new Random(seed);
        try {
            mkdir(fs, "/n");
            long many = mkdir(fs, "/n/many");
            for (int i = 0; i < 150; i++) { // a directory of several blocks
                fs.create(many, "entry-with-a-longish-name-" + i, Attributes.S_IFREG | 0644, 0, 0, 0);
            }
            for (int i = 0; i < 150; i += 3) {
                fs.unlink(many, "entry-with-a-longish-name-" + i, false);
            }
            fs.symlink(resolve(fs, "/n"), "link", "t".repeat(300), 0, 0);
            for (int i = 0; i < 4; i++) { // xattr blocks: each a cluster of its own, charged whole
                long x = writeFile(fs, "/n/x" + i, new byte[3000 + i]);
                model.put("/n/x" + i, new byte[3000 + i]);
                fs.setxattr(x, "user.big", new byte[700 + i], 0);
            }
            fs.removexattr(resolve(fs, "/n/x1"), "user.big");
            fs.unlink(resolve(fs, "/n"), "x2", false);
            model.remove("/n/x2");
            for (int i = 0; i < 160; i++) {
                List<String> names = new ArrayList<>(model.keySet());
                int op = r.nextInt(10);
                if (op < 3 || names.isEmpty()) {
                    String name = "/n/f" + i;
                    byte[] data = new byte[r.nextInt(4) == 0 ? r.nextInt(200_000) : r.nextInt(9000)];
                    r.nextBytes(data);
                    writeFile(fs, name, data);
                    model.put(name, data);
                    continue;
                }
                String name = names.get(r.nextInt(names.size()));
                long ino = resolve(fs, name);
                byte[] cur = model.get(name);
                if (op < 6) { // write somewhere, maybe past the end
                    int at = r.nextInt(cur.length + 70_000);
                    byte[] data = new byte[1 + r.nextInt(r.nextBoolean() ? 40 : 20_000)];
                    r.nextBytes(data);
                    fs.write(ino, at, ByteBuffer.wrap(data));
                    byte[] next = Arrays.copyOf(cur, Math.max(cur.length, at + data.length));
                    System.arraycopy(data, 0, next, at, data.length);
                    model.put(name, next);
                } else if (op < 8) { // truncate, often into the middle of a cluster
                    int size = r.nextInt(cur.length + 30_000);
                    fs.truncate(ino, size);
                    model.put(name, Arrays.copyOf(cur, size));
                } else {
                    fs.unlink(parent(fs, name), base(name), false);
                    model.remove(name);
                }
            }
            for (Map.Entry<String, byte[]> e : model.entrySet()) {
                assertArrayEquals(e.getValue(), readFile(fs, e.getKey()), e.getKey());
            }
            fs.sync();
            assertTrue(fs.statvfs().freeBlocks() % fs.ext().superblock().clusterRatio() == 0,
                    "free blocks count whole clusters: " + freeBefore + " -> " + fs.statvfs().freeBlocks());
        } finally {
            fs.close();
        }
        return model;
    }
}
