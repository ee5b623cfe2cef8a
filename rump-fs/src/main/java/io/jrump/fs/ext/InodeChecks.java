package io.jrump.fs.ext;

import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;

/**
 * The checks of one inode in use that e2fsck's first pass makes and the tree walk does not: dtime
 * set on a live inode, flags the inode's kind or the filesystem cannot have (extents on a fast
 * symlink, inline data without the feature), {@code i_blocks} against the blocks the inode
 * occupies, and {@code i_size} against the largest size the mapping allows and against the
 * initialized extents it maps.
 */
final class InodeChecks {
    private static final int HUGE_FILE_FL = 0x40000;
    private static final int MAX_DEPTH = 5;
    private static final int VERITY_FL = 0x100000;
    private static final int INDEX_FL = 0x1000;
    private static final int IMAGIC_FL = 0x2000;
    private static final int ENCRYPT_FL = 0x800;
    private static final int CASEFOLD_FL = 0x40000000;
    private static final int RO_COMPAT_HUGE_FILE = 0x8;
    private static final int COMPAT_IMAGIC_INODES = 0x2;

    private InodeChecks() {
    }

    /**
     * Checks {@code inode}, whose {@code i_dtime} is {@code dtime} and which occupies {@code blocks}
     * blocks (data and mapping; with bigalloc, clusters) and, if it is block-mapped, maps logical blocks up to
     * {@code mappedEnd} (else -1), reporting to {@code report}.
     */
    static void check(ExtFs fs, Inode inode, long dtime, long blocks, long mappedEnd, Consumer<String> report)
            throws ErrnoException {
        Superblock sb = fs.superblock();
        long ino = inode.number();
        if (dtime != 0 && inode.linksCount() > 0) {
            report.accept("inode " + ino + " is in use but has dtime set");
        }
        boolean fastSymlink = inode.isFastSymlink(sb.blockSize());
        if ((inode.flags() & INDEX_FL) != 0 && !inode.isDir()) {
            report.accept("inode " + ino + " has the htree index flag but is not a directory");
        }
        checkCasefold(sb, inode, report);
        if ((inode.flags() & ENCRYPT_FL) != 0 && !fs.xattrs(inode).containsKey("index9.c")) {
            report.accept("inode " + ino + " has the encrypt flag but no encryption context (xattr index 9, 'c')");
        }
        if ((inode.flags() & IMAGIC_FL) != 0 && (sb.featureCompat() & COMPAT_IMAGIC_INODES) == 0) {
            report.accept("inode " + ino + " has the imagic flag on a filesystem without imagic_inodes");
        }
        if (fastSymlink && inode.usesExtents()) {
            report.accept("fast symlink inode " + ino + " has the extents flag set");
        }
        if (inode.hasInlineData() && inode.usesExtents()) {
            report.accept("inode " + ino + " has both the inline-data and the extents flag");
        } else if (inode.hasInlineData() && (sb.featureIncompat() & Superblock.INCOMPAT_INLINE_DATA) == 0) {
            report.accept("inode " + ino + " has the inline-data flag on a filesystem without inline_data");
        } else if (inode.hasInlineData()) {
            InlineChecks.check(fs, fs.readRawInode(ino), inode, report); // system.data in the inode, a directory's size
        }
        if (!fastSymlink) {
            checkBlockCount(fs, inode, blocks, report);
        }
        if ((sb.featureRoCompat() & RO_COMPAT_HUGE_FILE) == 0 && (inode.blocks512() >>> 32) != 0) {
            report.accept("inode " + ino + ": i_blocks_hi is " + (inode.blocks512() >>> 32) + " without huge_file, should be zero");
        }
        long end = inode.usesExtents() && !inode.hasInlineData() && !fastSymlink ? initializedEnd(fs, inode, report)
                : Math.max(0, mappedEnd);
        if (inode.isRegular() || inode.isDir()) {
            long max = maxBytes(sb, inode.usesExtents());
            long sizeBlocks = (inode.size() + sb.blockSize() - 1) / sb.blockSize();
            if (Long.compareUnsigned(inode.size(), max) > 0) {
                report.accept("inode " + ino + ": i_size is " + Long.toUnsignedString(inode.size())
                        + ", more than a file can hold (" + max + ")");
            } else if (inode.isDir() && !inode.hasInlineData()) {
                // e2fsck: a whole number of blocks, and exactly the blocks mapped.
                if (inode.size() % sb.blockSize() != 0 || sizeBlocks != end) {
                    report.accept("directory inode " + ino + ": i_size is " + inode.size() + ", but it maps " + end
                            + " blocks");
                }
            } else if (inode.isRegular() && end > 0 && inode.size() < (end - 1) * sb.blockSize()
                    && (inode.flags() & VERITY_FL) == 0) {
                // e2fsck's rule: the last initialized block must start inside the file (EOFBLOCKS_FL or not,
                // as e2fsck 1.47); a verity file keeps its Merkle tree past the end.
                report.accept("inode " + ino + ": i_size is " + inode.size() + ", but data is mapped up to "
                        + end * sb.blockSize());
            }
        }
    }

    /**
     * bigalloc's rule, as e2fsck checks it ("violates cluster allocation rules"): a block lies at
     * its logical offset within its cluster, and blocks of one logical cluster in one physical
     * cluster. {@code last} carries the previous extent's last block across leaves.
     */
    private static void checkClusterRule(Superblock sb, long ino, long start, long physical, int len, long[] last,
            Consumer<String> report) {
        int c = sb.clusterRatio();
        if (c == 1) {
            return;
        }
        if ((start & (c - 1)) != (physical & (c - 1))) {
            report.accept("inode " + ino + ": logical block " + start + " at block " + physical
                    + " violates cluster allocation rules (bigalloc)");
        } else if (last[0] >= 0 && last[0] / c == start / c && last[1] / c != physical / c) {
            report.accept("inode " + ino + ": logical block " + start + " at block " + physical + " is in another cluster"
                    + " than logical block " + last[0] + " of its logical cluster (bigalloc)");
        }
        last[0] = start + len - 1;
        last[1] = physical + len - 1;
    }

    /** A reserved inode's size: e2fsck's check_blocks wants a block-mapped one within what a block map can address. */
    static void checkReservedSize(Superblock sb, Inode inode, Consumer<String> report) {
        if (!inode.usesExtents() && !inode.isDir() && Long.compareUnsigned(inode.size(), maxBytes(sb, false)) > 0) {
            report.accept("inode " + inode.number() + ": i_size is " + Long.toUnsignedString(inode.size())
                    + ", more than a block map can hold");
        }
    }

    /** The casefold flag only on directories of a casefold filesystem (e2fsck checks it on every inode, reserved ones too). */
    static void checkCasefold(Superblock sb, Inode inode, Consumer<String> report) {
        if ((inode.flags() & CASEFOLD_FL) != 0 && !inode.isDir()) {
            report.accept("inode " + inode.number() + " has the casefold flag but is not a directory");
        } else if ((inode.flags() & CASEFOLD_FL) != 0 && (sb.featureIncompat() & Superblock.INCOMPAT_CASEFOLD) == 0) {
            report.accept("directory inode " + inode.number() + " has the casefold flag on a filesystem without casefold");
        }
    }

    /** {@code i_blocks} against the blocks the inode occupies (and its xattr block); huge_file's block units not checked. */
    static void checkBlockCount(ExtFs fs, Inode inode, long blocks, Consumer<String> report) {
        Superblock sb = fs.superblock();
        if ((inode.flags() & HUGE_FILE_FL) != 0) {
            return;
        }
        boolean acl = inode.fileAcl() >= sb.firstDataBlock() && inode.fileAcl() < sb.blocksCount() && inode.fileAcl() != 0;
        long expected = (blocks + (acl ? 1 : 0)) * (sb.blockSize() / 512) * sb.clusterRatio()
                + EaInodeChecks.chargedSectors(fs, inode); // ea_inode: the values' blocks are charged to the owner
        // Without huge_file the high 16 bits (l_i_blocks_hi) are not part of i_blocks.
        long stored = (sb.featureRoCompat() & RO_COMPAT_HUGE_FILE) != 0 ? inode.blocks512() : inode.blocks512() & 0xffffffffL;
        if (stored != expected) {
            report.accept("inode " + inode.number() + ": i_blocks is " + stored + ", should be " + expected);
        }
    }

    /** The largest file the mapping can address (the kernel's s_maxbytes). */
    static long maxBytes(Superblock sb, boolean extents) {
        long bs = sb.blockSize();
        if (extents) {
            return ((1L << 32) - 1) * bs;
        }
        long p = bs / 4;
        long blocks = 12 + p + p * p + Math.min(p * p * p, (1L << 40));
        return Math.min(blocks * bs, Long.MAX_VALUE / 2);
    }

    /**
     * One past the last logical block an initialized extent maps (unwritten extents may lie past
     * the end of the file: fallocate with KEEP_SIZE); on the way, what e2fsck's extent scan
     * reports: zero-length extents, extents out of order or overlapping, and index entries whose
     * logical start is not their child's. At most {@link #MAX_DEPTH} levels and a bounded number of
     * nodes, so that a tree pointing back into itself cannot make the walk long.
     */
    private static long initializedEnd(ExtFs fs, Inode inode, Consumer<String> report) throws ErrnoException {
        int[] budget = {1 << 16};
        long[] last = {-1, -1}; // the last mapped block before: {logical, physical}
        return walk(fs, inode, ByteBuffer.wrap(inode.block()).order(ByteOrder.LITTLE_ENDIAN), 60, 0, -1, budget, last,
                report);
    }

    private static long walk(ExtFs fs, Inode inode, ByteBuffer node, int bytes, int level, long expectedStart, int[] budget,
            long[] last, Consumer<String> report) throws ErrnoException {
        if (level > MAX_DEPTH || --budget[0] < 0 || (node.getShort(0) & 0xffff) != 0xF30A) {
            return 0; // a damaged node: the block walk reports it
        }
        long ino = inode.number();
        int entries = Math.min(node.getShort(2) & 0xffff, (bytes - 12) / 12);
        int depth = node.getShort(6) & 0xffff;
        if (entries > 0 && expectedStart >= 0 && Integer.toUnsignedLong(node.getInt(12)) != expectedStart) {
            report.accept("inode " + ino + ": an extent index entry starts at logical block " + expectedStart
                    + ", but its node at level " + level + " starts at " + Integer.toUnsignedLong(node.getInt(12)));
        }
        long end = 0;
        long previousEnd = -1;
        for (int i = 0; i < entries; i++) {
            int at = 12 + 12 * i;
            long start = Integer.toUnsignedLong(node.getInt(at));
            if (start < previousEnd) {
                report.accept("inode " + ino + ": extents out of order or overlapping at logical block " + start);
            }
            if (depth == 0) {
                int raw = node.getShort(at + 4) & 0xffff;
                int len = raw > 32768 ? raw - 32768 : raw;
                if (len == 0) {
                    report.accept("inode " + ino + " has a zero-length extent at logical block " + start);
                }
                previousEnd = start + len;
                if (len > 0) {
                    long physical = Integer.toUnsignedLong(node.getInt(at + 8)) | ((long) (node.getShort(at + 6) & 0xffff) << 32);
                    checkClusterRule(fs.superblock(), ino, start, physical, len, last, report);
                }
                if (raw <= 32768) { // above: an unwritten extent of (raw - 32768) blocks
                    end = Math.max(end, start + len);
                }
            } else {
                previousEnd = start;
                long child = Integer.toUnsignedLong(node.getInt(at + 4)) | ((long) (node.getShort(at + 8) & 0xffff) << 32);
                if (child > 0 && child < fs.superblock().blocksCount()) {
                    ByteBuffer block;
                    try {
                        block = fs.extentBlock(ino, inode.generation(), child); // its checksum, read or not
                    } catch (ErrnoException e) {
                        if (e.errno() != io.jrump.hypercall.Errno.EUCLEAN) {
                            throw e;
                        }
                        report.accept(e.detail());
                        continue;
                    }
                    end = Math.max(end, walk(fs, inode, block, fs.superblock().blockSize(), level + 1, start, budget, last,
                            report));
                }
            }
        }
        return end;
    }
}
