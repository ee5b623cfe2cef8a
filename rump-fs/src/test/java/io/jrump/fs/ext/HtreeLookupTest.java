package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.ForwardingBlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Name lookups through htree indexes that e2fsprogs built. Fixtures: a directory {@code /big} of
 * 2,500 empty files with 95-byte names, put in by {@code mke2fs -q -F -t ext4 -b 1024 [-O
 * ^metadata_csum] -d tree img 32M} and indexed by {@code e2fsck -fyD img}: a two-level index
 * (dx_root, dx_nodes) over some 300 leaf blocks. Damaged copies are made by overwriting bytes of
 * the dx_root, found with {@code debugfs -R 'bmap /big 0'}. The test fails if e2fsprogs is missing.
 */
class HtreeLookupTest {
    private static final int NAMES = 2500;

    @TempDir
    static Path shared;
    @TempDir
    Path dir;
    private static Path withCsum;
    private static Path withoutCsum;
    private static final List<String> names = new ArrayList<>();
    private final JvmHost host = JvmHost.create("htree");
    private final List<String> console = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void images() throws Exception {
        Path tree = shared.resolve("tree");
        Files.createDirectories(tree.resolve("big"));
        String stem = "x".repeat(90);
        for (int i = 0; i < NAMES; i++) {
            String name = stem + String.format("-%04d", i);
            Files.createFile(tree.resolve("big").resolve(name));
            names.add(name);
        }
        withCsum = indexed(tree, "csum");
        withoutCsum = indexed(tree, "plain", "-O", "^metadata_csum");
        String htree = run("debugfs", "-R", "htree /big", withCsum.toString());
        assertTrue(htree.contains("Indirect levels: 1"), "a two-level index:\n" + htree.substring(0, 300));
    }

    private static Path indexed(Path tree, String name, String... options) throws Exception {
        Path img = shared.resolve(name);
        List<String> cmd = new ArrayList<>(List.of("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024"));
        cmd.addAll(List.of(options));
        cmd.addAll(List.of("-d", tree.toString(), img.toString(), "32M"));
        run(cmd.toArray(new String[0]));
        int rc = ExtTools.exec(new StringBuilder(), "e2fsck", "-fyD", img.toString());
        assertTrue(rc == 0 || rc == 1, "e2fsck -fyD exited " + rc); // 1: it changed the filesystem
        return img;
    }

    @AfterEach
    void close() {
        host.close();
    }

    /** Counts the reads that reach the disk. */
    private static final class Counting extends ForwardingBlockDevice {
        int reads;

        Counting(BlockDevice below) {
            super(below);
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws ErrnoException {
            reads++;
            super.read(offset, dst);
        }
    }

    private Counting device;

    private ExtVfs mount(Path img, boolean readOnly) throws ErrnoException {
        device = new Counting(HostDisk.open(host, img.toString(), readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE));
        ExtFs.MountOptions o = readOnly ? ExtFs.MountOptions.readOnlyMount()
                : ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW);
        return ExtVfs.mount(device, o.withConsole((level, m) -> console.add(level + " " + m))).closing(device);
    }

    /**
     * Every name of /big with its inode, read by a linear scan of the directory — below ExtVfs,
     * whose readdir would fill the name cache and spare the lookups their index.
     */
    private static Map<String, Long> linear(ExtVfs fs, long big) throws ErrnoException {
        Map<String, Long> out = new LinkedHashMap<>();
        for (Dirent e : fs.ext().readDir(fs.ext().inode(big))) {
            out.put(e.name(), e.inode());
        }
        return out;
    }

    private static void everyNameFound(ExtVfs fs, long big) throws ErrnoException {
        Map<String, Long> want = linear(fs, big);
        assertEquals(NAMES + 2, want.size());
        for (String n : names) {
            assertEquals(want.get(n), fs.lookup(big, n), n);
        }
        assertEquals(big, fs.lookup(big, "."));
        assertEquals(ExtFs.ROOT_INODE, fs.lookup(big, ".."));
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void everyNameIsFoundThroughTheIndex(boolean csum) throws Exception {
        try (ExtVfs fs = mount(csum ? withCsum : withoutCsum, true)) {
            long big = fs.lookup(fs.rootInode(), "big");
            assertTrue(Htree.isIndexed(fs.ext().superblock(), fs.ext().inode(big)), "the fixture is indexed");
            everyNameFound(fs, big);
            assertEquals(List.of(), fs.ext().warnings());
            assertEquals(List.of(), console);
        }
    }

    @Test
    void aLookupReadsAFewBlocksNotTheWholeDirectory() throws Exception {
        try (ExtVfs fs = mount(withCsum, true)) {
            long big = fs.lookup(fs.rootInode(), "big");
            long dirBlocks = fs.getattr(big).size() / 1024;
            assertTrue(dirBlocks > 250, dirBlocks + " blocks");
            int most = 0;
            for (int i = 0; i < NAMES; i += 97) {
                int before = device.reads;
                fs.lookup(big, names.get(i));
                most = Math.max(most, device.reads - before);
            }
            // The directory's inode, dx_root, one dx_node, one leaf (and the next, in a hash collision).
            assertTrue(most <= 5, "a lookup read " + most + " blocks of a directory of " + dirBlocks);
            // Listed whole, the directory joins the name cache: then a lookup reads nothing.
            assertEquals(NAMES + 2, fs.readdir(big).size());
            int before = device.reads;
            for (String n : names) {
                fs.lookup(big, n);
            }
            assertEquals(before, device.reads, "lookups after readdir");
        }
    }

    @Test
    void aMissingNameIsEnoent() throws Exception {
        try (ExtVfs fs = mount(withCsum, true)) {
            long big = fs.lookup(fs.rootInode(), "big");
            for (String missing : List.of("nope", names.get(7) + "x", names.get(7).substring(1), "")) {
                ErrnoException e = assertThrows(ErrnoException.class, () -> fs.lookup(big, missing));
                assertEquals(Errno.ENOENT, e.errno(), missing);
            }
            ExtPaths p = ExtPaths.of(fs.ext());
            assertEquals(Errno.ENOENT, assertThrows(ErrnoException.class, () -> p.lstat("/big/absent")).errno());
            Attributes a = p.lstat("/big/" + names.get(2499));
            assertTrue(a.isRegular());
        }
    }

    /** The physical block of /big's logical block 0, the dx_root. */
    private static long rootBlock(Path img) throws Exception {
        String out = run("debugfs", "-R", "bmap /big 0", img.toString());
        Matcher m = Pattern.compile("(?m)^(\\d+)\\s*$").matcher(out);
        assertTrue(m.find(), out);
        return Long.parseLong(m.group(1));
    }

    private Path damaged(Path from, int offset, byte[] bytes) throws Exception {
        Path img = dir.resolve("damaged");
        Files.copy(from, img, StandardCopyOption.REPLACE_EXISTING);
        long at = rootBlock(img) * 1024 + offset;
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.seek(at);
            f.write(bytes);
        }
        return img;
    }

    @Test
    void aRootCountAboveItsLimitFallsBackToALinearScanAndSaysSo() throws Exception {
        // dx_root: count/limit at byte 32 (limit 123 for 1 KiB blocks with a dx_tail); count := 124.
        Path img = damaged(withCsum, 34, new byte[] {124, 0});
        try (ExtVfs fs = mount(img, true)) {
            long big = fs.lookup(fs.rootInode(), "big");
            everyNameFound(fs, big);
            assertEquals(Errno.ENOENT, assertThrows(ErrnoException.class, () -> fs.lookup(big, "nope")).errno());
            List<String> w = fs.ext().warnings();
            assertEquals(1, w.size(), "said once for the directory: " + w);
            assertTrue(w.get(0).contains("directory inode " + big) && w.get(0).contains("count 124 (limit 123)")
                    && w.get(0).contains("linear scan"), w.get(0));
            assertEquals(List.of("WARNING " + w.get(0)), console);
        }
    }

    @Test
    void anIndexEntryPointingOutsideTheDirectoryFallsBack() throws Exception {
        // dx_root entry 1 ({hash, block} at byte 40): its block := 0x00ffffff, past the directory's end.
        Path img = damaged(withoutCsum, 44, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0});
        try (ExtVfs fs = mount(img, true)) {
            long big = fs.lookup(fs.rootInode(), "big");
            everyNameFound(fs, big);
            List<String> w = fs.ext().warnings();
            assertEquals(1, w.size(), w.toString());
            assertTrue(w.get(0).contains("points at block 16777215, outside the directory"), w.get(0));
        }
    }

    @Test
    void aBrokenIndexChecksumFallsBack() throws Exception {
        // A hash in dx_root entry 1 changed: order and bounds still hold, the dx_tail checksum does not.
        Path img = damaged(withCsum, 40, new byte[] {1});
        try (ExtVfs fs = mount(img, true)) {
            long big = fs.lookup(fs.rootInode(), "big");
            everyNameFound(fs, big);
            List<String> w = fs.ext().warnings();
            assertEquals(1, w.size(), w.toString());
            assertTrue(w.get(0).contains("dx_root: checksum"), w.get(0));
        }
    }

    /** The image with one block's bytes served from memory, so a test can damage it without copying the image. */
    private static final class Patched extends ForwardingBlockDevice {
        private final long at;
        private final byte[] bytes;

        Patched(BlockDevice below, long at, byte[] bytes) {
            super(below);
            this.at = at;
            this.bytes = bytes;
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws ErrnoException {
            int pos = dst.position();
            int len = dst.remaining();
            super.read(offset, dst);
            for (int i = 0; i < len; i++) {
                long o = offset + i;
                if (o >= at && o < at + bytes.length) {
                    dst.put(pos + i, bytes[(int) (o - at)]);
                }
            }
        }
    }

    /**
     * Seeded damage to the index (1-8 random bytes of the dx_root or the first dx_node, past the
     * root's "." and ".."; no metadata_csum, so damage reaches every check): each lookup finishes
     * with the right inode, ENOENT (a hash changed in a way no check can see sends the lookup to
     * another leaf, as it would on ext4) or EUCLEAN — never an unchecked exception, never a hang.
     */
    @Test
    @org.junit.jupiter.api.Timeout(60)
    void craftedIndexesNeitherThrowNorLoop() throws Exception {
        long rootPhys;
        long nodePhys;
        Map<String, Long> want;
        try (ExtVfs fs = mount(withoutCsum, true)) {
            long big = fs.lookup(fs.rootInode(), "big");
            Inode in = fs.ext().inode(big);
            want = linear(fs, big);
            rootPhys = fs.ext().map(in, 0).physical();
            ByteBuffer root = fs.ext().block(rootPhys, "dx_root");
            nodePhys = fs.ext().map(in, root.getInt(36) & 0x0fffffff).physical();
        }
        java.util.Random rnd = new java.util.Random(13);
        int fellBack = 0;
        for (int round = 0; round < 300; round++) {
            long block = rnd.nextBoolean() ? rootPhys : nodePhys;
            byte[] bytes;
            try (RandomAccessFile f = new RandomAccessFile(withoutCsum.toFile(), "r")) {
                bytes = new byte[1024];
                f.seek(block * 1024);
                f.readFully(bytes);
            }
            for (int k = 1 + rnd.nextInt(8); k > 0; k--) {
                bytes[24 + rnd.nextInt(1000)] = (byte) rnd.nextInt(256);
            }
            HostDisk disk = HostDisk.open(host, withoutCsum.toString(), OpenMode.READ_ONLY);
            try (ExtVfs fs = ExtVfs.mount(new Patched(disk, block * 1024, bytes), ExtFs.MountOptions.readOnlyMount())
                    .closing(disk)) {
                long big = fs.lookup(fs.rootInode(), "big");
                for (int i = 0; i < 20; i++) {
                    String n = names.get(rnd.nextInt(NAMES));
                    try {
                        assertEquals(want.get(n), fs.lookup(big, n), "round " + round + ": " + n);
                    } catch (ErrnoException e) {
                        assertTrue(e.errno() == Errno.ENOENT || e.errno() == Errno.EUCLEAN, e.toString());
                        assertTrue(!e.getMessage().contains("internal error"), e.getMessage());
                    }
                }
                fellBack += fs.ext().warnings().size();
            }
        }
        assertTrue(fellBack > 50, "most damage is caught and falls back: " + fellBack + " of 300");
    }

    /**
     * A run of equal hashes across two leaves, made from the fixture (no real half_md4 collision
     * is at hand): in the first dx_node, entry 1 — the second leaf — gets the hash of the last
     * name of that leaf with the collision bit set. A lookup of that name lands on the first leaf,
     * misses, and must go on to the next because its hash continues the run.
     */
    @Test
    void aLookupFollowsARunOfEqualHashesIntoTheNextLeaf() throws Exception {
        long nodePhys;
        String last = null;
        int lastHash = 0;
        long lastIno = 0;
        try (ExtVfs fs = mount(withoutCsum, true)) {
            long big = fs.lookup(fs.rootInode(), "big");
            Inode in = fs.ext().inode(big);
            ExtFs ext = fs.ext();
            ByteBuffer root = ext.block(ext.map(in, 0).physical(), "dx_root");
            nodePhys = ext.map(in, root.getInt(36) & 0x0fffffff).physical();
            ByteBuffer node = ext.block(nodePhys, "dx_node");
            long leafB = node.getInt(8 + 8 + 4) & 0x0fffffff;
            ByteBuffer leaf = ext.block(ext.map(in, leafB).physical(), "leaf");
            int[] seed = ext.superblock().hashSeed();
            for (int at = 0; at < 1024; at += leaf.getShort(at + 4) & 0xffff) {
                int len = leaf.get(at + 6) & 0xff;
                if (leaf.getInt(at) == 0 || len == 0) {
                    continue;
                }
                byte[] name = new byte[len];
                leaf.get(at + 8, name);
                int h = DxHash.hash(DxHash.HALF_MD4, name, seed);
                if (last == null || Integer.compareUnsigned(h, lastHash) > 0) {
                    last = new String(name, java.nio.charset.StandardCharsets.UTF_8);
                    lastHash = h;
                    lastIno = Integer.toUnsignedLong(leaf.getInt(at));
                }
            }
        }
        byte[] bytes = new byte[1024];
        try (RandomAccessFile f = new RandomAccessFile(withoutCsum.toFile(), "r")) {
            f.seek(nodePhys * 1024);
            f.readFully(bytes);
        }
        ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(8 + 8, lastHash | 1);
        HostDisk disk = HostDisk.open(host, withoutCsum.toString(), OpenMode.READ_ONLY);
        Counting counting = new Counting(new Patched(disk, nodePhys * 1024, bytes));
        try (ExtVfs fs = ExtVfs.mount(counting, ExtFs.MountOptions.readOnlyMount()).closing(disk)) {
            long big = fs.lookup(fs.rootInode(), "big");
            int before = counting.reads;
            assertEquals(lastIno, fs.lookup(big, last), last);
            assertEquals(5, counting.reads - before, "inode, dx_root, dx_node, the first leaf and the next");
            assertEquals(List.of(), fs.ext().warnings(), "a collision run is not damage");
        }
    }

    @Test
    void namesAddedToAnIndexedDirectoryAreFoundAndE2fsckAgrees() throws Exception {
        Path img = dir.resolve("written");
        Files.copy(withCsum, img);
        try (ExtVfs fs = mount(img, false)) {
            long big = fs.lookup(fs.rootInode(), "big");
            long before = fs.lookup(big, names.get(5));
            long made = fs.create(big, "new-file", 0100644, 0, 0, 0);
            assertEquals(made, fs.lookup(big, "new-file"));
            assertEquals(before, fs.lookup(big, names.get(5)));
            fs.unlink(big, names.get(6), false);
            assertEquals(Errno.ENOENT, assertThrows(ErrnoException.class, () -> fs.lookup(big, names.get(6))).errno());
            long sub = fs.create(big, "sub", 040755, 0, 0, 0);
            fs.rename(big, "sub", fs.rootInode(), "moved", ino -> false);
            assertEquals(sub, fs.lookup(fs.rootInode(), "moved"));
            // The indexed directory itself moves: its ".." is in the dx_root.
            fs.rename(fs.rootInode(), "big", sub, "big", ino -> false);
            assertEquals(big, fs.lookup(sub, "big"));
            assertEquals(sub, fs.lookup(big, ".."));
            assertEquals(List.of(), fs.ext().warnings());
        }
        ExtTools.assertClean(img);
        try (ExtVfs fs = mount(img, true)) {
            long moved = fs.lookup(fs.rootInode(), "moved");
            long big = fs.lookup(moved, "big");
            assertTrue(fs.lookup(big, "new-file") > 0);
            assertEquals(moved, fs.lookup(big, ".."), "'..' of a moved directory");
            for (String n : names.subList(7, NAMES)) {
                assertTrue(fs.lookup(big, n) > 0, n);
            }
            assertEquals(List.of(), fs.ext().warnings());
        }
    }

    /**
     * Every hash an index can use: {@code debugfs -w -R 'ssv def_hash_version V'} and {@code ssv
     * flags F} (1 signed, 2 unsigned char) on an image made by {@code mke2fs -t ext4 -b 1024 -d},
     * then {@code e2fsck -fyD} builds the index with them. Names have bytes above 0x7f, where the
     * signed and unsigned variants part.
     */
    @ParameterizedTest
    @CsvSource({"legacy,1", "legacy,2", "half_md4,1", "half_md4,2", "tea,1", "tea,2"})
    void everyHashVersionIsFollowed(String version, int flags) throws Exception {
        Path tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("d"));
        List<String> mine = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            String n = "ñämé-" + "ü".repeat(i % 20) + "-" + i;
            Files.createFile(tree.resolve("d").resolve(n));
            mine.add(n);
        }
        Path img = dir.resolve("img");
        run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-d", tree.toString(), img.toString(), "8M");
        run("debugfs", "-w", "-R", "ssv def_hash_version " + version, img.toString());
        run("debugfs", "-w", "-R", "ssv flags " + flags, img.toString());
        int rc = ExtTools.exec(new StringBuilder(), "e2fsck", "-fyD", img.toString());
        assertTrue(rc == 0 || rc == 1, "e2fsck -fyD exited " + rc);
        try (ExtVfs fs = mount(img, true)) {
            long d = fs.lookup(fs.rootInode(), "d");
            assertTrue(Htree.isIndexed(fs.ext().superblock(), fs.ext().inode(d)));
            assertEquals(flags == 2, fs.ext().superblock().unsignedHash());
            Map<String, Long> want = linear(fs, d);
            for (String n : mine) {
                assertEquals(want.get(n), fs.lookup(d, n), n);
            }
            assertEquals(List.of(), fs.ext().warnings());
        }
    }
}
