package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeping an htree directory indexed while names come and go, as ext4's namei.c does. A name
 * goes into the leaf its hash selects; a full leaf is split — its entries sorted by hash, the
 * upper half by size moved to a new block, a new index entry made with the first moved hash
 * (its low bit set when equal hashes straddle the split, the continuation mark); a full
 * dx_node is split in two the same way, and a full root moves its entries into a new dx_node
 * below it (one more indirect level, up to {@link Htree#maxIndirectLevels}). Removing a name
 * only removes its entry: leaves are never merged. A linear directory whose single block
 * fills is converted, as make_indexed_dir does, into a dx_root (with "." and "..") over two
 * leaves. The hash version comes from the root (s_def_hash_version for a new index), made
 * unsigned by s_flags, seeded by s_hash_seed; with metadata_csum leaves keep their dirent
 * tail and index blocks their dx_tail. Callers hold the filesystem lock.
 */
final class HtreeWriter {
    private final ExtFs fs;
    private final ExtWriter writer;
    private final DirWriter dirs;

    HtreeWriter(ExtFs fs, ExtWriter writer, DirWriter dirs) {
        this.fs = fs;
        this.writer = writer;
        this.dirs = dirs;
    }

    private boolean csum() {
        return fs.superblock().hasMetadataCsum();
    }

    /** How many {hash, block} entries fit in an index block whose count/limit header is at {@code countOffset}. */
    private int limit(int countOffset) {
        return (fs.blockSize() - countOffset - (csum() ? Htree.DX_TAIL : 0)) / 8;
    }

    private long physical(RawInode dir, long lb) throws ErrnoException {
        ExtFs.Mapping m = fs.map(dir.parsed(), lb);
        if (m.physical() == 0) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": directory inode " + dir.number + ": hole at block " + lb);
        }
        return m.physical();
    }

    /**
     * Adds {@code name → ino} to the indexed directory {@code dir}. Returns false, having said
     * why through {@link ExtFs#warn}, when the index is damaged: the caller then makes the
     * directory linear, as ext4 falls back when it meets a bad index.
     */
    boolean add(RawInode dir, byte[] name, long ino, int fileType) throws ErrnoException {
        // Each round inserts, or makes room one step (a leaf split, a node split, a new level).
        for (int round = 0; round < 8; round++) {
            Htree.Walk w;
            try {
                Inode d = dir.parsed();
                w = fs.htree.walk(d, fs.htree.checkedRoot(d), name);
            } catch (Htree.Damaged e) {
                fs.warn("directory inode " + dir.number + ": htree index damaged (" + e.getMessage()
                        + "); making the directory linear");
                return false;
            }
            if (dirs.insertInBlock(dir, w.leaf, name, ino, fileType)) {
                return true;
            }
            makeRoom(dir, w);
        }
        throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": directory inode " + dir.number
                + ": no room for a new name after splitting its htree leaf");
    }

    private void makeRoom(RawInode dir, Htree.Walk w) throws ErrnoException {
        Htree.Level[] p = w.path;
        int last = p.length - 1;
        int l = last;
        while (l >= 0 && p[l].count >= limit(p[l].countOffset)) {
            l--;
        }
        if (l == last) {
            splitLeaf(dir, w);
        } else if (l >= 0) {
            splitNode(dir, p[l], p[l + 1]);
        } else if (last < Htree.maxIndirectLevels(fs.superblock())) {
            addLevel(dir, p[0]);
        } else {
            throw new ErrnoException(Errno.ENOSPC, fs.deviceName() + ": directory inode " + dir.number
                    + ": htree index full (" + (last + 1) + " levels" + (fs.superblock().hasLargeDir() ? ")" : "; no large_dir)"));
        }
    }

    /** One live entry of a leaf, with its hash. */
    private record Entry(long ino, int type, byte[] name, int hash) {
        int size() {
            return DirWriter.recLenFor(name.length);
        }
    }

    private List<Entry> entries(RawInode dir, ByteBuffer b, int from, long lb, int hashVersion) throws ErrnoException {
        List<Entry> out = new ArrayList<>();
        boolean folded = Casefold.applies(fs.superblock(), dir.parsed());
        int usable = fs.blockSize() - (csum() ? DirWriter.TAIL : 0);
        for (int at = from; at < usable; ) {
            int recLen = dirs.recLen(b, at, dir, lb);
            long ino = Integer.toUnsignedLong(b.getInt(at));
            int nameLen = b.get(at + 6) & 0xff;
            if (ino != 0 && nameLen > 0) {
                byte[] name = new byte[nameLen];
                b.get(at + 8, name);
                out.add(new Entry(ino, b.get(at + 7) & 0xff, name,
                        Htree.nameHash(fs.superblock(), folded, hashVersion, name)));
            }
            at += recLen;
        }
        out.sort((x, y) -> Integer.compareUnsigned(x.hash, y.hash));
        return out;
    }

    /** Where sorted entries split: the upper half by size moves, as ext4's do_split chooses. */
    private int splitPoint(List<Entry> sorted) {
        int half = fs.blockSize() / 2;
        int size = 0;
        int move = 0;
        int i;
        for (i = sorted.size() - 1; i >= 0; i--) {
            if (size + sorted.get(i).size() / 2 > half) {
                break;
            }
            size += sorted.get(i).size();
            move++;
        }
        int split = i > 0 ? sorted.size() - move : sorted.size() / 2;
        return Math.max(1, Math.min(split, sorted.size() - 1));
    }

    /** The index hash of the block that starts at {@code split}: its hash, +1 when the one before shares it. */
    private static int splitHash(List<Entry> sorted, int split) {
        int h = sorted.get(split).hash;
        return sorted.get(split - 1).hash == h ? h | 1 : h;
    }

    /** Writes entries packed into a leaf block, the last record taking the rest of it. */
    private void writeLeaf(RawInode dir, ByteBuffer w, List<Entry> entries) {
        int bs = fs.blockSize();
        int usable = bs - (csum() ? DirWriter.TAIL : 0);
        for (int i = 0; i < bs; i++) {
            w.put(i, (byte) 0);
        }
        int at = 0;
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            int recLen = i == entries.size() - 1 ? usable - at : e.size();
            DirWriter.putEntry(w, at, e.ino, recLen, e.name, e.type);
            at += recLen;
        }
        if (entries.isEmpty()) {
            w.putShort(4, (short) usable);
        }
        dirs.seal(dir, w);
    }

    private void splitLeaf(RawInode dir, Htree.Walk w) throws ErrnoException {
        Htree.Level parent = w.path[w.path.length - 1];
        long pb = physical(dir, w.leaf);
        ByteBuffer root = fs.metaForRead(physical(dir, 0), "directory block");
        int version = Htree.hashVersion(fs.superblock(), root);
        List<Entry> sorted = entries(dir, fs.metaForRead(pb, "directory block"), 0, w.leaf, version);
        if (sorted.size() < 2) {
            // Full of empty records, not names: packing what is left makes the room.
            writeLeaf(dir, fs.metaForWrite(pb, "directory block"), sorted);
            return;
        }
        int split = splitPoint(sorted);
        int hash2 = splitHash(sorted, split);
        long newLb = dir.size() / fs.blockSize();
        dirs.checkGrowth(dir, newLb);
        long newPb = writer.appendBlock(dir, newLb);
        writeLeaf(dir, fs.metaForWrite(pb, "directory block"), sorted.subList(0, split));
        writeLeaf(dir, fs.metaZeroed(newPb), sorted.subList(split, sorted.size()));
        insertIndex(dir, parent, hash2, newLb);
    }

    /** Adds {hash → block} to an index block right after the entry the walk took. */
    private void insertIndex(RawInode dir, Htree.Level lv, int hash, long block) throws ErrnoException {
        ByteBuffer w = fs.metaForWrite(physical(dir, lv.logical), "directory index block");
        int co = lv.countOffset;
        int count = w.getShort(co + 2) & 0xffff;
        int pos = lv.at + 1;
        for (int i = count - 1; i >= pos; i--) {
            w.putLong(co + 8 * (i + 1), w.getLong(co + 8 * i));
        }
        w.putInt(co + 8 * pos, hash);
        w.putInt(co + 8 * pos + 4, (int) block);
        w.putShort(co + 2, (short) (count + 1));
        sealIndex(dir, w, co);
    }

    /** A new dx_node: an empty record spanning the block, then the header and {@code entries} (8 bytes each). */
    private void writeNode(RawInode dir, ByteBuffer w, byte[] entries, int count) {
        int bs = fs.blockSize();
        int co = Htree.NODE_COUNT_OFFSET;
        w.putInt(0, 0);
        w.putShort(4, (short) bs);
        w.put(co, entries, 0, count * 8);
        w.putShort(co, (short) limit(co));
        w.putShort(co + 2, (short) count);
        sealIndex(dir, w, co);
    }

    private static byte[] entryBytes(ByteBuffer b, int co, int from, int to) {
        byte[] out = new byte[(to - from) * 8];
        b.get(co + 8 * from, out);
        return out;
    }

    /** Splits a full dx_node in two by count; the parent, which has room, gets the upper half's first hash. */
    private void splitNode(RawInode dir, Htree.Level parent, Htree.Level node) throws ErrnoException {
        long pb = physical(dir, node.logical);
        ByteBuffer w = fs.metaForWrite(pb, "directory index block");
        int co = node.countOffset;
        int count = w.getShort(co + 2) & 0xffff;
        int split = count / 2;
        int hash2 = w.getInt(co + 8 * split);
        long newLb = dir.size() / fs.blockSize();
        dirs.checkGrowth(dir, newLb);
        long newPb = writer.appendBlock(dir, newLb);
        writeNode(dir, fs.metaZeroed(newPb), entryBytes(w, co, split, count), count - split);
        w = fs.metaForWrite(pb, "directory index block");
        for (int i = co + 8 * split; i < co + 8 * count; i++) {
            w.put(i, (byte) 0);
        }
        w.putShort(co + 2, (short) split);
        sealIndex(dir, w, co);
        insertIndex(dir, parent, hash2, newLb);
    }

    /** A full root: its entries move to a new dx_node, which the root then points at alone. */
    private void addLevel(RawInode dir, Htree.Level root) throws ErrnoException {
        long rootPb = physical(dir, 0);
        ByteBuffer r = fs.metaForRead(rootPb, "directory index block");
        int co = Htree.ROOT_COUNT_OFFSET;
        int count = r.getShort(co + 2) & 0xffff;
        byte[] moved = entryBytes(r, co, 0, count);
        long newLb = dir.size() / fs.blockSize();
        dirs.checkGrowth(dir, newLb);
        long newPb = writer.appendBlock(dir, newLb);
        writeNode(dir, fs.metaZeroed(newPb), moved, count);
        ByteBuffer w = fs.metaForWrite(rootPb, "directory index block");
        for (int i = co + 8; i < co + 8 * count; i++) {
            w.put(i, (byte) 0);
        }
        w.putShort(co + 2, (short) 1);
        w.putInt(co + 4, (int) newLb);
        w.put(30, (byte) ((w.get(30) & 0xff) + 1));
        sealIndex(dir, w, co);
    }

    /** The dx_tail checksum of an index block: crc32c over the header and used entries, then the tail's reserved word. */
    void sealIndex(RawInode dir, ByteBuffer w, int co) {
        if (!csum()) {
            return;
        }
        int limit = w.getShort(co) & 0xffff;
        int count = w.getShort(co + 2) & 0xffff;
        int tail = co + limit * 8;
        w.putInt(tail, 0);
        int crc = Crc32c.update(fs.inodeSeed(dir.number, dir.generation()), w, 0, co + count * 8);
        crc = Crc32c.update(crc, w, tail, 4);
        crc = Crc32c.updateInt(crc, 0);
        w.putInt(tail + 4, crc);
    }

    /**
     * Turns the full single block of a linear directory into a dx_root over two leaves, as
     * ext4's make_indexed_dir does. Returns false, changing nothing, when the block does not
     * begin with "." and ".." or the default hash version is not one we know.
     */
    boolean makeIndexed(RawInode dir) throws ErrnoException {
        Superblock sb = fs.superblock();
        int defVersion = sb.defHashVersion();
        if (defVersion > DxHash.TEA || dir.size() != fs.blockSize()) {
            return false;
        }
        long rootPb = physical(dir, 0);
        ByteBuffer b = fs.metaForRead(rootPb, "directory block");
        if ((b.getShort(4) & 0xffff) != 12 || (b.get(6) & 0xff) != 1 || b.get(8) != '.'
                || (b.get(12 + 6) & 0xff) != 2 || b.get(12 + 8) != '.' || b.get(12 + 9) != '.') {
            return false;
        }
        int dotdotLen = dirs.recLen(b, 12, dir, 0);
        int version = defVersion + (sb.unsignedHash() ? DxHash.LEGACY_UNSIGNED : 0);
        List<Entry> sorted = entries(dir, b, 12 + dotdotLen, 0, version);
        if (sorted.size() < 2) {
            return false;
        }
        int split = splitPoint(sorted);
        int hash2 = splitHash(sorted, split);
        long pb1 = writer.appendBlock(dir, 1);
        long pb2 = writer.appendBlock(dir, 2);
        writeLeaf(dir, fs.metaZeroed(pb1), sorted.subList(0, split));
        writeLeaf(dir, fs.metaZeroed(pb2), sorted.subList(split, sorted.size()));
        int bs = fs.blockSize();
        ByteBuffer w = fs.metaForWrite(rootPb, "directory block");
        for (int i = 24; i < bs; i++) {
            w.put(i, (byte) 0);
        }
        w.putShort(12 + 4, (short) (bs - 12));
        w.put(28, (byte) defVersion);
        w.put(29, (byte) 8);
        int co = Htree.ROOT_COUNT_OFFSET;
        w.putShort(co, (short) limit(co));
        w.putShort(co + 2, (short) 2);
        w.putInt(co + 4, 1);
        w.putInt(co + 8, hash2);
        w.putInt(co + 12, 2);
        sealIndex(dir, w, co);
        dir.flags(dir.flags() | RawInode.INDEX_FL);
        return true;
    }
}
