package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;

/**
 * Changing an ext2/ext3 block map: twelve direct pointers, then single, double and triple
 * indirect blocks. Indirect blocks are allocated on the way down when a hole is filled, next to
 * the data they point to, and freed on truncate once they point to nothing.
 */
final class BlockMap {
    private BlockMap() {
    }

    /** The largest number of logical blocks a block map can address. */
    static long maxBlocks(int blockSize) {
        long p = blockSize / 4;
        return 12 + p + p * p + p * p * p;
    }

    /** Maps logical block {@code logical} to {@code physical}; allocates missing indirect blocks. */
    static void set(ExtFs fs, Allocator alloc, RawInode ino, long logical, long physical) throws ErrnoException {
        long p = fs.blockSize() / 4;
        ByteBuffer root = ino.iblock();
        if (logical < 0 || physical <= 0 || physical >= fs.superblock().blocksCount()) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": inode " + ino.number + ": mapping block "
                    + logical + " to " + physical);
        }
        if (logical < 12) {
            root.putInt((int) logical * 4, (int) physical);
            return;
        }
        long l = logical - 12;
        int levels = 1;
        long span = 1;
        while (l >= span * p) {
            l -= span * p;
            span *= p;
            levels++;
            if (levels > 3) {
                throw new ErrnoException(Errno.EFBIG, fs.deviceName() + ": inode " + ino.number + ": block " + logical
                        + " beyond what a block map can address");
            }
        }
        // span is now p^(levels-1): how many data blocks each slot of the top indirect block covers.
        int slot = 11 + levels;
        long parent = -1; // -1: the inode's i_block
        int parentSlot = slot;
        for (int level = levels; level >= 1; level--) {
            long ptr = parent < 0 ? Integer.toUnsignedLong(root.getInt(parentSlot * 4))
                    : Integer.toUnsignedLong(fs.metaForRead(parent, "indirect block").getInt(parentSlot * 4));
            if (ptr == 0) {
                ptr = alloc.allocBlocks(physical, 1)[0];
                fs.metaZeroed(ptr);
                ino.blocks512(ino.blocks512() + fs.blockSize() / 512);
                putPointer(fs, root, parent, parentSlot, ptr);
            }
            parent = ptr;
            parentSlot = (int) (l / span);
            l %= span;
            span /= p;
        }
        putPointer(fs, root, parent, parentSlot, physical);
    }

    private static void putPointer(ExtFs fs, ByteBuffer root, long block, int slot, long value) throws ErrnoException {
        if (block < 0) {
            root.putInt(slot * 4, (int) value);
        } else {
            fs.metaForWrite(block, "indirect block").putInt(slot * 4, (int) value);
        }
    }

    /** Frees every data block at or after logical {@code from}, and indirect blocks left empty. */
    static void truncate(ExtFs fs, Allocator alloc, RawInode ino, long from) throws ErrnoException {
        ByteBuffer root = ino.iblock();
        long freed = 0;
        for (int i = 0; i < 12; i++) {
            long b = Integer.toUnsignedLong(root.getInt(i * 4));
            if (i >= from && b != 0) {
                alloc.freeBlocks(b, 1);
                root.putInt(i * 4, 0);
                freed++;
            }
        }
        long p = fs.blockSize() / 4;
        long base = 12;
        long span = 1;
        Set<Long> seen = new HashSet<>();
        for (int level = 1; level <= 3; level++) {
            long covered = span * p;
            long b = Integer.toUnsignedLong(root.getInt((11 + level) * 4));
            if (b != 0 && base + covered > from) {
                long[] count = {0};
                if (cut(fs, alloc, ino, b, level, base, span, from, seen, count)) {
                    alloc.freeBlocks(b, 1);
                    root.putInt((11 + level) * 4, 0);
                    count[0]++;
                }
                freed += count[0];
            }
            base += covered;
            span *= p;
        }
        ino.blocks512(Math.max(0, ino.blocks512() - freed * (fs.blockSize() / 512)));
    }

    /**
     * Cuts the subtree under indirect block {@code block} (covering logical blocks from
     * {@code base}, each slot {@code span} blocks); returns whether it now points to nothing.
     */
    private static boolean cut(ExtFs fs, Allocator alloc, RawInode ino, long block, int level, long base, long span,
            long from, Set<Long> seen, long[] count) throws ErrnoException {
        if (!seen.add(block)) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": inode " + ino.number + ": indirect block "
                    + block + " appears twice in its block map");
        }
        ByteBuffer b = fs.metaForRead(block, "inode " + ino.number + " indirect block");
        int slots = fs.blockSize() / 4;
        boolean empty = true;
        ByteBuffer w = null;
        for (int i = 0; i < slots; i++) {
            long child = Integer.toUnsignedLong(b.getInt(i * 4));
            if (child == 0) {
                continue;
            }
            long childBase = base + i * span;
            boolean drop;
            if (childBase + span <= from) {
                drop = false;
            } else if (level == 1) {
                drop = true;
                alloc.freeBlocks(child, 1);
                count[0]++;
            } else {
                drop = cut(fs, alloc, ino, child, level - 1, childBase, span / (slots), from, seen, count);
                if (drop) {
                    alloc.freeBlocks(child, 1);
                    count[0]++;
                }
            }
            if (drop) {
                if (w == null) {
                    w = fs.metaForWrite(block, "indirect block");
                }
                w.putInt(i * 4, 0);
            } else {
                empty = false;
            }
        }
        return empty;
    }
}
