package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Block and inode allocation on the group bitmaps, keeping the descriptors' free counts, flags and
 * bitmap checksums and the superblock's totals right. Blocks are found from a goal onwards, so a
 * file that grows asks near its last block and stays contiguous; new inodes go to the parent's
 * group, new directories to the group with the most free blocks.
 *
 * <p>With bigalloc the bitmaps and the descriptors' counts are per cluster of
 * {@link Superblock#clusterRatio()} blocks: {@link #allocBlocks} hands out whole clusters (their
 * first block and their blocks), a free releases every cluster the run touches, and
 * {@link #freeBlocks()} stays in blocks, as the superblock counts them.
 *
 * <p>Frees are deferred to the commit: a block freed in the running transaction must not be
 * handed out again before that transaction reaches the disk, or a crash could leave the old owner
 * pointing at someone else's data (the reason jbd2 keeps such blocks busy too).
 */
final class Allocator {
    private final ExtFs fs;
    private final Superblock sb;
    private final GroupDescriptors gd;
    private final List<long[]> deferredFrees = new ArrayList<>();
    /** log2 of the blocks per cluster; 0 without bigalloc. */
    private final int bits;
    /** Free clusters (blocks without bigalloc), as the group descriptors count them. */
    private long freeBlocks;
    private long freeInodes;

    Allocator(ExtFs fs, Superblock sb, GroupDescriptors gd) {
        this.fs = fs;
        this.sb = sb;
        this.gd = gd;
        this.bits = Integer.numberOfTrailingZeros(sb.clusterRatio());
        long blocks = 0;
        long inodes = 0;
        for (long g = 0; g < sb.groupCount(); g++) {
            blocks += gd.half(g, GroupDescriptors.FREE_BLOCKS);
            inodes += gd.half(g, GroupDescriptors.FREE_INODES);
        }
        this.freeBlocks = blocks;
        this.freeInodes = inodes;
    }

    /** The allocator's counters and deferred frees as they were when an operation began. */
    record Savepoint(long freeBlocks, long freeInodes, int frees, long lastRunLength) {
    }

    Savepoint save() {
        long last = deferredFrees.isEmpty() ? 0 : deferredFrees.get(deferredFrees.size() - 1)[1];
        return new Savepoint(freeBlocks, freeInodes, deferredFrees.size(), last);
    }

    void restore(Savepoint s) {
        freeBlocks = s.freeBlocks();
        freeInodes = s.freeInodes();
        while (deferredFrees.size() > s.frees()) {
            deferredFrees.remove(deferredFrees.size() - 1);
        }
        if (s.frees() > 0) {
            deferredFrees.get(s.frees() - 1)[1] = s.lastRunLength();
        }
    }

    /** Free blocks, as the superblock counts them: with bigalloc the free clusters times their size. */
    long freeBlocks() {
        return freeBlocks << bits;
    }

    /** 512-byte sectors i_blocks is charged for one allocation: a block, or with bigalloc a cluster. */
    long sectorsPerAllocation() {
        return ((long) sb.blockSize() << bits) / 512;
    }

    long freeInodes() {
        return freeInodes;
    }

    private long groupStart(long g) {
        return sb.firstDataBlock() + g * sb.blocksPerGroup();
    }

    private long groupBlocks(long g) {
        return Math.min(sb.blocksPerGroup(), sb.blocksCount() - groupStart(g));
    }

    /** Clusters a group's bitmap covers (a short last group has fewer); only whole clusters are allocated. */
    private long groupClusters(long g) {
        return groupBlocks(g) >>> bits;
    }

    long groupOf(long block) {
        return (block - sb.firstDataBlock()) / sb.blocksPerGroup();
    }

    // ---- bitmaps -------------------------------------------------------------------------------

    /** A group's block bitmap, ready to change; a BLOCK_UNINIT group's is built from the layout first. */
    private ByteBuffer blockBitmap(long g) throws ErrnoException {
        long at = gd.word(g, GroupDescriptors.BLOCK_BITMAP);
        int flags = gd.flags(g);
        if ((flags & GroupDescriptors.BLOCK_UNINIT) == 0) {
            return fs.metaForWrite(at, "block bitmap of group " + g);
        }
        ByteBuffer b = fs.metaZeroed(at);
        long start = groupStart(g);
        for (long[] range : fs.layoutMetadata()) {
            for (long blk = Math.max(range[0], start); blk < Math.min(range[0] + range[1], start + sb.blocksPerGroup()); blk++) {
                setBit(b, (blk - start) >>> bits);
            }
        }
        padBlockBitmap(g, b);
        gd.setFlags(g, flags & ~GroupDescriptors.BLOCK_UNINIT);
        sealBlockBitmap(g, b);
        return b;
    }

    /** Bits past the end of a short last group, and past the group in the bitmap block, read as used. */
    private void padBlockBitmap(long g, ByteBuffer b) {
        for (long bit = (groupBlocks(g) + (1L << bits) - 1) >>> bits; bit < (long) b.capacity() * 8; bit++) {
            setBit(b, bit);
        }
    }

    private ByteBuffer inodeBitmap(long g) throws ErrnoException {
        long at = gd.word(g, GroupDescriptors.INODE_BITMAP);
        int flags = gd.flags(g);
        if ((flags & GroupDescriptors.INODE_UNINIT) == 0) {
            return fs.metaForWrite(at, "inode bitmap of group " + g);
        }
        ByteBuffer b = fs.metaZeroed(at);
        for (long bit = sb.inodesPerGroup(); bit < (long) b.capacity() * 8; bit++) {
            setBit(b, bit);
        }
        gd.setFlags(g, flags & ~GroupDescriptors.INODE_UNINIT);
        if (gd.hasChecksums()) {
            gd.setHalf(g, GroupDescriptors.ITABLE_UNUSED, sb.inodesPerGroup());
        }
        sealInodeBitmap(g, b);
        return b;
    }

    private void sealBlockBitmap(long g, ByteBuffer b) {
        if (sb.hasMetadataCsum()) {
            gd.setBitmapChecksum(g, GroupDescriptors.BLOCK_BITMAP_CSUM,
                    Crc32c.update(sb.checksumSeed(), b, 0, (int) (sb.clustersPerGroup() / 8)));
        }
    }

    private void sealInodeBitmap(long g, ByteBuffer b) {
        if (sb.hasMetadataCsum()) {
            gd.setBitmapChecksum(g, GroupDescriptors.INODE_BITMAP_CSUM,
                    Crc32c.update(sb.checksumSeed(), b, 0, (int) (sb.inodesPerGroup() / 8)));
        }
    }

    static boolean bit(ByteBuffer b, long bit) {
        return (b.get((int) (bit >>> 3)) & (1 << (bit & 7))) != 0;
    }

    static void setBit(ByteBuffer b, long bit) {
        int i = (int) (bit >>> 3);
        b.put(i, (byte) (b.get(i) | (1 << (bit & 7))));
    }

    private static void clearBit(ByteBuffer b, long bit) {
        int i = (int) (bit >>> 3);
        b.put(i, (byte) (b.get(i) & ~(1 << (bit & 7))));
    }

    /** The first clear bit in {@code [from, to)}, or -1; whole full words and bytes are skipped at once. */
    private static long firstClear(ByteBuffer b, long from, long to) {
        long bit = from;
        while (bit < to) {
            if ((bit & 63) == 0 && bit + 64 <= to && b.getLong((int) (bit >>> 3)) == -1L) {
                bit += 64;
                continue;
            }
            if ((bit & 7) == 0 && bit + 8 <= to && b.get((int) (bit >>> 3)) == (byte) 0xFF) {
                bit += 8;
                continue;
            }
            if (!bit(b, bit)) {
                return bit;
            }
            bit++;
        }
        return -1;
    }

    // ---- blocks --------------------------------------------------------------------------------

    /**
     * Allocates up to {@code want} blocks in a row, at or after {@code goal} if it can; returns
     * {start, count} with count ≥ 1. {@code ENOSPC} when the filesystem is full. With bigalloc
     * the run is whole clusters: start is a cluster's first block, count a multiple of the
     * cluster size, and up to {@code want} blocks rounded up to whole clusters.
     */
    long[] allocBlocks(long goal, long want) throws ErrnoException {
        want = (want + (1L << bits) - 1) >>> bits;
        if (freeBlocks == 0) {
            throw new ErrnoException(Errno.ENOSPC, fs.deviceName() + ": no free blocks");
        }
        if (goal < sb.firstDataBlock() || goal >= sb.blocksCount()) {
            goal = sb.firstDataBlock();
        }
        long first = groupOf(goal);
        for (long n = 0; n <= sb.groupCount(); n++) {
            long g = (first + n) % sb.groupCount();
            if (gd.half(g, GroupDescriptors.FREE_BLOCKS) == 0) {
                continue;
            }
            long from = n == 0 ? (goal - groupStart(g)) >>> bits : 0;
            ByteBuffer bitmap = blockBitmap(g);
            long bit = firstClear(bitmap, from, groupClusters(g));
            if (bit < 0 && from > 0) {
                bit = firstClear(bitmap, 0, from);
            }
            if (bit < 0) {
                continue;
            }
            long count = 0;
            while (count < want && bit + count < groupClusters(g) && !bit(bitmap, bit + count)) {
                count++;
            }
            String metadata = fs.metadataIn(groupStart(g) + (bit << bits), count << bits);
            if (metadata != null) {
                // A damaged bitmap would have us write file data or an xattr block over the filesystem's own
                // structures (as the kernel's "Allocating blocks ... which overlap fs metadata"): refuse.
                throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": the block bitmap of group " + g
                        + " marks free " + metadata);
            }
            for (long i = 0; i < count; i++) {
                setBit(bitmap, bit + i);
            }
            sealBlockBitmap(g, bitmap);
            gd.setHalf(g, GroupDescriptors.FREE_BLOCKS, gd.half(g, GroupDescriptors.FREE_BLOCKS) - count);
            freeBlocks -= count;
            return new long[] {groupStart(g) + (bit << bits), count << bits};
        }
        throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": free block count " + freeBlocks
                + " disagrees with the group bitmaps, which have none");
    }

    /** Frees a run of blocks at the next commit. */
    void freeBlocks(long start, long count) throws ErrnoException {
        if (start < sb.firstDataBlock() || count < 0 || start + count > sb.blocksCount()) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": freeing " + count + " blocks at " + start
                    + " outside the filesystem");
        }
        if (count == 0) {
            return;
        }
        long[] last = deferredFrees.isEmpty() ? null : deferredFrees.get(deferredFrees.size() - 1);
        if (last != null && last[0] + last[1] == start) {
            last[1] += count; // a file freed block by block still makes one run
        } else {
            deferredFrees.add(new long[] {start, count});
        }
    }

    boolean hasDeferredFrees() {
        return !deferredFrees.isEmpty();
    }

    /** Clears the deferred frees in the bitmaps; called while a commit gathers its blocks. */
    void applyDeferredFrees() throws ErrnoException {
        for (long[] run : deferredFrees) {
            long block = run[0];
            long end = run[0] + run[1];
            while (block < end) {
                long g = groupOf(block);
                long stop = Math.min(end, groupStart(g) + groupBlocks(g));
                ByteBuffer bitmap = blockBitmap(g);
                long freed = 0;
                // With bigalloc: every cluster the run touches (callers free a cluster once, when no block of it is used).
                for (long c = (block - groupStart(g)) >>> bits; c <= (stop - 1 - groupStart(g)) >>> bits; c++) {
                    if (!bit(bitmap, c)) {
                        throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": freeing block "
                                + (groupStart(g) + (c << bits)) + ", already free in the bitmap of group " + g);
                    }
                    clearBit(bitmap, c);
                    freed++;
                }
                sealBlockBitmap(g, bitmap);
                gd.setHalf(g, GroupDescriptors.FREE_BLOCKS, gd.half(g, GroupDescriptors.FREE_BLOCKS) + freed);
                freeBlocks += freed;
                block = stop;
            }
        }
        deferredFrees.clear();
    }

    // ---- inodes --------------------------------------------------------------------------------

    /** Allocates an inode: a directory in the group with most free blocks, anything else near its parent. */
    long allocInode(long parent, boolean directory) throws ErrnoException {
        if (freeInodes == 0) {
            throw new ErrnoException(Errno.ENOSPC, fs.deviceName() + ": no free inodes");
        }
        long start = (parent - 1) / sb.inodesPerGroup();
        if (directory) {
            long best = -1;
            long avg = freeInodes / sb.groupCount();
            for (long g = 0; g < sb.groupCount(); g++) {
                long fi = gd.half(g, GroupDescriptors.FREE_INODES);
                if (fi > 0 && fi >= avg && (best < 0
                        || gd.half(g, GroupDescriptors.FREE_BLOCKS) > gd.half(best, GroupDescriptors.FREE_BLOCKS))) {
                    best = g;
                }
            }
            if (best >= 0) {
                start = best;
            }
        }
        for (long n = 0; n < sb.groupCount(); n++) {
            long g = (start + n) % sb.groupCount();
            if (gd.half(g, GroupDescriptors.FREE_INODES) == 0) {
                continue;
            }
            ByteBuffer bitmap = inodeBitmap(g);
            long from = g == 0 ? sb.firstIno() - 1 : 0;
            long bit = firstClear(bitmap, from, sb.inodesPerGroup());
            if (bit < 0) {
                continue;
            }
            setBit(bitmap, bit);
            sealInodeBitmap(g, bitmap);
            gd.setHalf(g, GroupDescriptors.FREE_INODES, gd.half(g, GroupDescriptors.FREE_INODES) - 1);
            if (directory) {
                gd.setHalf(g, GroupDescriptors.USED_DIRS, gd.half(g, GroupDescriptors.USED_DIRS) + 1);
            }
            raiseItableBoundary(g, bit);
            freeInodes--;
            return g * sb.inodesPerGroup() + bit + 1;
        }
        throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": free inode count " + freeInodes
                + " disagrees with the group bitmaps, which have none");
    }

    /**
     * With group checksums, bg_itable_unused says how much of the table's tail was never used;
     * an inode past it moves the boundary, and slots between never zeroed are zeroed now.
     */
    private void raiseItableBoundary(long g, long index) throws ErrnoException {
        if (!gd.hasChecksums()) {
            return;
        }
        long unused = gd.half(g, GroupDescriptors.ITABLE_UNUSED);
        if (unused > sb.inodesPerGroup()) {
            // A boundary before the table's start would zero slots of the groups before it.
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": group descriptor " + g + ": bg_itable_unused "
                    + unused + " exceeds the " + sb.inodesPerGroup() + " inodes per group");
        }
        long boundary = sb.inodesPerGroup() - unused;
        if (index < boundary) {
            return;
        }
        if ((gd.flags(g) & GroupDescriptors.INODE_ZEROED) == 0) {
            for (long i = boundary; i < index; i++) {
                fs.zeroInodeSlot(g * sb.inodesPerGroup() + i + 1);
            }
        }
        gd.setHalf(g, GroupDescriptors.ITABLE_UNUSED, sb.inodesPerGroup() - index - 1);
    }

    void freeInode(long ino, boolean directory) throws ErrnoException {
        long g = (ino - 1) / sb.inodesPerGroup();
        long bit = (ino - 1) % sb.inodesPerGroup();
        ByteBuffer bitmap = inodeBitmap(g);
        if (!bit(bitmap, bit)) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": freeing inode " + ino + ", already free in its bitmap");
        }
        clearBit(bitmap, bit);
        sealInodeBitmap(g, bitmap);
        gd.setHalf(g, GroupDescriptors.FREE_INODES, gd.half(g, GroupDescriptors.FREE_INODES) + 1);
        if (directory) {
            gd.setHalf(g, GroupDescriptors.USED_DIRS, gd.half(g, GroupDescriptors.USED_DIRS) - 1);
        }
        freeInodes++;
    }
}
