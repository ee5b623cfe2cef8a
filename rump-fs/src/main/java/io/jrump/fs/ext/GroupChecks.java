package io.jrump.fs.ext;

import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.function.Consumer;

/**
 * e2fsck's fifth pass over the group descriptors: each group's free-block, free-inode and
 * directory counts against its bitmaps and the directories in use, and, where descriptors carry
 * checksums, the unused-inode count against the inodes in use. (The superblock's totals are left
 * alone: e2fsck does not count them as errors, the kernel keeps them only approximately.)
 */
final class GroupChecks {
    private GroupChecks() {
    }

    static void check(ExtFs fs, BitSet inodeUsed, BitSet directories, Consumer<String> report) throws ErrnoException {
        Superblock sb = fs.superblock();
        long ipg = sb.inodesPerGroup();
        for (long g = 0; g < sb.groupCount(); g++) {
            int flags = fs.groupFlags(g);
            boolean checksums = fs.groupsHaveChecksums();
            if (!checksums || (flags & ExtCheck.BLOCK_UNINIT) == 0) {
                long start = sb.firstDataBlock() + g * sb.blocksPerGroup();
                long blocks = Math.min(sb.blocksPerGroup(), sb.blocksCount() - start);
                long count = (blocks + sb.clusterRatio() - 1) / sb.clusterRatio(); // bits: clusters with bigalloc
                ByteBuffer bitmap = fs.block(fs.blockBitmap(g), "block bitmap of group " + g);
                long free = count - ones(bitmap, count);
                checkBlockBitmapPadding(sb, g, bitmap, count, report);
                long stored = fs.groupCount(g, GroupDescriptors.FREE_BLOCKS);
                if (stored != free) {
                    report.accept("free blocks count wrong for group " + g + " (" + stored + ", counted=" + free + ")");
                }
            }
            if (!checksums || (flags & ExtCheck.INODE_UNINIT) == 0) {
                checkInodeBitmapPadding(fs, g, report);
            }
            long freeInodes = 0;
            long dirs = 0;
            long highestUsed = -1;
            for (long i = 0; i < ipg; i++) {
                long ino = g * ipg + i + 1;
                if (ino <= sb.inodesCount() && inodeUsed.get((int) ino)) {
                    highestUsed = i;
                    if (directories.get((int) ino)) {
                        dirs++;
                    }
                } else {
                    freeInodes++;
                }
            }
            long storedFree = fs.groupCount(g, GroupDescriptors.FREE_INODES);
            if (storedFree != freeInodes) {
                report.accept("free inodes count wrong for group " + g + " (" + storedFree + ", counted=" + freeInodes + ")");
            }
            long storedDirs = fs.groupCount(g, GroupDescriptors.USED_DIRS);
            if (storedDirs != dirs) {
                report.accept("directories count wrong for group " + g + " (" + storedDirs + ", counted=" + dirs + ")");
            }
            if (checksums) {
                long unused = fs.groupCount(g, GroupDescriptors.ITABLE_UNUSED);
                if (unused > storedFree || unused > ipg || highestUsed >= ipg - unused) {
                    report.accept("group " + g + " has an invalid unused inodes count " + unused);
                }
            }
        }
    }

    /**
     * A block bitmap's bits past the group's blocks must be set: the bytes past blocks-per-group
     * (libext2fs's tail check) and, in the last group, the bits past the filesystem's end up to
     * blocks-per-group (e2fsck's pass 5) — "padding at end of block bitmap is not set".
     */
    private static void checkBlockBitmapPadding(Superblock sb, long g, ByteBuffer bitmap, long count, Consumer<String> report) {
        long bpg = Math.min(sb.blocksPerGroup(), sb.blockSize() * 8L);
        for (long bit = count; bit < sb.blockSize() * 8L; bit++) {
            if (bit >= bpg && bit % 8 == 0 && bit / 8 < sb.blockSize() && (bitmap.get((int) (bit / 8)) & 0xff) == 0xff) {
                bit += 7; // a whole byte of padding set
                continue;
            }
            if ((bitmap.get((int) (bit / 8)) & (1 << (bit % 8))) == 0) {
                report.accept("padding at the end of the block bitmap of group " + g + " is not set (bit " + bit + ")");
                return;
            }
        }
    }

    /** The inode bitmap's bits past the group's inodes must all be set (e2fsck's "padding at end of inode bitmap"). */
    private static void checkInodeBitmapPadding(ExtFs fs, long g, Consumer<String> report) throws ErrnoException {
        Superblock sb = fs.superblock();
        ByteBuffer bitmap = fs.block(fs.inodeBitmap(g), "inode bitmap of group " + g);
        for (long bit = sb.inodesPerGroup(); bit < sb.blockSize() * 8L; bit++) {
            if ((bitmap.get((int) (bit / 8)) & (1 << (bit % 8))) == 0) {
                report.accept("padding at the end of the inode bitmap of group " + g + " is not set (bit " + bit + ")");
                return;
            }
        }
    }

    /** Set bits among the first {@code count} of a bitmap block. */
    private static long ones(ByteBuffer bitmap, long count) {
        long n = 0;
        long bit = 0;
        for (; bit + 64 <= count; bit += 64) {
            n += Long.bitCount(bitmap.getLong((int) (bit / 8))); // little-endian: bit order does not matter to a count
        }
        for (; bit < count; bit++) {
            if ((bitmap.get((int) (bit / 8)) & (1 << (bit % 8))) != 0) {
                n++;
            }
        }
        return n;
    }
}
