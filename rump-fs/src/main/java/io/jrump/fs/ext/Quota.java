package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.TreeMap;

/**
 * ext4's own quota files (quota, project): user, group and project usage kept in hidden inodes
 * (s_usr_quota_inum, s_grp_quota_inum, s_prj_quota_inum) in the quota v2 tree format, version 1
 * ("vfsv1"): 1 KiB blocks; block 0 the header (magic, version) and info (grace times, block
 * count, free block list, free entry list); a four-level radix tree from block 1, one id byte a
 * level, its last level naming the data block that holds the id's 72-byte entry (14 a block
 * after a 16-byte header; entries: id, limits, inodes used, bytes used, grace deadlines).
 *
 * <p>Usage follows inode writes: each inode written is compared with what the inode table held
 * (owner, group, project, i_blocks, whether it is in use), and the difference gathered per id;
 * a commit adds it to the entries, inserting an entry (and tree blocks) for an id the file lacks.
 * Counted as e2fsck counts: inodes with links, the root and ordinary inodes, not the special
 * ones, the project quota file or the orphan file. Limits and grace times are kept as they are,
 * never enforced. The quota files' blocks are written as file data, not through the journal.
 */
final class Quota {
    static final int RO_COMPAT_QUOTA = 0x100;
    static final int RO_COMPAT_PROJECT = 0x2000;
    private static final int[] MAGIC = {0xd9c01f11, 0xd9c01927, 0xd9c03f14};
    private static final String[] NAMES = {"user", "group", "project"};
    private static final int[] SB_INUM = {0x240, 0x244, 0x26C};
    private static final int BLOCK = 1024;
    private static final int LEAF_HEADER = 16;
    private static final int ENTRY = 72;
    private static final int PER_LEAF = (BLOCK - LEAF_HEADER) / ENTRY;
    private static final int DEPTH = 4;
    /** A quota file past this many 1 KiB blocks is refused: 2^32 ids fit in far fewer for any real use. */
    private static final long MAX_BLOCKS = 1 << 22;

    private final ExtFs fs;
    private final Superblock sb;
    private final long[] inums = new long[3];
    private final long prjInum;
    private final long orphanFileInum;
    /** Per quota type: id to {bytes, inodes} not yet in the file. */
    private final Map<Long, long[]>[] pending;
    private Map<Long, long[]>[] saved;

    @SuppressWarnings("unchecked")
    private Quota(ExtFs fs) throws ErrnoException {
        this.fs = fs;
        this.sb = fs.superblock();
        pending = new Map[] {new TreeMap<>(), new TreeMap<>(), new TreeMap<>()};
        for (int t = 0; t < 3; t++) {
            inums[t] = Integer.toUnsignedLong(fs.superblockInt(SB_INUM[t]));
        }
        prjInum = inums[2];
        orphanFileInum = (sb.featureCompat() & OrphanFile.COMPAT_ORPHAN_FILE) != 0
                ? Integer.toUnsignedLong(fs.superblockInt(0x280)) : 0;
        if ((sb.featureRoCompat() & RO_COMPAT_PROJECT) == 0) {
            inums[2] = 0;
        }
    }

    /** The quota files of a filesystem with the quota feature, their headers checked; null without it. */
    static Quota open(ExtFs fs) throws ErrnoException {
        if ((fs.superblock().featureRoCompat() & RO_COMPAT_QUOTA) == 0) {
            return null;
        }
        Quota q = new Quota(fs);
        for (int t = 0; t < 3; t++) {
            if (q.inums[t] == 0) {
                continue;
            }
            if (q.inums[t] > fs.superblock().inodesCount()) {
                throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": " + NAMES[t] + " quota inode " + q.inums[t]
                        + " out of range");
            }
            ByteBuffer h = q.read(t, 0);
            if (h.getInt(0) != MAGIC[t] || h.getInt(4) != 1) {
                throw new ErrnoException(Errno.EOPNOTSUPP, String.format("%s: %s quota inode %d: header magic 0x%08x"
                        + " version %d, not the quota v2 format version 1 (vfsv1) this writer keeps", fs.deviceName(),
                        NAMES[t], q.inums[t], h.getInt(0), h.getInt(4)));
            }
        }
        return q;
    }

    // ---- usage from inode writes ------------------------------------------------------------------

    /**
     * An inode's share of usage: owner, group, project, bytes, inodes (itself and, with ea_inode,
     * one for each value inode its entries name), or null if it counts for nothing.
     */
    private record Share(long uid, long gid, long projid, long bytes, long inodes) {
    }

    private Share share(long ino, ByteBuffer b, int off) {
        int mode = b.getShort(off) & 0xffff;
        int links = b.getShort(off + 26) & 0xffff;
        if (mode == 0 || links == 0) {
            return null;
        }
        if (ino != ExtFs.ROOT_INODE && (ino < sb.firstIno() || ino == prjInum || ino == orphanFileInum)) {
            return null;
        }
        int flags = b.getInt(off + 32);
        if ((flags & Inode.EA_INODE_FL) != 0) {
            return null; // a value inode: charged to the inodes that name it
        }
        long blocks = Integer.toUnsignedLong(b.getInt(off + 28)) | (long) (b.getShort(off + 116) & 0xffff) << 32;
        if ((sb.featureRoCompat() & Superblock.RO_COMPAT_HUGE_FILE) != 0 && (flags & RawInode.HUGE_FILE_FL) != 0) {
            blocks *= sb.blockSize() / 512; // huge_file: counted in filesystem blocks
        }
        long uid = (b.getShort(off + 2) & 0xffff) | (long) (b.getShort(off + 120) & 0xffff) << 16;
        long gid = (b.getShort(off + 24) & 0xffff) | (long) (b.getShort(off + 122) & 0xffff) << 16;
        int extra = sb.inodeSize() > 128 ? b.getShort(off + 128) & 0xffff : 0;
        long projid = extra >= 32 ? Integer.toUnsignedLong(b.getInt(off + 156)) : 0;
        return new Share(uid, gid, projid, blocks * 512, 1 + valueInodes(ino, b, off, fileAcl(b, off)));
    }

    private static long fileAcl(ByteBuffer b, int off) {
        return Integer.toUnsignedLong(b.getInt(off + 104)) | (long) (b.getShort(off + 118) & 0xffff) << 32;
    }

    /** With ea_inode: the entries of an inode's region and of xattr block {@code block} that name value inodes. */
    private long valueInodes(long ino, ByteBuffer b, int off, long block) {
        if (!EaInodes.enabled(sb)) {
            return 0;
        }
        long n = 0;
        try {
            ByteBuffer alone = ByteBuffer.allocate(sb.inodeSize());
            alone.put(0, b, off, sb.inodeSize());
            for (Xattrs.Entry e : Xattrs.inInodeEntries(alone, 0, sb.inodeSize(), fs.deviceName() + ": inode " + ino)) {
                n += e.inEaInode() ? 1 : 0;
            }
            if (block != 0 && block < sb.blocksCount()) {
                ByteBuffer blk = fs.metaForRead(block, "inode " + ino + " xattr block");
                for (Xattrs.Entry e : Xattrs.blockEntries(blk, fs.deviceName() + ": inode " + ino + " xattr block " + block)) {
                    n += e.inEaInode() ? 1 : 0;
                }
            }
        } catch (ErrnoException e) {
            return n; // damaged xattrs count for what could be read; reading them reports the damage
        }
        return n;
    }

    /**
     * An xattr block only {@code owner} uses was rewritten in place before the owner's inode is
     * written: both sides of that write see the new block, so its change in value inodes
     * ({@code delta}) is charged here.
     */
    void valueInodesChanged(RawInode owner, long delta) {
        Share s = share(owner.number, owner.b, 0);
        if (s != null && delta != 0) {
            long[] ids = {s.uid(), s.gid(), s.projid()};
            for (int t = 0; t < 3; t++) {
                if (inums[t] != 0) {
                    pending[t].computeIfAbsent(ids[t], k -> new long[2])[1] += delta;
                }
            }
        }
    }

    /** Inode {@code ino} goes from {@code before} (at {@code beforeOff}) to {@code after} (at 0). */
    void inodeChanged(long ino, ByteBuffer before, int beforeOff, ByteBuffer after) {
        add(share(ino, before, beforeOff), -1);
        add(share(ino, after, 0), 1);
    }

    private void add(Share s, int sign) {
        if (s == null) {
            return;
        }
        long[] ids = {s.uid(), s.gid(), s.projid()};
        for (int t = 0; t < 3; t++) {
            if (inums[t] != 0) {
                long[] d = pending[t].computeIfAbsent(ids[t], k -> new long[2]);
                d[0] += sign * s.bytes();
                d[1] += sign * s.inodes();
            }
        }
    }

    @SuppressWarnings("unchecked")
    void begin() {
        saved = new Map[3];
        for (int t = 0; t < 3; t++) {
            Map<Long, long[]> copy = new TreeMap<>();
            pending[t].forEach((k, v) -> copy.put(k, v.clone()));
            saved[t] = copy;
        }
    }

    void rollback() {
        if (saved != null) {
            for (int t = 0; t < 3; t++) {
                pending[t].clear();
                pending[t].putAll(saved[t]);
            }
            saved = null;
        }
    }

    // ---- the files --------------------------------------------------------------------------------

    /** Adds what inode writes changed to the quota files; called at commit, before the metadata is sealed. */
    void flush() throws ErrnoException {
        for (int t = 0; t < 3; t++) {
            if (pending[t].isEmpty()) {
                continue;
            }
            Map<Long, long[]> todo = new TreeMap<>(pending[t]);
            pending[t].clear();
            ByteBuffer info = read(t, 0);
            byte[] infoBefore = info.array().clone();
            for (Map.Entry<Long, long[]> e : todo.entrySet()) {
                long[] d = e.getValue();
                if (d[0] == 0 && d[1] == 0) {
                    continue;
                }
                long at = entry(t, e.getKey(), info);
                ByteBuffer blk = read(t, at / BLOCK);
                int off = (int) (at % BLOCK);
                blk.putLong(off + 24, Math.max(0, blk.getLong(off + 24) + d[1]));
                blk.putLong(off + 48, Math.max(0, blk.getLong(off + 48) + d[0]));
                markUsed(blk, off);
                write(t, at / BLOCK, blk);
            }
            if (!java.util.Arrays.equals(infoBefore, info.array())) {
                write(t, 0, info); // blocks taken: the block count and the free lists changed
            }
        }
        saved = null; // what was pending is in the files now: a later rollback starts from here
    }

    private String where(int t) {
        return fs.deviceName() + ": " + NAMES[t] + " quota inode " + inums[t];
    }

    private ByteBuffer read(int t, long block) throws ErrnoException {
        Inode file = fs.inode(inums[t]);
        if (block >= MAX_BLOCKS || (block + 1) * BLOCK > file.size()) {
            throw new ErrnoException(Errno.EUCLEAN, where(t) + ": block " + block + " past its " + file.size()
                    + " bytes");
        }
        ByteBuffer b = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            int n = fs.read(file, block * BLOCK + b.position(), b);
            if (n <= 0) {
                throw new ErrnoException(Errno.EUCLEAN, where(t) + ": block " + block + " cannot be read whole");
            }
            b.position(b.position() + n);
        }
        return b.clear();
    }

    private void write(int t, long block, ByteBuffer b) throws ErrnoException {
        fs.writer().write(inums[t], block * BLOCK, b.duplicate().clear());
    }

    /** A block for the tree or for entries: from the free block list, else a new one at the file's end. */
    private long freeBlock(int t, ByteBuffer info) throws ErrnoException {
        long blk = Integer.toUnsignedLong(info.getInt(24));
        if (blk != 0) {
            info.putInt(24, read(t, blk).getInt(0));
        } else {
            blk = Integer.toUnsignedLong(info.getInt(20));
            if (blk >= MAX_BLOCKS) {
                throw new ErrnoException(Errno.ENOSPC, where(t) + ": " + blk + " blocks, no more");
            }
            info.putInt(20, (int) blk + 1);
        }
        write(t, blk, ByteBuffer.allocate(BLOCK));
        return blk;
    }

    /** The byte offset in the file of {@code id}'s entry, inserted (with its tree path) if the file has none. */
    private long entry(int t, long id, ByteBuffer info) throws ErrnoException {
        long blk = 1;
        for (int depth = 0; depth < DEPTH; depth++) {
            ByteBuffer tree = read(t, blk);
            int idx = (int) (id >>> ((DEPTH - 1 - depth) * 8)) & 0xff;
            long ref = Integer.toUnsignedLong(tree.getInt(idx * 4));
            if (ref >= MAX_BLOCKS || ref == 1) {
                throw new ErrnoException(Errno.EUCLEAN, where(t) + ": tree block " + blk + " entry " + idx + " points at "
                        + ref);
            }
            if (depth < DEPTH - 1) {
                if (ref == 0) {
                    ref = freeBlock(t, info);
                    tree.putInt(idx * 4, (int) ref);
                    write(t, blk, tree);
                }
                blk = ref;
                continue;
            }
            if (ref != 0) {
                ByteBuffer leaf = read(t, ref);
                for (int i = 0; i < PER_LEAF; i++) {
                    int off = LEAF_HEADER + i * ENTRY;
                    if (Integer.toUnsignedLong(leaf.getInt(off)) == id && !unused(leaf, off)) {
                        return ref * BLOCK + off;
                    }
                }
                throw new ErrnoException(Errno.EUCLEAN, where(t) + ": data block " + ref + " lacks the entry of id " + id
                        + " its tree names it for");
            }
            long at = insert(t, id, info);
            tree.putInt(idx * 4, (int) (at / BLOCK));
            write(t, blk, tree);
            return at;
        }
        throw new IllegalStateException("unreachable");
    }

    /** A new entry for {@code id} in a data block with room (the free entry list's first, or a new one). */
    private long insert(int t, long id, ByteBuffer info) throws ErrnoException {
        long blk = Integer.toUnsignedLong(info.getInt(28));
        ByteBuffer leaf;
        if (blk == 0) {
            blk = freeBlock(t, info);
            leaf = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
            info.putInt(28, (int) blk); // the only block on the free entry list
        } else {
            leaf = read(t, blk);
        }
        int entries = leaf.getShort(8) & 0xffff;
        int slot = -1;
        for (int i = 0; i < PER_LEAF && slot < 0; i++) {
            if (unused(leaf, LEAF_HEADER + i * ENTRY)) {
                slot = i;
            }
        }
        if (slot < 0 || entries >= PER_LEAF) {
            throw new ErrnoException(Errno.EUCLEAN, where(t) + ": data block " + blk + " is on the free entry list but full");
        }
        int off = LEAF_HEADER + slot * ENTRY;
        leaf.putInt(off, (int) id);
        markUsed(leaf, off);
        leaf.putShort(8, (short) ++entries);
        if (entries == PER_LEAF) {
            // Full: off the free entry list.
            long next = Integer.toUnsignedLong(leaf.getInt(0));
            long prev = Integer.toUnsignedLong(leaf.getInt(4));
            if (prev != 0) {
                ByteBuffer p = read(t, prev);
                p.putInt(0, (int) next);
                write(t, prev, p);
            } else {
                info.putInt(28, (int) next);
            }
            if (next != 0) {
                ByteBuffer n = read(t, next);
                n.putInt(4, (int) prev);
                write(t, next, n);
            }
            leaf.putInt(0, 0);
            leaf.putInt(4, 0);
        }
        write(t, blk, leaf);
        return blk * BLOCK + off;
    }

    private static boolean unused(ByteBuffer b, int off) {
        for (int i = 0; i < ENTRY; i++) {
            if (b.get(off + i) != 0) {
                return false;
            }
        }
        return true;
    }

    /** An entry of id 0 with nothing used would read as a free slot: quota tools then set its dqb_itime to 1. */
    private static void markUsed(ByteBuffer b, int off) {
        if (unused(b, off)) {
            b.putLong(off + 64, 1);
        }
    }

    // ---- for the checker --------------------------------------------------------------------------

    static final String[] TYPE_NAMES = NAMES;

    /** Whether quota type {@code t} (0 user, 1 group, 2 project) has a file. */
    boolean has(int t) {
        return inums[t] != 0;
    }

    /** An inode's ids per type, its bytes and inodes, or null if it counts for nothing (as e2fsck counts). */
    long[] countedAs(long ino, ByteBuffer raw) {
        Share s = share(ino, raw, 0);
        return s == null ? null : new long[] {s.uid(), s.gid(), s.projid(), s.bytes(), s.inodes()};
    }

    /** What the file of type {@code t} holds: id to {bytes, inodes}, every tree and data block read once. */
    Map<Long, long[]> fileUsage(int t) throws ErrnoException {
        Map<Long, long[]> out = new TreeMap<>();
        walk(t, 1, 0, new java.util.HashSet<>(), out);
        return out;
    }

    private void walk(int t, long blk, int depth, java.util.Set<Long> seen, Map<Long, long[]> out) throws ErrnoException {
        if (!seen.add(blk * DEPTH + depth)) {
            return;
        }
        ByteBuffer b = read(t, blk);
        if (depth == DEPTH) {
            for (int i = 0; i < PER_LEAF; i++) {
                int off = LEAF_HEADER + i * ENTRY;
                if (!unused(b, off)) {
                    out.put(Integer.toUnsignedLong(b.getInt(off)), new long[] {b.getLong(off + 48), b.getLong(off + 24)});
                }
            }
            return;
        }
        for (int i = 0; i < BLOCK / 4; i++) {
            long ref = Integer.toUnsignedLong(b.getInt(i * 4));
            if (ref != 0) {
                walk(t, ref, depth + 1, seen, out);
            }
        }
    }
}
