package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Changing an inode's extent tree. The tree is read whole into a sorted list of extents, the list
 * is changed (a range mapped, a tail cut off), and the tree is written back packed: up to four
 * extents in the inode, else full leaves under as few index levels as fit, reusing the old tree
 * blocks. A packed tree is as shallow and narrow as the extents allow, which is what e2fsck
 * expects; the cost is rewriting all tree blocks of a file whose extent list changed, so heavily
 * fragmented files pay per write.
 */
final class ExtentTree {
    static final int MAX_WRITTEN = 32768;
    static final int MAX_UNWRITTEN = 32767;

    record Extent(long logical, long physical, long length, boolean unwritten) {
        long end() {
            return logical + length;
        }

        Extent piece(long from, long len) {
            return new Extent(from, physical + (from - logical), len, unwritten);
        }
    }

    /** The extents of a file, and the tree blocks that held them. */
    record Loaded(List<Extent> extents, List<Long> treeBlocks) {
    }

    private ExtentTree() {
    }

    static Loaded load(ExtFs fs, RawInode ino) throws ErrnoException {
        List<Extent> out = new ArrayList<>();
        List<Long> blocks = new ArrayList<>();
        walk(fs, ino, ino.iblock(), -1, out, blocks, new HashSet<>(), "extent root");
        for (int i = 1; i < out.size(); i++) {
            if (out.get(i).logical() < out.get(i - 1).end()) {
                throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": inode " + ino.number
                        + ": extents overlap at logical block " + out.get(i).logical());
            }
        }
        return new Loaded(out, blocks);
    }

    private static void walk(ExtFs fs, RawInode ino, ByteBuffer node, int expectedDepth, List<Extent> out,
            List<Long> blocks, Set<Long> seen, String where) throws ErrnoException {
        int entries = node.getShort(2) & 0xffff;
        int max = node.getShort(4) & 0xffff;
        int depth = node.getShort(6) & 0xffff;
        if ((node.getShort(0) & 0xffff) != ExtFs.EXTENT_MAGIC || entries > max || 12 + 12L * max > node.capacity()
                || depth > ExtFs.MAX_EXTENT_DEPTH || (expectedDepth >= 0 && depth != expectedDepth)) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": inode " + ino.number + " " + where
                    + ": bad extent header (" + entries + "/" + max + " entries, depth " + depth + ")");
        }
        for (int i = 0; i < entries; i++) {
            int at = 12 + 12 * i;
            if (depth == 0) {
                int len = node.getShort(at + 4) & 0xffff;
                boolean unwritten = len > MAX_WRITTEN;
                long start = ((long) (node.getShort(at + 6) & 0xffff) << 32) | Integer.toUnsignedLong(node.getInt(at + 8));
                long length = unwritten ? len - MAX_WRITTEN : len;
                if (start <= 0 || start + length > fs.superblock().blocksCount() || length == 0) {
                    throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": inode " + ino.number + " " + where
                            + ": extent of " + length + " blocks at block " + start + " lies outside the filesystem");
                }
                out.add(new Extent(Integer.toUnsignedLong(node.getInt(at)), start, length, unwritten));
            } else {
                long child = ((long) (node.getShort(at + 8) & 0xffff) << 32) | Integer.toUnsignedLong(node.getInt(at + 4));
                if (!seen.add(child)) {
                    throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": inode " + ino.number
                            + ": extent block " + child + " appears twice in the tree");
                }
                blocks.add(child);
                ByteBuffer b = fs.extentBlock(ino.number, ino.generation(), child);
                walk(fs, ino, b, depth - 1, out, blocks, seen, "extent block " + child);
            }
        }
    }

    /** The list with {@code [logical, logical+count)} mapped to {@code physical}, merged where it can. */
    static List<Extent> map(List<Extent> list, long logical, long physical, long count, boolean unwritten) {
        List<Extent> out = new ArrayList<>(list.size() + 2);
        long end = logical + count;
        for (Extent e : list) {
            if (e.end() <= logical || e.logical() >= end) {
                out.add(e);
                continue;
            }
            // Keep whatever of an overlapped extent lies outside the new range.
            if (e.logical() < logical) {
                out.add(e.piece(e.logical(), logical - e.logical()));
            }
            if (e.end() > end) {
                out.add(e.piece(end, e.end() - end));
            }
        }
        addSplit(out, logical, physical, count, unwritten);
        out.sort(java.util.Comparator.comparingLong(Extent::logical));
        return merge(out);
    }

    private static void addSplit(List<Extent> out, long logical, long physical, long count, boolean unwritten) {
        int max = unwritten ? MAX_UNWRITTEN : MAX_WRITTEN;
        for (long done = 0; done < count; done += max) {
            out.add(new Extent(logical + done, physical + done, Math.min(max, count - done), unwritten));
        }
    }

    private static List<Extent> merge(List<Extent> list) {
        List<Extent> out = new ArrayList<>(list.size());
        for (Extent e : list) {
            Extent last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last != null && last.end() == e.logical() && last.physical() + last.length() == e.physical()
                    && last.unwritten() == e.unwritten()
                    && last.length() + e.length() <= (e.unwritten() ? MAX_UNWRITTEN : MAX_WRITTEN)) {
                out.set(out.size() - 1, new Extent(last.logical(), last.physical(), last.length() + e.length(), e.unwritten()));
            } else {
                out.add(e);
            }
        }
        return out;
    }

    /**
     * The list cut at {@code from}; the blocks cut off are freed, unless {@code alloc} is null
     * (bigalloc, where {@link Clusters#releaseFrom} frees by cluster). Counts in {@code freed} how many data blocks went.
     */
    static List<Extent> truncate(List<Extent> list, long from, Allocator alloc, long[] freed) throws ErrnoException {
        List<Extent> out = new ArrayList<>();
        for (Extent e : list) {
            if (e.end() <= from) {
                out.add(e);
            } else if (e.logical() >= from) {
                if (alloc != null) {
                    alloc.freeBlocks(e.physical(), e.length());
                }
                freed[0] += e.length();
            } else {
                long keep = from - e.logical();
                if (alloc != null) {
                    alloc.freeBlocks(e.physical() + keep, e.length() - keep);
                }
                freed[0] += e.length() - keep;
                out.add(e.piece(e.logical(), keep));
            }
        }
        return out;
    }

    /** Writes {@code extents} as the inode's tree, reusing {@code oldBlocks}; updates i_blocks for tree blocks. */
    static void store(ExtFs fs, Allocator alloc, RawInode ino, List<Extent> extents, List<Long> oldBlocks)
            throws ErrnoException {
        int bs = fs.blockSize();
        int perNode = (bs - 12) / 12;
        // Levels bottom-up: each node is {first logical, entries as long[] or child indexes}.
        List<List<Extent>> leaves = new ArrayList<>();
        if (extents.size() <= 4) {
            writeRoot(ino, extents, 0, null);
            releaseSurplus(fs, alloc, ino, oldBlocks, 0);
            return;
        }
        for (int i = 0; i < extents.size(); i += perNode) {
            leaves.add(extents.subList(i, Math.min(extents.size(), i + perNode)));
        }
        // Count the index levels needed above the leaves, then the blocks.
        List<Integer> levelSizes = new ArrayList<>();
        int nodes = leaves.size();
        levelSizes.add(nodes);
        while (nodes > 4) {
            nodes = (nodes + perNode - 1) / perNode;
            levelSizes.add(nodes);
        }
        int total = 0;
        for (int n : levelSizes) {
            total += n;
        }
        List<Long> blocks = new ArrayList<>(oldBlocks.subList(0, Math.min(total, oldBlocks.size())));
        long goal = extents.get(0).physical();
        int step = fs.superblock().clusterRatio(); // with bigalloc each tree block has a cluster of its own
        while (blocks.size() < total) {
            long[] run = alloc.allocBlocks(goal, (long) (total - blocks.size()) * step);
            for (long k = 0; k < run[1]; k += step) {
                blocks.add(run[0] + k);
            }
            goal = run[0] + run[1];
        }
        releaseSurplus(fs, alloc, ino, oldBlocks, total);
        ino.blocks512(ino.blocks512() + (long) (total - Math.min(total, oldBlocks.size())) * alloc.sectorsPerAllocation());
        // Leaves.
        int next = 0;
        List<long[]> level = new ArrayList<>(); // {first logical, block}
        for (List<Extent> leaf : leaves) {
            long block = blocks.get(next++);
            ByteBuffer b = fs.metaZeroed(block);
            header(b, leaf.size(), perNode, 0);
            for (int i = 0; i < leaf.size(); i++) {
                putExtent(b, 12 + 12 * i, leaf.get(i));
            }
            fs.sealExtentBlock(ino, b, perNode);
            level.add(new long[] {leaf.get(0).logical(), block});
        }
        int depth = 1;
        while (level.size() > 4) {
            List<long[]> up = new ArrayList<>();
            for (int i = 0; i < level.size(); i += perNode) {
                List<long[]> children = level.subList(i, Math.min(level.size(), i + perNode));
                long block = blocks.get(next++);
                ByteBuffer b = fs.metaZeroed(block);
                header(b, children.size(), perNode, depth);
                for (int k = 0; k < children.size(); k++) {
                    putIndex(b, 12 + 12 * k, children.get(k));
                }
                fs.sealExtentBlock(ino, b, perNode);
                up.add(new long[] {children.get(0)[0], block});
            }
            level = up;
            depth++;
        }
        writeRoot(ino, null, depth, level);
    }

    /** Frees old tree blocks beyond the {@code keep} reused, and takes them off i_blocks. */
    private static void releaseSurplus(ExtFs fs, Allocator alloc, RawInode ino, List<Long> oldBlocks, int keep)
            throws ErrnoException {
        for (int i = keep; i < oldBlocks.size(); i++) {
            alloc.freeBlocks(oldBlocks.get(i), 1);
            ino.blocks512(ino.blocks512() - alloc.sectorsPerAllocation());
        }
    }

    private static void writeRoot(RawInode ino, List<Extent> extents, int depth, List<long[]> children) {
        ByteBuffer root = ino.iblock();
        for (int i = 0; i < 60; i++) {
            root.put(i, (byte) 0);
        }
        int n = extents != null ? extents.size() : children.size();
        header(root, n, 4, depth);
        for (int i = 0; i < n; i++) {
            if (extents != null) {
                putExtent(root, 12 + 12 * i, extents.get(i));
            } else {
                putIndex(root, 12 + 12 * i, children.get(i));
            }
        }
    }

    /** An empty tree in a new inode's i_block. */
    static void init(RawInode ino) {
        writeRoot(ino, List.of(), 0, null);
    }

    private static void header(ByteBuffer b, int entries, int max, int depth) {
        b.order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(0, (short) ExtFs.EXTENT_MAGIC);
        b.putShort(2, (short) entries);
        b.putShort(4, (short) max);
        b.putShort(6, (short) depth);
        b.putInt(8, 0);
    }

    private static void putExtent(ByteBuffer b, int at, Extent e) {
        b.putInt(at, (int) e.logical());
        b.putShort(at + 4, (short) (e.unwritten() ? e.length() + MAX_WRITTEN : e.length()));
        b.putShort(at + 6, (short) (e.physical() >>> 32));
        b.putInt(at + 8, (int) e.physical());
    }

    private static void putIndex(ByteBuffer b, int at, long[] child) {
        b.putInt(at, (int) child[0]);
        b.putInt(at + 4, (int) child[1]);
        b.putShort(at + 8, (short) (child[1] >>> 32));
        b.putShort(at + 10, (short) 0);
    }
}
