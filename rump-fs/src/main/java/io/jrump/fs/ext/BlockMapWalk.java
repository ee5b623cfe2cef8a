package io.jrump.fs.ext;

import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * The checker's walk of a block-mapped inode (no extents): all twelve direct pointers and the
 * three indirect trees, whatever {@code i_size} says — e2fsck's pass 1 looks at every pointer, so
 * a block mapped past the end of the file is seen (and the size found short). A pointer outside
 * the filesystem is an illegal block, reported and not followed. Bounded by a budget the whole
 * check shares (a few times the filesystem's blocks: a sound filesystem claims each block once),
 * so indirect blocks that point at each other over and over cannot make the check long; when it
 * runs out, that is reported and the walks stop.
 */
final class BlockMapWalk {
    private final ExtFs fs;
    private final Inode inode;
    private final LongConsumer out;
    private final Consumer<String> report;
    private final long perBlock;
    private final long[] budget;
    private long lastLogical = -1;

    private BlockMapWalk(ExtFs fs, Inode inode, LongConsumer out, Consumer<String> report, long[] budget) {
        this.fs = fs;
        this.inode = inode;
        this.out = out;
        this.report = report;
        this.perBlock = fs.superblock().blockSize() / 4;
        this.budget = budget;
    }

    /**
     * Gives every block the inode occupies (data and indirect) to {@code out}, each costing one
     * of {@code budget[0]}; returns one past the last logical block mapped (0 if none).
     */
    static long walk(ExtFs fs, Inode inode, LongConsumer out, Consumer<String> report, long[] budget)
            throws ErrnoException {
        BlockMapWalk w = new BlockMapWalk(fs, inode, out, report, budget);
        ByteBuffer root = ByteBuffer.wrap(inode.block()).order(ByteOrder.LITTLE_ENDIAN);
        long logical = 0;
        for (int i = 0; i < 15 && budget[0] > 0; i++) {
            long b = Integer.toUnsignedLong(root.getInt(i * 4));
            int level = i < 12 ? 0 : i - 11;
            long span = level == 0 ? 1 : pow(w.perBlock, level);
            if (b != 0 && w.legal(b, logical)) {
                w.visit(b, level, logical);
            }
            logical += span;
        }
        return w.lastLogical + 1;
    }

    private static long pow(long base, int exp) {
        long r = 1;
        for (int i = 0; i < exp; i++) {
            r *= base;
        }
        return r;
    }

    private boolean legal(long block, long logical) {
        Superblock sb = fs.superblock();
        if (block < sb.firstDataBlock() || block >= sb.blocksCount()) {
            report.accept("inode " + inode.number() + " has an illegal block: #" + logical + " (" + block
                    + ") is outside the filesystem");
            return false;
        }
        return true;
    }

    private void visit(long block, int level, long logical) throws ErrnoException {
        if (--budget[0] < 0) {
            report.accept("block maps claim far more blocks than the filesystem has (from inode " + inode.number()
                    + " on, block maps are not walked)");
            return;
        }
        out.accept(block);
        if (level == 0) {
            lastLogical = Math.max(lastLogical, logical);
            return;
        }
        ByteBuffer b = fs.block(block, "inode " + inode.number() + " indirect block");
        long span = pow(perBlock, level - 1);
        for (int i = 0; i < perBlock && budget[0] > 0; i++) {
            long child = Integer.toUnsignedLong(b.getInt(i * 4));
            long childLogical = logical + i * span;
            if (child != 0 && legal(child, childLogical)) {
                visit(child, level - 1, childLogical);
            }
        }
    }
}
