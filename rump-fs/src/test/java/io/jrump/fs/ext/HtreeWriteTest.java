package io.jrump.fs.ext;

import static io.jrump.fs.ext.ExtTools.assertClean;
import static io.jrump.fs.ext.ExtTools.mke2fs;
import static io.jrump.fs.ext.ExtTools.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.kernel.sys.Attributes;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Adding, removing and renaming thousands of names in a directory keeps it htree-indexed as ext4
 * does: images made by {@code mke2fs -t ext4 -b 1024} (with and without metadata_csum), their
 * default hash version, seed and signed/unsigned flag set with {@code debugfs ssv}; a directory
 * that starts linear, gets an index when its block fills, and grows to two levels; then
 * {@code e2fsck -fn} is clean, {@code debugfs htree} walks it, {@code debugfs ls} lists exactly
 * the names we hold, and our own lookups (through the index, after a remount) find every one.
 * Fails if e2fsprogs is missing.
 */
class HtreeWriteTest {
    @TempDir
    Path dir;
    private final JvmHost host = JvmHost.create("htree-write");

    @AfterEach
    void close() {
        host.close();
    }

    private ExtVfs mount(Path img) throws Exception {
        BlockDevice dev = HostDisk.open(host, img.toString(), OpenMode.READ_WRITE);
        return ExtVfs.mount(dev, ExtFs.MountOptions.readWrite(() -> ExtWriteTest.NOW)).closing(dev);
    }

    private Path image(boolean csum, String hash, boolean unsigned, String... extra) throws Exception {
        return image(1024, csum, hash, unsigned, extra);
    }

    private Path image(int blockSize, boolean csum, String hash, boolean unsigned, String... extra) throws Exception {
        Path img = dir.resolve("img");
        List<String> opts = new ArrayList<>(List.of("-O", csum ? "metadata_csum" : "^metadata_csum"));
        opts.addAll(List.of(extra));
        mke2fs(img, "ext4", blockSize, "48M", opts.toArray(new String[0]));
        run("debugfs", "-w", "-R", "ssv def_hash_version " + hash, img.toString());
        run("debugfs", "-w", "-R", "ssv hash_seed 3f1c2a9e-55b0-4d6e-8a11-0c9d2e7f6b48", img.toString());
        run("debugfs", "-w", "-R", "ssv flags " + (unsigned ? 2 : 1), img.toString());
        return img;
    }

    /** Some letters take two UTF-8 bytes above 0x7f, where the signed and unsigned hashes differ. */
    private static final String LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789._-\u00e9\u00fc\u00df";

    private static String randomName(Random r, Set<String> taken) {
        while (true) {
            int len = r.nextInt(4) == 0 ? 1 + r.nextInt(8) : 1 + r.nextInt(r.nextBoolean() ? 60 : 255);
            StringBuilder s = new StringBuilder(len);
            for (int i = 0; i < len; i++) {
                s.append(LETTERS.charAt(r.nextInt(LETTERS.length())));
            }
            String n = s.toString();
            while (n.getBytes(StandardCharsets.UTF_8).length > 255) {
                n = n.substring(0, n.length() - 1);
            }
            if (!n.equals(".") && !n.equals("..") && taken.add(n)) {
                return n;
            }
        }
    }

    /** The names {@code debugfs ls -p} lists in a directory, with their inodes. */
    private static Map<String, Long> debugfsLs(Path img, String path) throws Exception {
        Map<String, Long> out = new HashMap<>();
        String raw = run("debugfs", "-R", "ls -p " + path, img.toString()); // bytes as ISO-8859-1 chars
        String listing = new String(raw.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
        for (String line : listing.split("\n")) {
            String[] f = line.split("/", -1);
            // inode 0: an entry removed from the front of a block, which keeps its record
            if (f.length >= 7 && !f[5].equals(".") && !f[5].equals("..") && !f[1].equals("0")) {
                out.put(f[5], Long.parseLong(f[1]));
            }
        }
        return out;
    }

    /** Equal maps, or a short message naming a few of the differences. */
    private static void sameNames(Map<String, Long> want, Map<String, Long> got) {
        List<String> diff = new ArrayList<>();
        for (Map.Entry<String, Long> e : want.entrySet()) {
            if (!e.getValue().equals(got.get(e.getKey()))) {
                diff.add("want " + e.getKey() + "=" + e.getValue() + ", got " + got.get(e.getKey()));
            }
        }
        for (String n : got.keySet()) {
            if (!want.containsKey(n)) {
                diff.add("extra " + n + "=" + got.get(n));
            }
        }
        assertEquals(List.of(), diff.subList(0, Math.min(5, diff.size())), diff.size() + " differences of "
                + want.size() + " names");
    }

    /**
     * Random creates, unlinks and renames (within the directory, over existing names, in from
     * elsewhere), then the whole directory moved to a new parent (its root's ".." rewritten).
     */
    private void churn(Path img, int creates, int ops, long seed, int levels) throws Exception {
        Random r = new Random(seed);
        Set<String> taken = new HashSet<>();
        Map<String, Long> names = new HashMap<>();
        List<String> order = new ArrayList<>();
        try (ExtVfs fs = mount(img)) {
            long root = fs.rootInode();
            long d = fs.create(root, "d", Attributes.S_IFDIR | 0755, 0, 0, 0);
            long other = fs.create(root, "other", Attributes.S_IFDIR | 0755, 0, 0, 0);
            for (int i = 0; i < creates; i++) {
                String n = randomName(r, taken);
                int mode = i % 50 == 0 ? Attributes.S_IFDIR | 0755 : Attributes.S_IFREG | 0644;
                names.put(n, fs.create(d, n, mode, 0, 0, 0));
                order.add(n);
            }
            for (int i = 0; i < ops; i++) {
                int op = r.nextInt(5);
                String victim = order.get(r.nextInt(order.size()));
                if (!names.containsKey(victim)) {
                    continue;
                }
                boolean isDir = fs.getattr(names.get(victim)).isDirectory();
                switch (op) {
                    case 0 -> {
                        if (isDir) {
                            fs.rmdir(d, victim, false);
                        } else {
                            fs.unlink(d, victim, false);
                        }
                        names.remove(victim);
                    }
                    case 1 -> {
                        String n = randomName(r, taken);
                        names.put(n, fs.create(d, n, Attributes.S_IFREG | 0644, 0, 0, 0));
                        order.add(n);
                    }
                    case 2 -> {
                        String n = randomName(r, taken);
                        fs.rename(d, victim, d, n, x -> false);
                        names.put(n, names.remove(victim));
                        order.add(n);
                    }
                    case 3 -> {
                        String target = order.get(r.nextInt(order.size()));
                        if (!isDir && names.containsKey(target) && !target.equals(victim)
                                && !fs.getattr(names.get(target)).isDirectory()) {
                            fs.rename(d, victim, d, target, x -> false); // replaces the target
                            names.put(target, names.remove(victim));
                        }
                    }
                    default -> {
                        String n = randomName(r, taken);
                        long ino = fs.create(other, "x", Attributes.S_IFREG | 0644, 0, 0, 0);
                        fs.rename(other, "x", d, n, x -> false);
                        names.put(n, ino);
                        order.add(n);
                    }
                }
            }
            long p = fs.create(root, "p", Attributes.S_IFDIR | 0755, 0, 0, 0);
            fs.rename(root, "d", p, "d", x -> false);
            assertEquals(List.of(), fs.ext().warnings());
        }
        assertClean(img);
        String htree = run("debugfs", "-R", "htree /p/d", img.toString());
        assertFalse(htree.toLowerCase().contains("corrupt") || htree.contains("not an index") || htree.contains("Invalid"),
                htree.substring(0, Math.min(2000, htree.length())));
        assertTrue(htree.contains("Indirect levels: " + levels), "indirect levels " + levels + ":\n" + htree.substring(0, Math.min(600, htree.length())));
        sameNames(names, debugfsLs(img, "/p/d"));
        assertTrue(run("debugfs", "-R", "ls -p /p/d/..", img.toString()).contains("/d/"), "'..' points at /p");
        try (ExtVfs fs = mount(img)) {
            long d = ExtWriteTest.resolve(fs, "p/d");
            assertTrue(Htree.isIndexed(fs.ext().superblock(), fs.ext().inode(d)));
            for (Map.Entry<String, Long> e : names.entrySet()) {
                assertEquals(e.getValue(), fs.ext().htree.lookup(fs.ext().inode(d), e.getKey()), e.getKey());
            }
            for (String gone : taken) {
                if (!names.containsKey(gone)) {
                    assertEquals(0, fs.ext().htree.lookup(fs.ext().inode(d), gone), gone);
                }
            }
            assertEquals(ExtWriteTest.resolve(fs, "p"), fs.lookup(d, ".."));
            assertEquals(List.of(), fs.ext().warnings());
        }
    }

    @ParameterizedTest
    @CsvSource({"true, half_md4, false", "false, half_md4, false", "true, tea, true", "false, legacy, false",
        "true, legacy, true", "false, tea, false", "false, half_md4, true"})
    void manyNamesKeepTheIndexTheKernelWould(boolean csum, String hash, boolean unsigned) throws Exception {
        Path img = image(csum, hash, unsigned);
        churn(img, 2500, 1500, hash.hashCode() * 31L + (csum ? 1 : 0) + (unsigned ? 2 : 0), 1);
        String stats = run("dumpe2fs", "-h", img.toString());
        assertTrue(stats.contains("Default directory hash:   " + hash), stats);
    }

    /** With 4 KiB blocks the same churn fits under a root that points at leaves. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void fourKibBlocks(boolean csum) throws Exception {
        Path img = image(4096, csum, "half_md4", false);
        churn(img, 2500, 1500, 4096 + (csum ? 1 : 0), 0);
    }

    /**
     * Fills a directory with 255-byte names until its index has three levels (large_dir) or
     * refuses with ENOSPC (two levels full, as ext4 says "index full" without large_dir).
     * Returns the names put in.
     */
    private Map<String, Long> fill(ExtVfs fs, long d, boolean largeDir) throws Exception {
        Map<String, Long> names = new HashMap<>();
        for (int i = 0; ; i++) {
            String n = String.format("%06d-", i) + "w".repeat(248);
            try {
                names.put(n, fs.create(d, n, Attributes.S_IFREG | 0644, 0, 0, 0));
            } catch (io.jrump.hypercall.ErrnoException e) {
                assertFalse(largeDir, e.getMessage());
                assertEquals(io.jrump.hypercall.Errno.ENOSPC, e.errno());
                assertTrue(e.getMessage().contains("htree index full"), e.getMessage());
                return names;
            }
            if (largeDir && i % 256 == 255) {
                ExtFs ext = fs.ext();
                ext.lock.lock();
                try {
                    if ((ext.htree.checkedRoot(ext.inode(d)).get(30) & 0xff) == 2) {
                        return names;
                    }
                } finally {
                    ext.lock.unlock();
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aFullIndexGrowsAThirdLevelWithLargeDirElseIsFull(boolean largeDir) throws Exception {
        Path img = dir.resolve("img");
        List<String> opts = new ArrayList<>(List.of("-N", "48000", "-O", largeDir ? "large_dir" : "^metadata_csum"));
        mke2fs(img, "ext4", 1024, "80M", opts.toArray(new String[0]));
        Map<String, Long> names;
        try (ExtVfs fs = mount(img)) {
            long d = fs.create(fs.rootInode(), "full", Attributes.S_IFDIR | 0755, 0, 0, 0);
            names = fill(fs, d, largeDir);
        }
        assertClean(img);
        String htree = run("debugfs", "-R", "htree /full", img.toString());
        assertTrue(htree.contains("Indirect levels: " + (largeDir ? 2 : 1)), htree.substring(0, 600));
        try (ExtVfs fs = mount(img)) {
            long d = fs.lookup(fs.rootInode(), "full");
            for (Map.Entry<String, Long> e : names.entrySet()) {
                assertEquals(e.getValue(), fs.ext().htree.lookup(fs.ext().inode(d), e.getKey()), e.getKey());
            }
        }
    }

    @Test
    void aLinearDirectoryGetsAnIndexWhenItOutgrowsItsBlock() throws Exception {
        Path img = image(true, "half_md4", false);
        try (ExtVfs fs = mount(img)) {
            long d = fs.create(fs.rootInode(), "small", Attributes.S_IFDIR | 0755, 0, 0, 0);
            for (int i = 0; fs.getattr(d).size() == 1024; i++) {
                assertFalse(Htree.isIndexed(fs.ext().superblock(), fs.ext().inode(d)));
                fs.create(d, "entry-" + "y".repeat(40) + i, Attributes.S_IFREG | 0644, 0, 0, 0);
            }
            assertEquals(3 * 1024, fs.getattr(d).size(), "a dx_root over two leaves");
            assertTrue(Htree.isIndexed(fs.ext().superblock(), fs.ext().inode(d)));
        }
        assertClean(img);
        assertTrue(run("debugfs", "-R", "stat /small", img.toString()).contains("Flags: 0x81000"), "the index flag");
        String htree = run("debugfs", "-R", "htree /small", img.toString());
        assertTrue(htree.contains("Number of entries (count): 2"), htree);
    }

    /**
     * Pairs of short names with the same legacy hash, found by a birthday search over base-36
     * numbers: a directory made of such pairs splits leaves between equal hashes, which sets
     * the continuation bit in the index.
     */
    private static List<String[]> legacyCollisions(int pairs) {
        int bits = 23;
        int[] table = new int[1 << bits]; // hash slot -> name number + 1
        List<String[]> out = new ArrayList<>();
        Set<Integer> used = new HashSet<>();
        for (int i = 0; out.size() < pairs; i++) {
            String name = Integer.toString(i + 1_000_000, 36);
            int h = DxHash.hash(DxHash.LEGACY, name.getBytes(StandardCharsets.US_ASCII), null);
            int slot = (h >>> 1) & ((1 << bits) - 1);
            for (int probe = 0; ; probe++) {
                int at = (slot + probe) & ((1 << bits) - 1);
                if (table[at] == 0) {
                    table[at] = i + 1;
                    break;
                }
                String other = Integer.toString(table[at] - 1 + 1_000_000, 36);
                if (DxHash.hash(DxHash.LEGACY, other.getBytes(StandardCharsets.US_ASCII), null) == h) {
                    if (used.add(h)) {
                        out.add(new String[] {other, name});
                    }
                    break;
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void equalHashesStraddlingASplitAreMarkedAndFound(boolean csum) throws Exception {
        Path img = image(csum, "legacy", false);
        List<String[]> pairs = legacyCollisions(1500);
        Map<String, Long> names = new HashMap<>();
        try (ExtVfs fs = mount(img)) {
            long d = fs.create(fs.rootInode(), "c", Attributes.S_IFDIR | 0755, 0, 0, 0);
            for (String[] p : pairs) {
                for (String n : p) {
                    names.put(n, fs.create(d, n, Attributes.S_IFREG | 0644, 0, 0, 0));
                }
            }
            for (int i = 0; i < pairs.size(); i += 3) {
                fs.unlink(d, pairs.get(i)[i % 2], false); // through the index, past a continuation
                names.remove(pairs.get(i)[i % 2]);
            }
        }
        assertClean(img);
        String htree = run("debugfs", "-R", "htree /c", img.toString());
        long continued = htree.lines().filter(l -> l.matches("Entry #\\d+: Hash 0x[0-9a-f]{7}[13579bdf].*")).count();
        assertTrue(continued > 0, "some leaves continue a run of equal hashes:\n" + htree.substring(0, 800));
        sameNames(names, debugfsLs(img, "/c"));
        try (ExtVfs fs = mount(img)) {
            long d = fs.lookup(fs.rootInode(), "c");
            for (Map.Entry<String, Long> e : names.entrySet()) {
                assertEquals(e.getValue(), fs.ext().htree.lookup(fs.ext().inode(d), e.getKey()), e.getKey());
            }
        }
    }

    /** No block left for a leaf split: the create fails with ENOSPC and changes nothing. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void noBlockForASplitFailsCleanly(boolean csum) throws Exception {
        Path img = dir.resolve("img");
        mke2fs(img, "ext4", 1024, "8M", "-N", "4096", "-O", csum ? "metadata_csum" : "^metadata_csum");
        String last = null;
        try (ExtVfs fs = mount(img)) {
            long d = fs.create(fs.rootInode(), "d", Attributes.S_IFDIR | 0755, 0, 0, 0);
            for (int i = 0; i < 100; i++) {
                fs.create(d, "pre-" + i + "-" + "k".repeat(60), Attributes.S_IFREG | 0644, 0, 0, 0);
            }
            long f = fs.create(fs.rootInode(), "fill", Attributes.S_IFREG | 0644, 0, 0, 0);
            byte[] chunk = new byte[64 << 10];
            try {
                for (long off = 0; ; off += chunk.length) {
                    fs.write(f, off, java.nio.ByteBuffer.wrap(chunk));
                }
            } catch (io.jrump.hypercall.ErrnoException e) {
                assertEquals(io.jrump.hypercall.Errno.ENOSPC, e.errno());
            }
            io.jrump.hypercall.ErrnoException full = null;
            for (int i = 0; full == null; i++) {
                last = "more-" + i + "-" + "k".repeat(60);
                try {
                    fs.create(d, last, Attributes.S_IFREG | 0644, 0, 0, 0);
                } catch (io.jrump.hypercall.ErrnoException e) {
                    full = e;
                }
            }
            assertEquals(io.jrump.hypercall.Errno.ENOSPC, full.errno());
            assertEquals(0, fs.ext().htree.lookup(fs.ext().inode(d), last));
            fs.truncate(f, 0);
            fs.sync(); // blocks freed in a transaction are reused once it is home
            fs.create(d, last, Attributes.S_IFREG | 0644, 0, 0, 0);
        }
        assertClean(img);
        assertTrue(debugfsLs(img, "/d").containsKey(last));
    }

    /**
     * The kernel's ext4 driver and ours take turns on one index (through a loop mount, as root;
     * ./run-tests runs it): it adds and removes names in the index we built, we find its names
     * through the index and add more, and it finds every name.
     */
    @Test
    @org.junit.jupiter.api.Tag("root")
    @org.junit.jupiter.api.condition.EnabledIfSystemProperty(named = "user.name", matches = "root",
            disabledReason = "needs root (mount -o loop); ./run-tests, as root, runs it")
    void theKernelAndWeShareAnIndex() throws Exception {
        Path img = image(true, "half_md4", false);
        Map<String, Long> names = new HashMap<>();
        try (ExtVfs fs = mount(img)) {
            long d = fs.create(fs.rootInode(), "k", Attributes.S_IFDIR | 0755, 0, 0, 0);
            for (int i = 0; i < 2000; i++) {
                String n = "ours-" + i + "-" + "o".repeat(i % 150);
                names.put(n, fs.create(d, n, Attributes.S_IFREG | 0644, 0, 0, 0));
            }
        }
        Path mnt = java.nio.file.Files.createDirectories(dir.resolve("mnt"));
        run("mount", "-o", "loop", img.toString(), mnt.toString());
        try {
            for (int i = 0; i < 2000; i += 4) {
                String n = "ours-" + i + "-" + "o".repeat(i % 150);
                java.nio.file.Files.delete(mnt.resolve("k").resolve(n));
                names.remove(n);
            }
            for (int i = 0; i < 1500; i++) {
                java.nio.file.Files.createFile(mnt.resolve("k").resolve("kernel-" + i + "-" + "t".repeat(i % 120)));
            }
        } finally {
            run("umount", mnt.toString());
        }
        assertClean(img);
        try (ExtVfs fs = mount(img)) {
            long d = fs.lookup(fs.rootInode(), "k");
            assertTrue(Htree.isIndexed(fs.ext().superblock(), fs.ext().inode(d)));
            for (int i = 0; i < 1500; i++) {
                String n = "kernel-" + i + "-" + "t".repeat(i % 120);
                long ino = fs.ext().htree.lookup(fs.ext().inode(d), n);
                assertTrue(ino != 0, n);
                names.put(n, ino);
            }
            for (int i = 0; i < 1500; i++) {
                String n = "late-" + i + "-" + "l".repeat(i % 200);
                names.put(n, fs.create(d, n, Attributes.S_IFREG | 0644, 0, 0, 0));
            }
            for (int i = 1; i < 1500; i += 3) {
                fs.unlink(d, "kernel-" + i + "-" + "t".repeat(i % 120), false);
                names.remove("kernel-" + i + "-" + "t".repeat(i % 120));
            }
            assertEquals(List.of(), fs.ext().warnings());
        }
        assertClean(img);
        run("mount", "-o", "ro,loop", img.toString(), mnt.toString());
        try {
            for (Map.Entry<String, Long> e : names.entrySet()) {
                Object ino = java.nio.file.Files.getAttribute(mnt.resolve("k").resolve(e.getKey()), "unix:ino");
                assertEquals(e.getValue(), ((Number) ino).longValue(), e.getKey());
            }
            try (var listing = java.nio.file.Files.list(mnt.resolve("k"))) {
                assertEquals(names.size(), listing.count());
            }
        } finally {
            run("umount", mnt.toString());
        }
    }

    /** A damaged index is not written through: the directory is made linear, with a warning, and stays clean. */
    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aDamagedIndexIsMadeLinearBeforeAChange(boolean csum) throws Exception {
        Path img = image(csum, "half_md4", false);
        try (ExtVfs fs = mount(img)) {
            long d = fs.create(fs.rootInode(), "dmg", Attributes.S_IFDIR | 0755, 0, 0, 0);
            for (int i = 0; i < 200; i++) {
                fs.create(d, "name-" + i + "-" + "v".repeat(40), Attributes.S_IFREG | 0644, 0, 0, 0);
            }
        }
        long root = run("debugfs", "-R", "bmap /dmg 0", img.toString()).lines() // the line that is not debugfs's banner
                .filter(l -> l.trim().matches("\\d+")).mapToLong(l -> Long.parseLong(l.trim())).findFirst().orElseThrow();
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(img.toFile(), "rw")) {
            f.seek(root * 1024 + 34); // the dx_root's count
            f.write(new byte[] {(byte) 0xff, 0x7f});
        }
        try (ExtVfs fs = mount(img)) {
            long d = fs.lookup(fs.rootInode(), "dmg");
            fs.create(d, "after", Attributes.S_IFREG | 0644, 0, 0, 0);
            fs.unlink(d, "name-7-" + "v".repeat(40), false);
            assertFalse(Htree.isIndexed(fs.ext().superblock(), fs.ext().inode(d)));
            assertTrue(fs.ext().warnings().stream().anyMatch(w -> w.contains("making the directory linear")),
                    fs.ext().warnings().toString());
        }
        assertClean(img);
        Map<String, Long> listed = debugfsLs(img, "/dmg");
        assertEquals(200, listed.size());
        assertTrue(listed.containsKey("after") && !listed.containsKey("name-7-" + "v".repeat(40)));
    }

    @Test
    void anIndexE2fsckBuiltTakesNewNames() throws Exception {
        Path img = image(false, "half_md4", false);
        run("debugfs", "-w", "-R", "feature ^dir_index", img.toString()); // so that the 300 names stay linear
        try (ExtVfs fs = mount(img)) {
            long d = fs.create(fs.rootInode(), "e", Attributes.S_IFDIR | 0755, 0, 0, 0);
            for (int i = 0; i < 300; i++) {
                fs.create(d, String.format("pre-%03d-%s", i, "z".repeat(30)), Attributes.S_IFREG | 0644, 0, 0, 0);
            }
        }
        run("debugfs", "-w", "-R", "feature dir_index", img.toString());
        StringBuilder out = new StringBuilder();
        int rc = ExtTools.exec(out, "e2fsck", "-fyD", img.toString());
        assertTrue(rc == 0 || rc == 1, out.toString());
        assertTrue(run("debugfs", "-R", "htree /e", img.toString()).contains("Root node dump"));
        Map<String, Long> names = new HashMap<>();
        try (ExtVfs fs = mount(img)) {
            long d = fs.lookup(fs.rootInode(), "e");
            assertTrue(Htree.isIndexed(fs.ext().superblock(), fs.ext().inode(d)));
            for (int i = 0; i < 300; i += 2) {
                fs.unlink(d, String.format("pre-%03d-%s", i, "z".repeat(30)), false);
            }
            for (int i = 0; i < 1000; i++) {
                String n = String.format("new-%04d-%s", i, "q".repeat(i % 200));
                names.put(n, fs.create(d, n, Attributes.S_IFREG | 0644, 0, 0, 0));
            }
            for (int i = 1; i < 300; i += 2) {
                String n = String.format("pre-%03d-%s", i, "z".repeat(30));
                names.put(n, fs.lookup(d, n));
            }
            assertEquals(List.of(), fs.ext().warnings());
        }
        assertClean(img);
        sameNames(names, debugfsLs(img, "/e"));
    }
}
