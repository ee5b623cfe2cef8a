package io.jrump.fs.fat;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The File Allocation Table: one entry per cluster, free (0), the next cluster of a chain, bad,
 * or end of chain. Read from the active copy in blocks of up to 4 KiB kept in a bounded cache;
 * a change is made in the cache and reaches every mirrored copy at {@link #flush()}, so the
 * copies stay in step as fsck.fat expects.
 *
 * <p>Chains are walked with a bound (a chain cannot be longer than the volume has clusters), so
 * a loop is reported, never followed forever. Not thread-safe: the filesystem serializes.
 */
final class FatTable {
    private static final int BLOCK = 4096;
    private static final int MAX_CACHED_BLOCKS = 2048; // 8 MiB: a FAT32 volume of 2 M clusters whole

    private final VolumeIo io;
    private final BootSector bs;
    private final FatType type;
    private final Map<Long, byte[]> blocks = new LinkedHashMap<>(64, 0.75f, true);
    private final java.util.Set<Long> dirty = new java.util.TreeSet<>();
    private long freeCount = -1;
    private long nextFree = 2;

    FatTable(VolumeIo io, BootSector bs) {
        this.io = io;
        this.bs = bs;
        this.type = bs.type;
    }

    FatType type() {
        return type;
    }

    long maxCluster() {
        return bs.maxCluster;
    }

    /** The entry of cluster {@code c} (0..maxCluster). */
    long get(long c) throws ErrnoException {
        checkIndex(c);
        return switch (type) {
            case FAT12 -> {
                long at = c * 3 / 2;
                int v = byteAt(at) | byteAt(at + 1) << 8;
                yield (c & 1) == 0 ? v & 0xfff : v >>> 4;
            }
            case FAT16 -> byteAt(c * 2) | byteAt(c * 2 + 1) << 8;
            case FAT32 -> {
                long at = c * 4;
                long v = byteAt(at) | byteAt(at + 1) << 8 | byteAt(at + 2) << 16 | (long) byteAt(at + 3) << 24;
                yield v & 0x0FFFFFFFL;
            }
        };
    }

    /** Sets the entry of cluster {@code c}; FAT32's top four bits are kept, as the specification asks. */
    void set(long c, long value) throws ErrnoException {
        checkIndex(c);
        long old = get(c);
        switch (type) {
            case FAT12 -> {
                long at = c * 3 / 2;
                int v = byteAt(at) | byteAt(at + 1) << 8;
                v = (c & 1) == 0 ? (v & 0xf000) | (int) (value & 0xfff) : (v & 0x000f) | (int) (value & 0xfff) << 4;
                setByte(at, v);
                setByte(at + 1, v >>> 8);
            }
            case FAT16 -> {
                setByte(c * 2, (int) value);
                setByte(c * 2 + 1, (int) (value >>> 8));
            }
            case FAT32 -> {
                long at = c * 4;
                int top = byteAt(at + 3) & 0xf0;
                setByte(at, (int) value);
                setByte(at + 1, (int) (value >>> 8));
                setByte(at + 2, (int) (value >>> 16));
                setByte(at + 3, top | (int) (value >>> 24) & 0x0f);
            }
        }
        if (freeCount >= 0 && c >= 2) {
            if (old == 0 && value != 0) {
                freeCount--;
            } else if (old != 0 && value == 0) {
                freeCount++;
            }
        }
    }

    boolean isEndOfChain(long v) {
        return v >= type.endOfChain;
    }

    /**
     * The chain starting at {@code first}, for the file {@code what} (for messages).
     *
     * @throws ErrnoException {@code EUCLEAN} if the chain leaves the volume, runs into a free,
     *     reserved or bad cluster, or loops
     */
    ClusterChain chain(long first, String what) throws ErrnoException {
        ClusterChain chain = new ClusterChain();
        if (first == 0) {
            return chain;
        }
        long c = first;
        long limit = bs.clusterCount();
        while (true) {
            if (c < 2 || c > bs.maxCluster) {
                throw new ErrnoException(Errno.EUCLEAN, "FAT: " + what + ": cluster " + c
                        + (chain.isEmpty() ? " (its first)" : " (after cluster " + chain.last() + ")")
                        + " is outside the volume's clusters 2.." + bs.maxCluster);
            }
            if (chain.length() >= limit) {
                throw new ErrnoException(Errno.EUCLEAN, "FAT: " + what + ": cluster chain from " + first
                        + " loops (longer than the volume's " + limit + " clusters)");
            }
            chain.append(c);
            long next = get(c);
            if (isEndOfChain(next)) {
                return chain;
            }
            if (next == 0 || next == 1 || next == type.bad) {
                throw new ErrnoException(Errno.EUCLEAN, "FAT: " + what + ": cluster " + c + " points to "
                        + (next == type.bad ? "a bad cluster" : next == 0 ? "a free cluster" : "reserved value 1"));
            }
            c = next;
        }
    }

    /**
     * A free cluster, marked end of chain: the one after {@code near} if free (a file grows
     * contiguously), else the next free one from where the last search stopped.
     *
     * @throws ErrnoException {@code ENOSPC} if none is free
     */
    long allocate(long near) throws ErrnoException {
        long c = -1;
        if (near >= 2 && near < bs.maxCluster && get(near + 1) == 0) {
            c = near + 1;
        } else {
            c = findFree(nextFree);
        }
        if (c < 0) {
            throw new ErrnoException(Errno.ENOSPC, "FAT: no free cluster");
        }
        set(c, type.eoc());
        nextFree = c + 1 > bs.maxCluster ? 2 : c + 1;
        return c;
    }

    private long findFree(long from) throws ErrnoException {
        if (freeCount == 0) {
            return -1;
        }
        long start = from < 2 || from > bs.maxCluster ? 2 : from;
        for (long c = start; c <= bs.maxCluster; c++) {
            if (get(c) == 0) {
                return c;
            }
        }
        for (long c = 2; c < start; c++) {
            if (get(c) == 0) {
                return c;
            }
        }
        freeCount = 0;
        return -1;
    }

    /** Frees every cluster of a chain. */
    void free(ClusterChain chain) throws ErrnoException {
        for (long i = 0; i < chain.length(); i++) {
            set(chain.get(i), 0);
        }
    }

    /** Free clusters, counted once by a scan of the whole FAT and kept up to date after. */
    long freeCount() throws ErrnoException {
        if (freeCount < 0) {
            long n = 0;
            for (long c = 2; c <= bs.maxCluster; c++) {
                if (get(c) == 0) {
                    n++;
                }
            }
            freeCount = n;
        }
        return freeCount;
    }

    /**
     * Starts the search for free clusters where FSInfo says, if that is a cluster. (Its free
     * count is not taken: it is only a hint, often stale after another system wrote; the first
     * statvfs counts.)
     */
    void startSearchAt(long next) {
        if (next >= 2 && next <= bs.maxCluster) {
            nextFree = next;
        }
    }

    long nextFreeHint() {
        return nextFree;
    }

    /** Writes every changed block to each mirrored FAT copy. */
    void flush() throws ErrnoException {
        for (Iterator<Long> it = dirty.iterator(); it.hasNext(); ) {
            long index = it.next();
            byte[] data = blocks.get(index);
            int length = (int) Math.min(BLOCK, bs.fatBytes() - index * BLOCK);
            for (int n = 0; n < bs.fatCount; n++) {
                if (bs.mirrored(n)) {
                    io.write(bs.fatOffset(n) + index * BLOCK, ByteBuffer.wrap(data, 0, length));
                }
            }
            it.remove();
        }
    }

    private void checkIndex(long c) throws ErrnoException {
        if (c < 0 || c > bs.maxCluster) {
            throw new ErrnoException(Errno.EUCLEAN, "FAT: cluster " + c + " is outside the volume's clusters 2.."
                    + bs.maxCluster);
        }
    }

    private int byteAt(long at) throws ErrnoException {
        return block(at / BLOCK)[(int) (at % BLOCK)] & 0xff;
    }

    private void setByte(long at, int v) throws ErrnoException {
        long index = at / BLOCK;
        block(index)[(int) (at % BLOCK)] = (byte) v;
        dirty.add(index);
    }

    private byte[] block(long index) throws ErrnoException {
        byte[] b = blocks.get(index);
        if (b != null) {
            return b;
        }
        if (blocks.size() >= MAX_CACHED_BLOCKS) {
            evictClean();
        }
        b = new byte[BLOCK];
        int length = (int) Math.min(BLOCK, bs.fatBytes() - index * BLOCK);
        io.read(bs.fatOffset(bs.activeFat()) + index * BLOCK, ByteBuffer.wrap(b, 0, length));
        blocks.put(index, b);
        return b;
    }

    /** Drops the least recently used clean block; with every block dirty, writes them back first. */
    private void evictClean() throws ErrnoException {
        for (Iterator<Map.Entry<Long, byte[]>> it = blocks.entrySet().iterator(); it.hasNext(); ) {
            if (!dirty.contains(it.next().getKey())) {
                it.remove();
                return;
            }
        }
        flush();
        Iterator<Map.Entry<Long, byte[]>> it = blocks.entrySet().iterator();
        it.next();
        it.remove();
    }
}
