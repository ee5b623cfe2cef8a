package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A read-only consistency check of an ext2/3/4 filesystem, in the spirit of {@code e2fsck -fn}:
 * the directory tree from the root ('.' and '..' right, no directory reached twice, no entry
 * naming a free inode), link counts against the entries that name each inode, inode bitmaps
 * against the inodes in use, and every block an inode occupies marked in its group's block bitmap
 * and claimed by no other inode, and blocks marked in use that neither an inode nor the layout's
 * metadata (superblock and descriptor copies, reserved descriptor blocks, bitmaps, inode tables)
 * explains (leaks); directory entries' file types and duplicate names; per inode what
 * {@link InodeChecks} checks (dtime, flags, i_blocks, i_size); and each group's counts
 * ({@link GroupChecks}). Reads through the journal when it needs recovery. Not checked yet:
 * htree index internals, extent-tree interior consistency, quota and bad-blocks inodes.
 *
 * <p>With bigalloc, claims, bitmaps and leaks are per cluster, as the bitmaps count: an inode may
 * use several blocks of one cluster, another inode none of them, and i_blocks is charged per
 * cluster. The bit sets below are indexed by cluster (by block without bigalloc).
 */
public final class ExtCheck {
    /** Problems are listed up to this many; checking goes on. */
    static final int MAX_LISTED = 200;
    static final long RESIZE_INODE = 7;
    static final int INODE_UNINIT = 0x1;
    static final int BLOCK_UNINIT = 0x2;

    /** What the check found. */
    public record Result(List<String> problems, long inodesChecked, long directoriesChecked, long blocksClaimed) {
        public boolean isClean() {
            return problems.isEmpty();
        }
    }

    private ExtCheck() {
    }

    public static Result check(ExtFs fs) throws ErrnoException {
        Superblock sb = fs.superblock();
        if (sb.blocksCount() > Integer.MAX_VALUE || sb.inodesCount() >= Integer.MAX_VALUE) {
            throw new ErrnoException(Errno.EFBIG, "filesystem of " + sb.blocksCount() + " blocks and " + sb.inodesCount()
                    + " inodes is too large to check in memory");
        }
        List<String> problems = new ArrayList<>();
        BitSet inodeUsed = inodeBitmaps(fs, sb);
        Inode root = fs.inode(ExtFs.ROOT_INODE);
        if (!root.isDir()) {
            report(problems, "root inode 2 is not a directory (mode 0" + Integer.toOctalString(root.mode()) + ")");
            return new Result(problems, 1, 0, 0); // nothing is reachable without it
        }
        checkSpecialInodes(fs, sb, problems);
        Map<Long, Integer> references = new HashMap<>();
        Set<Long> reachable = new HashSet<>();
        Deque<long[]> dirs = new ArrayDeque<>(); // {dir, parent}
        dirs.add(new long[] {ExtFs.ROOT_INODE, ExtFs.ROOT_INODE});
        reachable.add(ExtFs.ROOT_INODE);
        long dirCount = 0;
        while (!dirs.isEmpty()) {
            long[] d = dirs.poll();
            dirCount++;
            List<Dirent> entries;
            try {
                entries = fs.readDir(fs.inode(d[0]));
            } catch (ErrnoException e) {
                damaged(problems, e); // a bad checksum or a broken block: report it, check the rest
                continue;
            }
            checkIndex(fs, sb, d[0], entries, problems);
            Set<String> names = new HashSet<>();
            for (Dirent e : entries) {
                if (!names.add(e.name())) {
                    report(problems, "directory inode " + d[0] + ": entry '" + e.name() + "' appears more than once");
                }
                if (e.inode() < 1 || e.inode() > sb.inodesCount() || !inodeUsed.get((int) e.inode())) {
                    report(problems, "directory inode " + d[0] + ": entry '" + e.name() + "' names inode " + e.inode()
                            + ", which is not in use");
                    continue;
                }
                references.merge(e.inode(), 1, Integer::sum);
                if (e.name().equals(".")) {
                    if (e.inode() != d[0]) {
                        report(problems, "directory inode " + d[0] + ": '.' names inode " + e.inode());
                    }
                    continue;
                }
                if (e.name().equals("..")) {
                    if (e.inode() != d[1]) {
                        report(problems, "directory inode " + d[0] + ": '..' names inode " + e.inode() + ", not its parent "
                                + d[1]);
                    }
                    continue;
                }
                Inode child;
                try {
                    child = fs.inode(e.inode());
                } catch (ErrnoException err) {
                    damaged(problems, err);
                    reachable.add(e.inode());
                    continue;
                }
                checkFileType(sb, d[0], e, child, problems);
                if (child.isDir()) {
                    if (!reachable.add(e.inode())) {
                        report(problems, "directory inode " + e.inode() + " is reached a second time, from directory inode "
                                + d[0] + " as '" + e.name() + "'");
                    } else {
                        dirs.add(new long[] {e.inode(), d[0]});
                    }
                } else {
                    reachable.add(e.inode());
                }
            }
        }
        // Link counts, and the blocks of every inode in use: reachable, unattached, the journal.
        int bits = Integer.numberOfTrailingZeros(sb.clusterRatio());
        BitSet claimed = new BitSet((int) sb.blocksCount());
        Map<Long, Long> owner = new HashMap<>(); // by cluster
        Set<Long> toWalk = new HashSet<>(reachable);
        Set<Long> unattached = new HashSet<>();
        Set<Long> directories = new HashSet<>();
        for (int ino = inodeUsed.nextSetBit((int) sb.firstIno()); ino >= 0; ino = inodeUsed.nextSetBit(ino + 1)) {
            if (!reachable.contains((long) ino) && ino != sb.journalInum() && linksOrZero(fs, ino, problems) > 0) {
                unattached.add((long) ino);
                toWalk.add((long) ino);
            }
        }
        if (sb.journalInum() != 0 && sb.hasJournal()) {
            toWalk.add(sb.journalInum());
        }
        Set<Long> hidden = HiddenInodes.of(fs); // quota files, the orphan file: named by the superblock
        toWalk.addAll(hidden);
        unattached.removeAll(hidden);
        Set<Long> xattrBlocks = new HashSet<>();
        EaInodeChecks valueInodes = new EaInodeChecks(fs);
        for (long ino : toWalk) {
            Inode inode;
            try {
                inode = fs.inode(ino);
            } catch (ErrnoException e) {
                damaged(problems, e);
                continue;
            }
            if (reachable.contains(ino)) {
                int refs = references.getOrDefault(ino, 0);
                boolean manySubdirs = inode.isDir() && inode.linksCount() == 1 && refs > 65000;
                if (inode.linksCount() != refs && !manySubdirs) {
                    report(problems, "inode " + ino + ": link count " + inode.linksCount() + ", but " + refs
                            + " directory entries name it");
                }
            }
            if (!inodeUsed.get((int) ino)) {
                report(problems, "inode " + ino + " is in use but free in the inode bitmap");
            }
            if (inode.isDir()) {
                directories.add(ino);
            }
            long[] occupied = {0};
            Set<Long> mine = bits > 0 ? new HashSet<>() : null; // this inode's clusters, each charged once
            try {
                fs.forEachBlock(inode, b -> {
                if (b <= 0 || b >= sb.blocksCount()) {
                    occupied[0]++;
                    report(problems, "inode " + ino + ": block " + b + " is outside the filesystem");
                    return;
                }
                long unit = b >>> bits;
                if (mine != null && !mine.add(unit)) {
                    return; // another block of a cluster this inode has
                }
                occupied[0]++;
                if (claimed.get((int) unit)) {
                    report(problems, "block " + b + " is claimed by inode " + owner.get(unit) + " and by inode " + ino);
                } else {
                    claimed.set((int) unit);
                    if (owner.size() < 1 << 22) {
                        owner.put(unit, ino);
                    }
                }
                });
                InodeChecks.check(fs, inode, occupied[0], p -> report(problems, p));
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EUCLEAN) {
                    throw e;
                }
                report(problems, e.detail()); // a damaged block map: say so and check the other inodes
            }
            claimXattrBlock(sb, inode, claimed, owner, xattrBlocks, problems, bits);
            valueInodes.collect(inode, p -> report(problems, p));
        }
        checkBlockBitmaps(fs, sb, claimed, owner, problems);
        GroupChecks.check(fs, inodeUsed, directories, p -> report(problems, p));
        valueInodes.finish(unattached, p -> report(problems, p));
        for (long ino : new java.util.TreeSet<>(unattached)) {
            report(problems, "inode " + ino + " is in use but no directory names it (unattached)");
        }
        checkLeaks(fs, sb, claimed, problems);
        QuotaChecks.check(fs, inodeUsed, p -> report(problems, p));
        return new Result(problems, toWalk.size(), dirCount, (long) claimed.cardinality() << bits); // whole clusters with bigalloc
    }

    /**
     * An indexed directory's index must lead to every name it holds: each entry is looked up
     * through the index (the root, nodes and hash order checked on the way), as e2fsck's pass 2
     * checks the tree.
     */
    private static void checkIndex(ExtFs fs, Superblock sb, long dir, List<Dirent> entries, List<String> problems)
            throws ErrnoException {
        Inode inode = fs.inode(dir);
        if ((inode.flags() & 0x1000) == 0) { // EXT4_INDEX_FL
            return;
        }
        if (!Htree.isIndexed(sb, inode)) {
            return; // the flag without dir_index: the kernel and e2fsck read the directory linearly
        }
        if (Encrypted.is(inode)) {
            return; // hashed over the encrypted names' bytes, which names read as text do not keep
        }
        try {
            for (Dirent e : entries) {
                if (e.name().equals(".") || e.name().equals("..")) {
                    continue;
                }
                long found = fs.htree.lookup(inode, e.name());
                if (found != e.inode()) {
                    report(problems, "htree directory inode " + dir + ": '" + e.name() + "' is not in the leaf its hash"
                            + " selects");
                    return;
                }
            }
        } catch (Htree.Damaged damaged) {
            report(problems, "htree directory inode " + dir + " has an invalid index: " + damaged.getMessage());
        } catch (ErrnoException err) {
            damaged(problems, err);
        }
    }

    /**
     * The bad-blocks inode's blocks must be marked in use; the resize inode may only hold its
     * double-indirect block (e2fsck pass 1 and its resize-inode check).
     */
    private static void checkSpecialInodes(ExtFs fs, Superblock sb, List<String> problems) throws ErrnoException {
        Inode badBlocks;
        try {
            badBlocks = fs.inode(1);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EUCLEAN) {
                throw e;
            }
            return; // never written (an all-zero inode, as mkfs may leave it: e2fsck accepts it), nothing listed
        }
        ByteBuffer bad = ByteBuffer.wrap(badBlocks.block()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 12; i++) {
            long b = Integer.toUnsignedLong(bad.getInt(i * 4));
            if (b != 0 && (b < sb.firstDataBlock() || b >= sb.blocksCount() || !marked(fs, sb, b))) {
                report(problems, "bad-blocks inode 1 lists block " + b + ", which is "
                        + (b >= sb.blocksCount() ? "outside the filesystem" : "not marked in use"));
            }
        }
        if ((sb.featureCompat() & Superblock.COMPAT_RESIZE_INODE) != 0) {
            ByteBuffer resize = ByteBuffer.wrap(fs.inode(RESIZE_INODE).block()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 15; i++) {
                if (i != 13 && resize.getInt(i * 4) != 0) {
                    report(problems, "resize inode 7 is not valid: block pointer " + i + " is set");
                    break;
                }
            }
        }
    }

    private static boolean marked(ExtFs fs, Superblock sb, long b) throws ErrnoException {
        long g = (b - sb.firstDataBlock()) / sb.blocksPerGroup();
        if ((fs.groupFlags(g) & BLOCK_UNINIT) != 0) {
            return false;
        }
        long bit = (b - sb.firstDataBlock()) % sb.blocksPerGroup() / sb.clusterRatio();
        ByteBuffer bitmap = fs.block(fs.blockBitmap(g), "block bitmap of group " + g);
        return (bitmap.get((int) (bit / 8)) & (1 << (bit % 8))) != 0;
    }

    /** With the filetype feature, an entry's type byte must be its inode's kind (e2fsck pass 2). */
    private static void checkFileType(Superblock sb, long dir, Dirent e, Inode child, List<String> problems) {
        if ((sb.featureIncompat() & Superblock.INCOMPAT_FILETYPE) == 0) {
            return;
        }
        int expected = switch (child.mode() & Inode.S_IFMT) {
            case Inode.S_IFREG -> 1;
            case Inode.S_IFDIR -> 2;
            case 0x2000 -> 3; // character device
            case 0x6000 -> 4; // block device
            case 0x1000 -> 5; // FIFO
            case 0xC000 -> 6; // socket
            case Inode.S_IFLNK -> 7;
            default -> 0;
        };
        if (e.fileType() != expected) {
            report(problems, "directory inode " + dir + ": entry '" + e.name() + "' has file type " + e.fileType()
                    + ", but inode " + e.inode() + " is of type " + expected);
        }
    }

    /** Inode-bitmap bits by inode number (bit n is inode n); INODE_UNINIT groups are free. */
    private static BitSet inodeBitmaps(ExtFs fs, Superblock sb) throws ErrnoException {
        BitSet used = new BitSet((int) Math.min(Integer.MAX_VALUE, sb.inodesCount() + 1));
        for (long g = 0; g < sb.groupCount(); g++) {
            if ((fs.groupFlags(g) & INODE_UNINIT) != 0) {
                continue;
            }
            ByteBuffer bitmap = fs.block(fs.inodeBitmap(g), "inode bitmap of group " + g);
            for (long i = 0; i < sb.inodesPerGroup(); i++) {
                if ((bitmap.get((int) (i / 8)) & (1 << (i % 8))) != 0) {
                    long ino = g * sb.inodesPerGroup() + i + 1;
                    if (ino <= sb.inodesCount()) {
                        used.set((int) ino);
                    }
                }
            }
        }
        return used;
    }

    private static void checkBlockBitmaps(ExtFs fs, Superblock sb, BitSet claimed, Map<Long, Long> owner,
            List<String> problems) throws ErrnoException {
        long g = -1;
        ByteBuffer bitmap = null;
        boolean uninit = false;
        int bits = Integer.numberOfTrailingZeros(sb.clusterRatio());
        for (int unit = claimed.nextSetBit(0); unit >= 0; unit = claimed.nextSetBit(unit + 1)) {
            long b = (long) unit << bits;
            long group = (b - sb.firstDataBlock()) / sb.blocksPerGroup();
            if (group != g) {
                g = group;
                uninit = (fs.groupFlags(g) & BLOCK_UNINIT) != 0;
                bitmap = uninit ? null : fs.block(fs.blockBitmap(g), "block bitmap of group " + g);
            }
            long bit = (b - sb.firstDataBlock()) % sb.blocksPerGroup() >>> bits;
            if (uninit || (bitmap.get((int) (bit / 8)) & (1 << (bit % 8))) == 0) {
                report(problems, "block " + b + " (inode " + owner.getOrDefault((long) unit, -1L) + ") is free in the block bitmap of group "
                        + g + (uninit ? " (BLOCK_UNINIT)" : ""));
            }
        }
    }

    /**
     * Blocks marked in use that no inode occupies and no metadata explains: superblock and
     * descriptor copies, reserved descriptor blocks, bitmaps, inode tables, the resize inode's
     * indirect block. Groups still BLOCK_UNINIT are skipped: their bitmap is implied.
     */
    private static void checkLeaks(ExtFs fs, Superblock sb, BitSet claimed, List<String> problems) throws ErrnoException {
        int bits = Integer.numberOfTrailingZeros(sb.clusterRatio());
        BitSet meta = new BitSet((int) sb.blocksCount()); // by cluster, as claimed
        long tableBlocks = (sb.inodesPerGroup() * sb.inodeSize() + sb.blockSize() - 1) / sb.blockSize();
        List<long[]> copies = new ArrayList<>();
        for (long g = 0; g < sb.groupCount(); g++) {
            copies.clear();
            GdtLayout.groupMetadata(sb, g, copies);
            for (long[] run : copies) {
                markRange(meta, sb, run[0], run[1], bits);
            }
            markRange(meta, sb, fs.blockBitmap(g), 1, bits);
            markRange(meta, sb, fs.inodeBitmap(g), 1, bits);
            markRange(meta, sb, fs.inodeTable(g), tableBlocks, bits);
        }
        if ((sb.featureCompat() & Superblock.COMPAT_RESIZE_INODE) != 0) {
            ByteBuffer iblock = ByteBuffer.wrap(fs.inode(RESIZE_INODE).block()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            markRange(meta, sb, Integer.toUnsignedLong(iblock.getInt(13 * 4)), 1, bits);
        }
        long leaks = 0;
        for (long g = 0; g < sb.groupCount(); g++) {
            if ((fs.groupFlags(g) & BLOCK_UNINIT) != 0) {
                continue;
            }
            ByteBuffer bitmap = fs.block(fs.blockBitmap(g), "block bitmap of group " + g);
            long start = sb.firstDataBlock() + g * sb.blocksPerGroup();
            for (long bit = 0; bit < sb.clustersPerGroup() && start + (bit << bits) < sb.blocksCount(); bit++) {
                long b = start + (bit << bits);
                int unit = (int) (b >>> bits);
                if ((bitmap.get((int) (bit / 8)) & (1 << (bit % 8))) != 0 && !claimed.get(unit) && !meta.get(unit)) {
                    leaks++;
                    report(problems, "block " + b + " is marked in use in group " + g + " but nothing uses it (leaked)");
                }
            }
        }
    }

    private static void markRange(BitSet meta, Superblock sb, long from, long count, int bits) {
        if (from >= 0 && from < sb.blocksCount() && count > 0) {
            long end = Math.min(sb.blocksCount(), from + count);
            meta.set((int) (from >>> bits), (int) (((end - 1) >>> bits) + 1));
        }
    }

    /** A structure that cannot be read (checksum, bounds) is a problem to report, not a reason to stop. */
    /** An inode's xattr block is in use; inodes may share one (h_refcount), data may not. */
    private static void claimXattrBlock(Superblock sb, Inode inode, BitSet claimed, Map<Long, Long> owner,
            Set<Long> xattrBlocks, List<String> problems, int bits) {
        long b = inode.fileAcl();
        if (b == 0 || xattrBlocks.contains(b)) {
            return;
        }
        if (b >= sb.blocksCount()) {
            report(problems, "inode " + inode.number() + ": xattr block " + b + " is outside the filesystem");
        } else if (claimed.get((int) (b >>> bits))) {
            report(problems, "block " + b + " is claimed by inode " + owner.get(b >>> bits) + " and by inode "
                    + inode.number() + " as its xattr block");
        } else {
            xattrBlocks.add(b);
            claimed.set((int) (b >>> bits));
            owner.put(b >>> bits, inode.number());
        }
    }

    private static void damaged(List<String> problems, ErrnoException e) throws ErrnoException {
        if (e.errno() != Errno.EUCLEAN) {
            throw e;
        }
        report(problems, e.detail());
    }

    private static int linksOrZero(ExtFs fs, long ino, List<String> problems) throws ErrnoException {
        try {
            return fs.inode(ino).linksCount();
        } catch (ErrnoException e) {
            damaged(problems, e);
            return 0;
        }
    }

    private static void report(List<String> problems, String problem) {
        if (problems.size() < MAX_LISTED && !problems.contains(problem)) {
            problems.add(problem);
        }
    }
}
