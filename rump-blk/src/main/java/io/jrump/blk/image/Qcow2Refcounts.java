package io.jrump.blk.image;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The refcounts of one writable qcow2 image, and its cluster allocator.
 *
 * <p>Clusters are allocated after the last one in use and never reused: at the end of the file
 * on a host file that grows, and after the last cluster with a refcount on a device of fixed size
 * ({@code ENOSPC} past its end). Refcount changes are staged in memory by {@link #set} (which
 * allocates missing refcount blocks and grows the refcount table, moving it, when a block needs a
 * slot beyond it) and reach the file in {@link #commit}, each layer durable before anything that
 * points at it. Entries of any width from 1 to 64 bits are written.
 *
 * <p>Not thread-safe: the image calls it under its lock.
 */
final class Qcow2Refcounts {
    private static final int CACHE = 64;

    private final ImageFile file;
    private final long cluster;
    private final int bits;
    private final long perBlock;
    private final long limit;
    private long[] table;
    private long tableOffset;
    private int tableClusters;
    private long nextFree;
    private final Map<Long, ByteBuffer> cache = new LinkedHashMap<>(CACHE, 0.75f, true);
    // Staged changes: blocks with their changed byte range, blocks that are new, table slots changed.
    private final Map<Long, int[]> dirtyRanges = new TreeMap<>();
    private final Map<Long, ByteBuffer> dirtyBlocks = new LinkedHashMap<>();
    private int tableFrom = Integer.MAX_VALUE;
    private int tableTo = -1;
    private boolean tableMoved;
    private final List<long[]> retiredTables = new ArrayList<>();

    Qcow2Refcounts(ImageFile file, Qcow2Header h) throws ErrnoException {
        this.file = file;
        this.cluster = h.clusterSize();
        this.bits = h.refcountBits();
        this.perBlock = cluster * 8 / bits;
        this.tableOffset = h.refcountTableOffset();
        this.tableClusters = h.refcountTableClusters();
        ByteBuffer b = ByteBuffer.allocate((int) (tableClusters * cluster));
        file.read(tableOffset, b);
        table = new long[b.capacity() / 8];
        b.asLongBuffer().get(table);
        if (file.isGrowable()) {
            limit = Long.MAX_VALUE;
            nextFree = (file.size() + cluster - 1) / cluster * cluster;
        } else {
            limit = file.size() / cluster * cluster;
            nextFree = afterLastUsed();
        }
    }

    /** The first cluster after the last one with a nonzero refcount. */
    private long afterLastUsed() throws ErrnoException {
        for (int t = table.length - 1; t >= 0; t--) {
            long block = blockOffset(t);
            if (block == 0) {
                continue;
            }
            ByteBuffer b = block(block);
            for (long i = perBlock - 1; i >= 0; i--) {
                if (Qcow2Header.refcountAt(b, i, bits) != 0) {
                    return Math.max(cluster, (t * perBlock + i + 1) * cluster);
                }
            }
        }
        return cluster;
    }

    long tableOffset() {
        return tableOffset;
    }

    int tableClusters() {
        return tableClusters;
    }

    /** The largest refcount an entry holds. */
    long max() {
        return bits == 64 ? Long.MAX_VALUE : (1L << bits) - 1;
    }

    /**
     * Reserves {@code count} contiguous clusters after the last one allocated; their refcounts are
     * still 0 until {@link #set}.
     */
    long allocate(long count) throws ErrnoException {
        if (count * cluster > limit - nextFree) {
            throw new ErrnoException(Errno.ENOSPC, file.name() + ": no room for " + count + " more clusters at 0x"
                    + Long.toHexString(nextFree) + " on a device of " + limit + " bytes");
        }
        long c = nextFree;
        nextFree += count * cluster;
        return c;
    }

    private long blockOffset(long t) throws ErrnoException {
        if (t >= table.length) {
            return 0;
        }
        long block = table[(int) t] & ~0x1ffL;
        if (block != 0 && (block % cluster != 0 || block < cluster || (!file.isGrowable() && block > limit - cluster))) {
            throw new ErrnoException(Errno.EUCLEAN, file.name() + ": refcount block " + t + " at 0x"
                    + Long.toHexString(block) + " is misaligned, in the header or past the end of the device");
        }
        return block;
    }

    private ByteBuffer block(long offset) throws ErrnoException {
        ByteBuffer b = dirtyBlocks.get(offset);
        if (b == null) {
            b = cache.get(offset);
        }
        if (b == null) {
            b = ByteBuffer.allocate((int) cluster);
            file.read(offset, b);
            if (cache.size() >= CACHE) {
                cache.remove(cache.keySet().iterator().next());
            }
            cache.put(offset, b);
        }
        return b;
    }

    /** The refcount of the cluster at host offset {@code host}; 0 where no block covers it. */
    long get(long host) throws ErrnoException {
        long index = host / cluster;
        long block = blockOffset(index / perBlock);
        return block == 0 ? 0 : Qcow2Header.refcountAt(block(block), index % perBlock, bits);
    }

    /** Stages a new refcount for the cluster at {@code host}; {@code EOVERFLOW} above {@link #max}. */
    void set(long host, long value) throws ErrnoException {
        if (value < 0 || value > max()) {
            throw new ErrnoException(Errno.EOVERFLOW, file.name() + ": refcount of cluster 0x" + Long.toHexString(host)
                    + " would be " + value + ", beyond " + bits + "-bit refcounts");
        }
        long index = host / cluster;
        long t = index / perBlock;
        if (t >= table.length) {
            if (value == 0) {
                return;
            }
            grow(t + 1);
        }
        long block = blockOffset(t);
        if (block == 0) {
            if (value == 0) {
                return;
            }
            block = allocate(1);
            ByteBuffer fresh = ByteBuffer.allocate((int) cluster);
            dirtyBlocks.put(block, fresh);
            dirtyRanges.put(block, new int[] {0, (int) cluster});
            table[(int) t] = block;
            tableFrom = Math.min(tableFrom, (int) t);
            tableTo = Math.max(tableTo, (int) t + 1);
            set(block, 1); // counted by itself, or by the block that covers it
        }
        ByteBuffer b = block(block);
        long i = index % perBlock;
        Qcow2Header.putRefcount(b, i, bits, value);
        dirtyBlocks.putIfAbsent(block, b);
        int from = Qcow2Header.refcountByte(i, bits);
        int to = from + Math.max(1, bits / 8);
        dirtyRanges.merge(block, new int[] {from, to}, (a, n) -> new int[] {Math.min(a[0], n[0]), Math.max(a[1], n[1])});
    }

    /** A bigger table in new clusters, with room to spare; the old one is freed once the header points away. */
    private void grow(long minEntries) throws ErrnoException {
        long entries = Math.max(minEntries + cluster / 8, 2L * table.length);
        long bytes = (entries * 8 + cluster - 1) / cluster * cluster;
        if (bytes > Qcow2Header.MAX_REFTABLE_BYTES) {
            throw new ErrnoException(Errno.ENOSPC, file.name() + ": refcount table would grow to " + bytes
                    + " bytes, beyond qemu's limit of " + Qcow2Header.MAX_REFTABLE_BYTES);
        }
        long offset = allocate(bytes / cluster);
        long[] grown = new long[(int) (bytes / 8)];
        System.arraycopy(table, 0, grown, 0, table.length);
        retiredTables.add(new long[] {tableOffset, tableClusters});
        table = grown;
        tableOffset = offset;
        tableClusters = (int) (bytes / cluster);
        tableMoved = true;
        for (long c = 0; c < tableClusters; c++) {
            set(offset + c * cluster, 1);
        }
    }

    boolean isDirty() {
        return !dirtyRanges.isEmpty() || tableTo >= 0 || tableMoved;
    }

    /**
     * Writes the staged changes: refcount blocks; after a flush, the table slots of new blocks; if
     * the table moved, the whole new table, a flush, the header's pointer to it, a flush, and then
     * the old table's refcounts dropped. A power cut at any point leaves at worst leaked clusters.
     * The caller flushes before anything that references the counted clusters is written.
     */
    void commit() throws ErrnoException {
        writeBlocks();
        if (tableMoved) {
            file.flush();
            ByteBuffer t = ByteBuffer.allocate((int) (tableClusters * cluster));
            t.asLongBuffer().put(table);
            file.write(tableOffset, t);
            file.flush();
            file.write(48, ByteBuffer.allocate(12).putLong(0, tableOffset).putInt(8, tableClusters));
            file.flush();
            tableMoved = false;
            tableTo = -1;
            tableFrom = Integer.MAX_VALUE;
            for (long[] old : retiredTables) {
                for (long c = 0; c < old[1]; c++) {
                    set(old[0] + c * cluster, 0);
                }
            }
            retiredTables.clear();
            writeBlocks();
        } else if (tableTo >= 0) {
            file.flush();
            ByteBuffer t = ByteBuffer.allocate((tableTo - tableFrom) * 8);
            t.asLongBuffer().put(table, tableFrom, tableTo - tableFrom);
            file.write(tableOffset + 8L * tableFrom, t);
            tableTo = -1;
            tableFrom = Integer.MAX_VALUE;
        }
    }

    /** Writes the changed byte range of every staged block (whole new blocks) and keeps them cached. */
    private void writeBlocks() throws ErrnoException {
        for (Map.Entry<Long, int[]> e : dirtyRanges.entrySet()) {
            ByteBuffer b = dirtyBlocks.get(e.getKey());
            int[] r = e.getValue();
            file.write(e.getKey() + r[0], b.duplicate().limit(r[1]).position(r[0]));
            if (cache.size() >= CACHE) {
                cache.remove(cache.keySet().iterator().next());
            }
            cache.put(e.getKey(), b);
        }
        dirtyRanges.clear();
        dirtyBlocks.clear();
    }
}
