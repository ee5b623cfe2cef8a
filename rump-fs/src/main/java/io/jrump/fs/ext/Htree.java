package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Looking a name up through a directory's htree index (an ext3/ext4 directory with
 * {@code EXT4_INDEX_FL} on a filesystem with dir_index): the dx_root in logical block 0, at most
 * two levels of dx_node below it (three with large_dir), then the leaf block that holds the
 * name's hash — and the leaves after it while they continue a run of the same hash. A lookup
 * reads {@code indirect_levels + 2} blocks, not the whole directory.
 *
 * <p>Every field of the index is checked before it is used: the root's header (reserved zero,
 * hash version, info length, depth), each node's limit against the block size, its count
 * against the limit, its hashes for order, its block numbers against the directory's size and,
 * with metadata_csum, its dx_tail checksum. A failed check is {@link Damaged}, on which the
 * caller falls back to a linear scan as ext4 does. The walk is bounded by the depth and by the
 * number of blocks in the directory. Callers hold the filesystem lock.
 */
final class Htree {
    /** The index is inconsistent; the message says where and how. Stackless: it is expected input, not a bug. */
    static final class Damaged extends Exception {
        Damaged(String message) {
            super(message, null, false, false);
        }
    }

    static final int ROOT_COUNT_OFFSET = 32;
    static final int NODE_COUNT_OFFSET = 8;
    static final int DX_TAIL = 8;

    private final ExtFs fs;

    Htree(ExtFs fs) {
        this.fs = fs;
    }

    /** Whether lookups in {@code dir} go through its index: an indexed directory on a dir_index filesystem. */
    static boolean isIndexed(Superblock sb, Inode dir) {
        return dir.isDir() && sb.hasDirIndex() && (dir.flags() & RawInode.INDEX_FL) != 0 && !dir.hasInlineData();
    }

    /** The deepest indirect_levels this filesystem allows (0: the root points at leaves). */
    static int maxIndirectLevels(Superblock sb) {
        return sb.hasLargeDir() ? 2 : 1;
    }

    /** One level of the walk: an index block, where its count/limit header is, and the entry chosen. */
    static final class Level {
        ByteBuffer block;
        long logical;
        int countOffset;
        int count;
        int at;
    }

    /** A walk from the root down to one hash's leaf: the index blocks on the way, each at the entry taken. */
    static final class Walk {
        final Level[] path;
        final int hash;
        final long blocks;
        long leaf;

        Walk(Level[] path, int hash, long blocks) {
            this.path = path;
            this.hash = hash;
            this.blocks = blocks;
        }
    }

    /**
     * The inode {@code name} names in the indexed directory {@code dir}, or 0 if the index says
     * there is none.
     *
     * @throws Damaged if the index is inconsistent
     * @throws ErrnoException if a block cannot be read, or a leaf holds a bad entry
     */
    long lookup(Inode dir, String name) throws Damaged, ErrnoException {
        return find(dir, name)[0];
    }

    /**
     * The logical leaf block holding {@code name} in the indexed directory {@code dir}, or -1
     * if the index says there is none ("." and ".." live in the root, block 0).
     */
    long leafOf(Inode dir, String name) throws Damaged, ErrnoException {
        long[] found = find(dir, name);
        return found[0] == 0 ? -1 : found[1];
    }

    /** {inode, leaf block} of {@code name}; inode 0 if it is not there. */
    private long[] find(Inode dir, String name) throws Damaged, ErrnoException {
        ByteBuffer root = checkedRoot(dir);
        if (Dirent.isDot(name)) {
            return new long[] {Integer.toUnsignedLong(root.getInt(0)), 0};
        }
        if (Dirent.isDotDot(name)) {
            return new long[] {Integer.toUnsignedLong(root.getInt(12)), 0};
        }
        Walk w = walk(dir, root, name.getBytes(StandardCharsets.UTF_8));
        Level[] path = w.path;
        int indirect = path.length - 1;
        long blocks = w.blocks;
        long leaf = w.leaf;
        // Leaves in hash order: scan this one, then the next while its hash continues ours (a collision run).
        for (long scanned = 0; scanned < blocks; scanned++) {
            long ino = scanLeaf(dir, leaf, name);
            if (ino != 0) {
                return new long[] {ino, leaf};
            }
            int l = indirect;
            while (l >= 0 && path[l].at + 1 >= path[l].count) {
                l--;
            }
            if (l < 0) {
                return new long[] {0, -1}; // the last leaf
            }
            path[l].at++;
            int next = entryHash(path[l], path[l].at);
            if ((next & ~1) != w.hash) {
                return new long[] {0, -1};
            }
            for (int k = l; k < indirect; k++) {
                path[k + 1] = node(dir, child(path[k], blocks));
                path[k + 1].at = 0;
            }
            leaf = child(path[indirect], blocks);
        }
        throw new Damaged("the leaves of hash 0x" + Integer.toHexString(w.hash) + " run on past the directory's "
                + blocks + " blocks");
    }

    /** The hash version the root names, with the superblock's unsigned-char flag applied. */
    static int hashVersion(Superblock sb, ByteBuffer root) {
        int v = root.get(28) & 0xff;
        return v <= DxHash.TEA && sb.unsignedHash() ? v + DxHash.LEGACY_UNSIGNED : v;
    }

    /** The hash the index keeps for {@code name}: in a casefolded directory, of its folded form. */
    static int nameHash(Superblock sb, boolean casefolded, int version, byte[] name) {
        return DxHash.hash(version, casefolded ? Casefold.foldBytes(name) : name, sb.hashSeed());
    }

    /** The dx_root of {@code dir}, its '.', '..' and info header checked. */
    ByteBuffer checkedRoot(Inode dir) throws Damaged, ErrnoException {
        int bs = fs.blockSize();
        Superblock sb = fs.superblock();
        if (dir.size() < 2L * bs || dir.size() % bs != 0 || dir.size() > (1L << 32)) {
            throw new Damaged("directory size " + dir.size() + " cannot hold an index");
        }
        ByteBuffer root = block(dir, 0);
        // The root begins with "." and "..", whose ".." record spans the rest of the block.
        if ((root.getShort(4) & 0xffff) != 12 || (root.get(6) & 0xff) != 1 || root.get(8) != '.'
                || (root.getShort(12 + 4) & 0xffff) != bs - 12 || (root.get(12 + 6) & 0xff) != 2) {
            throw new Damaged("dx_root does not begin with '.' and '..'");
        }
        int reserved = root.getInt(24);
        int hashVersion = root.get(28) & 0xff;
        int infoLength = root.get(29) & 0xff;
        int indirect = root.get(30) & 0xff;
        if (reserved != 0) {
            throw new Damaged("dx_root reserved_zero is " + reserved);
        }
        if (infoLength != 8) {
            throw new Damaged("dx_root info_length " + infoLength + ", not 8");
        }
        if (hashVersion > DxHash.TEA) {
            throw new Damaged("dx_root hash_version " + hashVersion + " unknown");
        }
        if (indirect > maxIndirectLevels(sb)) {
            throw new Damaged("dx_root indirect_levels " + indirect + " above " + maxIndirectLevels(sb)
                    + (sb.hasLargeDir() ? "" : " (no large_dir)"));
        }
        return root;
    }

    /** Walks from a checked root to the leaf that {@code name}'s hash selects. */
    Walk walk(Inode dir, ByteBuffer root, byte[] name) throws Damaged, ErrnoException {
        long blocks = dir.size() / fs.blockSize();
        int indirect = root.get(30) & 0xff;
        int hash = nameHash(fs.superblock(), Casefold.applies(fs.superblock(), dir), hashVersion(fs.superblock(), root), name);
        Level[] path = new Level[indirect + 1];
        path[0] = level(dir, root, 0, ROOT_COUNT_OFFSET);
        for (int l = 0; ; l++) {
            Level lv = path[l];
            lv.at = search(lv, hash);
            if (l == indirect) {
                break;
            }
            path[l + 1] = node(dir, child(lv, blocks));
        }
        Walk w = new Walk(path, hash, blocks);
        w.leaf = child(path[indirect], blocks);
        return w;
    }

    private ByteBuffer block(Inode dir, long logical) throws ErrnoException {
        ExtFs.Mapping m = fs.map(dir, logical);
        if (m.physical() == 0) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": directory inode " + dir.number()
                    + ": hole at block " + logical);
        }
        return fs.block(m.physical(), "directory inode " + dir.number() + " block " + logical);
    }

    /** An interior node: a fake entry spanning the block, then the count/limit header. */
    private Level node(Inode dir, long logical) throws Damaged, ErrnoException {
        ByteBuffer b = block(dir, logical);
        int bs = fs.blockSize();
        int recLen = b.getShort(4) & 0xffff;
        if (b.getInt(0) != 0 || !(recLen == bs || recLen == 0 && bs == 65536) || (b.get(6) & 0xff) != 0) {
            throw new Damaged("block " + logical + " is not a dx_node (its first record is not an empty one spanning it)");
        }
        return level(dir, b, logical, NODE_COUNT_OFFSET);
    }

    private Level level(Inode dir, ByteBuffer b, long logical, int countOffset) throws Damaged {
        int bs = fs.blockSize();
        boolean csum = fs.superblock().hasMetadataCsum();
        int limit = b.getShort(countOffset) & 0xffff;
        int count = b.getShort(countOffset + 2) & 0xffff;
        int expected = (bs - countOffset - (csum ? DX_TAIL : 0)) / 8;
        String what = logical == 0 ? "dx_root" : "dx_node in block " + logical;
        if (limit != expected) {
            throw new Damaged(what + ": limit " + limit + ", expected " + expected + " for " + bs + "-byte blocks");
        }
        if (count == 0 || count > limit) {
            throw new Damaged(what + ": count " + count + " (limit " + limit + ")");
        }
        if (csum) {
            int tail = countOffset + limit * 8;
            int crc = Crc32c.update(fs.inodeSeed(dir.number(), dir.generation()), b, 0, countOffset + count * 8);
            crc = Crc32c.update(crc, b, tail, 4);
            crc = Crc32c.updateInt(crc, 0);
            if (b.getInt(tail + 4) != crc) {
                throw new Damaged(String.format("%s: checksum 0x%08x, expected 0x%08x", what, b.getInt(tail + 4), crc));
            }
        }
        Level lv = new Level();
        lv.block = b;
        lv.logical = logical;
        lv.countOffset = countOffset;
        lv.count = count;
        for (int i = 2; i < count; i++) {
            if (Integer.compareUnsigned(entryHash(lv, i), entryHash(lv, i - 1)) < 0) {
                throw new Damaged(what + ": hashes out of order at entry " + i);
            }
        }
        return lv;
    }

    /** The hash of entry {@code i} (entry 0 has none: it covers every hash below entry 1's). */
    static int entryHash(Level lv, int i) {
        return i == 0 ? 0 : lv.block.getInt(lv.countOffset + 8 * i);
    }

    /** The last entry whose hash is at most {@code hash}. */
    private static int search(Level lv, int hash) {
        int lo = 1;
        int hi = lv.count - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Integer.compareUnsigned(entryHash(lv, mid), hash) > 0) {
                hi = mid - 1;
            } else {
                lo = mid + 1;
            }
        }
        return lo - 1;
    }

    /** The logical block the chosen entry points at, which must be inside the directory and not the root. */
    static long child(Level lv, long blocks) throws Damaged {
        long b = Integer.toUnsignedLong(lv.block.getInt(lv.countOffset + 8 * lv.at + 4)) & 0x0fffffff;
        if (b == 0 || b >= blocks) {
            throw new Damaged((lv.logical == 0 ? "dx_root" : "dx_node in block " + lv.logical) + ": entry " + lv.at
                    + " points at block " + b + ", outside the directory's 1-" + (blocks - 1));
        }
        return b;
    }

    /** Looks {@code name} up in one leaf block; 0 if it is not there. */
    private long scanLeaf(Inode dir, long logical, String name) throws ErrnoException {
        ByteBuffer b = block(dir, logical);
        int bs = fs.blockSize();
        if (fs.superblock().hasMetadataCsum() && ExtFs.hasDirTail(b, bs)) {
            fs.verifyDirTail(dir, b, logical);
        }
        boolean folded = Casefold.applies(fs.superblock(), dir);
        byte[] want = name.getBytes(StandardCharsets.UTF_8);
        if (folded) {
            want = Casefold.foldBytes(want);
        }
        int at = 0;
        String where = fs.deviceName() + ": directory inode " + dir.number() + ", block " + logical;
        while (at < bs) {
            int recLen = DirEntries.recordLength(b, at, bs, DirEntries.MIN_BLOCK_RECORD, where);
            long ino = Integer.toUnsignedLong(b.getInt(at));
            int nameLen = b.get(at + 6) & 0xff;
            if (ino != 0 && (folded ? Arrays.equals(Casefold.foldBytes(entryName(b, at, nameLen)), want)
                    : nameLen == want.length && Arrays.equals(b.array(), b.arrayOffset() + at + 8,
                    b.arrayOffset() + at + 8 + nameLen, want, 0, want.length))) {
                return ino;
            }
            at += recLen;
        }
        return 0;
    }

    private static byte[] entryName(ByteBuffer b, int at, int nameLen) {
        byte[] n = new byte[nameLen];
        b.get(at + 8, n);
        return n;
    }
}
