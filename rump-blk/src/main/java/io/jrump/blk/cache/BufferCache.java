package io.jrump.blk.cache;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.BlockStats;
import io.jrump.blk.internal.Requests;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.TreeSet;

/**
 * A write-back block cache over another device, with a fixed memory budget it never exceeds.
 *
 * <p>Blocks of {@link CacheOptions#blockSize()} bytes are kept in least-recently-used order.
 * Writes only dirty cached blocks; a dirty block reaches the device below when it is evicted or on
 * {@link #flush()}, which writes every dirty block in ascending order, adjacent ones coalesced
 * into requests of up to {@link CacheOptions#maxIoBytes()}, and then flushes the device below.
 * Eviction writes back the whole run of adjacent dirty blocks around its victim the same way.
 * Reads that continue the previous read fetch ahead of demand, doubling the window up to
 * {@link CacheOptions#maxReadAhead()}.
 *
 * <p>Requests of at least {@link CacheOptions#streamBytes()} go around the cache, as streaming I/O
 * should: a large read of blocks none of which is cached goes straight to the device below, and a
 * large write goes straight down after updating (and cleaning) any copies the cache holds, so
 * bulk transfers cost one copy, not three, and do not flush the cache's working set.
 *
 * <p>Durability: data written and then flushed survives a power cut; data not yet flushed may be
 * lost, but a write-back rewrites whole blocks with their latest contents, so a torn write-back can
 * only lose unflushed bytes, never change flushed ones.
 *
 * <p>Thread-safe: one lock serializes the cache and the I/O it does below, as a simple kernel
 * buffer cache would. A failed write-back leaves its blocks dirty and fails the call that needed
 * it. One scratch buffer of {@code maxIoBytes} is held outside the budget.
 */
public final class BufferCache implements BlockDevice {

    /** The device's name, as the device below gives it (it does not change). */
    private final String name;
    private final BlockDevice lower;
    private final CacheOptions options;
    private final int blockSize;
    private final long capacityBlocks;
    private final int maxRunBlocks;
    private final BlockStats stats;
    /** In least-recently-used order: {@link #touch} moves a block to the end on each use by a caller. */
    private final LinkedHashMap<Long, Block> blocks = new LinkedHashMap<>(1024);
    private final TreeSet<Long> dirty = new TreeSet<>();
    private final ArrayDeque<byte[]> spare = new ArrayDeque<>();
    /** Direct, so host file I/O needs no extra copy through a temporary direct buffer. */
    private final ByteBuffer scratch;
    private long allocatedBlocks;
    private long peakBlocks;
    private long nextSequential = -1;
    private long readAheadBlocks;
    private long hits;
    private long misses;
    private long readAhead;
    private long evictions;
    private long writeBacks;
    private long writeRequests;
    private boolean closed;

    /** One cached block: {@code length} valid bytes (less than the block size only at the device's end). */
    private static final class Block {
        final long index;
        final byte[] data;
        final int length;
        boolean dirty;

        Block(long index, byte[] data, int length) {
            this.index = index;
            this.data = data;
            this.length = length;
        }
    }

    public BufferCache(BlockDevice lower, CacheOptions options, HostClock clock) {
        if (options.blockSize() % lower.sectorSize() != 0) {
            throw new IllegalArgumentException("cache block size " + options.blockSize()
                    + " is not a multiple of the sector size " + lower.sectorSize() + " of " + lower.name());
        }
        this.lower = lower;
        this.name = lower.name();
        this.options = options;
        this.blockSize = options.blockSize();
        this.capacityBlocks = options.budgetBytes() / blockSize;
        // A run never needs more than a quarter of the cache, so eviction can always make room for it.
        this.maxRunBlocks = (int) Math.max(1, Math.min(options.maxIoBytes() / blockSize, capacityBlocks / 4));
        this.scratch = ByteBuffer.allocateDirect(maxRunBlocks * blockSize);
        this.stats = new BlockStats(clock);
    }

    @Override
    public String name() {
        return name; // asked on every request, for its checks' messages
    }

    @Override
    public int sectorSize() {
        return lower.sectorSize();
    }

    @Override
    public long size() {
        return lower.size();
    }

    @Override
    public boolean isReadOnly() {
        return lower.isReadOnly();
    }

    @Override
    public BlockStats stats() {
        return stats;
    }

    /** The options the cache was made with. */
    public CacheOptions options() {
        return options;
    }

    public synchronized CacheStats cacheStats() {
        return new CacheStats(hits, misses, readAhead, evictions, writeBacks, writeRequests,
                allocatedBlocks * blockSize, peakBlocks * blockSize);
    }

    /** Dirty blocks waiting to be written back. */
    public synchronized int dirtyBlocks() {
        return dirty.size();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws ErrnoException {
        int length = dst.remaining();
        Requests.checkRead(name(), sectorSize(), size(), offset, length);
        stats.time(BlockStats.Op.READ, length, () -> {
            synchronized (this) {
                checkOpen();
                if (length > 0) {
                    readLocked(offset, dst.duplicate());
                }
            }
        });
    }

    @Override
    public void write(long offset, ByteBuffer src) throws ErrnoException {
        int length = src.remaining();
        Requests.checkWrite(name(), sectorSize(), size(), isReadOnly(), offset, length);
        stats.time(BlockStats.Op.WRITE, length, () -> {
            synchronized (this) {
                checkOpen();
                if (length > 0) {
                    writeLocked(offset, src.duplicate());
                }
            }
        });
    }

    @Override
    public void flush() throws ErrnoException {
        stats.time(BlockStats.Op.FLUSH, 0, () -> {
            synchronized (this) {
                checkOpen();
                writeBackAll();
            }
            lower.flush();
        });
    }

    @Override
    public void discard(long offset, long length) throws ErrnoException {
        if (isReadOnly()) {
            throw new ErrnoException(Errno.EROFS, name() + " is read-only");
        }
        Requests.checkRead(name(), sectorSize(), size(), offset, length);
        stats.time(BlockStats.Op.DISCARD, length, () -> {
            synchronized (this) {
                checkOpen();
                // Blocks wholly inside the range are dropped, dirty or not. A partly covered block
                // that is clean is dropped too, so the cache never shows old bytes where the device
                // now has zeros; a dirty one stays, and its write-back restores the old bytes, which
                // discard allows.
                long first = offset / blockSize;
                long last = length == 0 ? first - 1 : (offset + length - 1) / blockSize;
                for (long i = first; i <= last; i++) {
                    long blockStart = i * blockSize;
                    boolean whole = offset <= blockStart && offset + length >= blockStart + blockLength(i);
                    Block b = blocks.get(i);
                    if (b != null && (whole || !b.dirty)) {
                        blocks.remove(i);
                        dirty.remove(i);
                        release(b);
                    }
                }
                lower.discard(offset, length);
            }
        });
    }

    private void readLocked(long offset, ByteBuffer dst) throws ErrnoException {
        long first = offset / blockSize;
        long last = (offset + dst.remaining() - 1) / blockSize;
        if (dst.remaining() >= options.streamBytes() && noneCached(first, last)) {
            lower.read(offset, dst);
            misses += last - first + 1;
            nextSequential = last + 1;
            return;
        }
        readAheadBlocks = first == nextSequential
                ? Math.min(Math.max(readAheadBlocks * 2, 4), options.maxReadAhead() / blockSize) : 0;
        nextSequential = last + 1;
        long i = first;
        while (i <= last) {
            Block b = blocks.get(i);
            if (b != null) {
                hits++;
                touch(b);
                copyOut(b, offset, dst);
                i++;
                continue;
            }
            long runEnd = i;
            while (runEnd + 1 <= last && runEnd + 1 - i < maxRunBlocks && !blocks.containsKey(runEnd + 1)) {
                runEnd++;
            }
            long demanded = runEnd - i + 1;
            if (runEnd == last) {
                long limit = Math.min(blockCount() - 1, last + readAheadBlocks);
                while (runEnd < limit && runEnd + 1 - i < maxRunBlocks && !blocks.containsKey(runEnd + 1)) {
                    runEnd++;
                }
            }
            long start = i;
            long window = options.readAround() / blockSize;
            if (window > 1 && readAheadBlocks == 0) {
                // A random miss: the uncached neighbours in its aligned window come along.
                long lo = i / window * window;
                long hi = Math.min(blockCount() - 1, lo + window - 1);
                while (start > lo && runEnd - start + 2 <= maxRunBlocks && !blocks.containsKey(start - 1)) {
                    start--;
                }
                while (runEnd < hi && runEnd - start + 2 <= maxRunBlocks && !blocks.containsKey(runEnd + 1)) {
                    runEnd++;
                }
            }
            fetch(start, runEnd);
            misses += demanded;
            readAhead += runEnd - start + 1 - demanded;
            for (long k = i; k <= Math.min(runEnd, last); k++) {
                copyOut(blocks.get(k), offset, dst);
            }
            i = runEnd + 1;
        }
    }

    private void writeLocked(long offset, ByteBuffer src) throws ErrnoException {
        long end = offset + src.remaining();
        long first = offset / blockSize;
        long last = (end - 1) / blockSize;
        if (src.remaining() >= options.streamBytes()) {
            writeAround(offset, src, first, last);
            return;
        }
        for (long i = first; i <= last; i++) {
            long blockStart = i * blockSize;
            int len = blockLength(i);
            boolean whole = offset <= blockStart && end >= blockStart + len;
            Block b = blocks.get(i);
            if (b == null) {
                if (whole) {
                    makeRoom(1);
                    b = insert(i);
                } else {
                    fetch(i, i);
                    misses++;
                    b = blocks.get(i);
                }
            } else {
                hits++;
                touch(b);
            }
            int from = (int) Math.max(0, offset - blockStart);
            int to = (int) Math.min(len, end - blockStart);
            src.get((int) (src.position() + blockStart + from - offset), b.data, from, to - from);
            if (!b.dirty) {
                b.dirty = true;
                dirty.add(i);
            }
        }
    }

    /**
     * Writes a large request straight to the device below, then gives cached copies of its blocks
     * the new bytes. A copy wholly overwritten becomes clean, since the device now holds it; a
     * dirty copy only partly overwritten stays dirty. If the write fails, clean copies in the range
     * are dropped, since the device may now hold some new bytes, and dirty ones are kept: their
     * write-back makes the device agree with them again.
     */
    private void writeAround(long offset, ByteBuffer src, long first, long last) throws ErrnoException {
        try {
            lower.write(offset, src);
        } catch (ErrnoException e) {
            for (long i = first; i <= last; i++) {
                Block b = blocks.get(i);
                if (b != null && !b.dirty) {
                    blocks.remove(i);
                    release(b);
                }
            }
            throw e;
        }
        long end = offset + src.remaining();
        for (long i = first; i <= last; i++) {
            Block b = blocks.get(i);
            if (b == null) {
                continue;
            }
            long blockStart = i * blockSize;
            int from = (int) Math.max(0, offset - blockStart);
            int to = (int) Math.min(b.length, end - blockStart);
            src.get((int) (src.position() + blockStart + from - offset), b.data, from, to - from);
            if (b.dirty && from == 0 && to == b.length) {
                b.dirty = false;
                dirty.remove(i);
            }
        }
    }

    private boolean noneCached(long first, long last) {
        for (long i = first; i <= last; i++) {
            if (blocks.containsKey(i)) {
                return false;
            }
        }
        return true;
    }

    /** Reads blocks {@code [from, to]} from below in one request and caches them. */
    private void fetch(long from, long to) throws ErrnoException {
        int count = (int) (to - from + 1);
        makeRoom(count);
        long start = from * blockSize;
        int bytes = (int) Math.min((long) count * blockSize, size() - start);
        lower.read(start, scratch.duplicate().position(0).limit(bytes));
        for (int k = 0; k < count; k++) {
            Block b = insert(from + k);
            scratch.get(k * blockSize, b.data, 0, b.length);
        }
    }

    /**
     * Marks a block most recently used. Only callers' reads and writes do this; write-back and
     * eviction look blocks up without it, so bulk write-back does not distort the LRU order.
     */
    private void touch(Block b) {
        blocks.remove(b.index);
        blocks.put(b.index, b);
    }

    private Block insert(long index) {
        byte[] data = spare.isEmpty() ? new byte[blockSize] : spare.pop();
        Block b = new Block(index, data, blockLength(index));
        blocks.put(index, b);
        allocatedBlocks++;
        peakBlocks = Math.max(peakBlocks, allocatedBlocks);
        return b;
    }

    private void release(Block b) {
        allocatedBlocks--;
        if (spare.size() < maxRunBlocks) {
            spare.push(b.data);
        }
    }

    /** Evicts least recently used blocks until {@code count} more fit in the budget. */
    private void makeRoom(int count) throws ErrnoException {
        while (allocatedBlocks + count > capacityBlocks) {
            Iterator<Block> eldest = blocks.values().iterator();
            Block victim = eldest.next();
            if (victim.dirty) {
                writeBackRunAround(victim.index);
            }
            blocks.remove(victim.index);
            release(victim);
            evictions++;
        }
    }

    private void writeBackAll() throws ErrnoException {
        while (!dirty.isEmpty()) {
            writeBackRunFrom(dirty.first());
        }
    }

    private void writeBackRunAround(long index) throws ErrnoException {
        long from = index;
        while (from - 1 >= 0 && index - from + 1 < maxRunBlocks && dirty.contains(from - 1)) {
            from--;
        }
        writeBackRunFrom(from);
    }

    /** Writes the adjacent dirty blocks starting at {@code from} in one request and marks them clean. */
    private void writeBackRunFrom(long from) throws ErrnoException {
        long to = from;
        while (to + 1 - from < maxRunBlocks && dirty.contains(to + 1)) {
            to++;
        }
        int bytes = 0;
        for (long i = from; i <= to; i++) {
            Block b = blocks.get(i);
            scratch.put(bytes, b.data, 0, b.length);
            bytes += b.length;
        }
        lower.write(from * blockSize, scratch.duplicate().position(0).limit(bytes));
        writeRequests++;
        for (long i = from; i <= to; i++) {
            blocks.get(i).dirty = false;
            dirty.remove(i);
            writeBacks++;
        }
    }

    private void copyOut(Block b, long offset, ByteBuffer dst) {
        long blockStart = b.index * blockSize;
        long end = offset + dst.remaining();
        int from = (int) Math.max(0, offset - blockStart);
        int to = (int) Math.min(b.length, end - blockStart);
        dst.put((int) (dst.position() + blockStart + from - offset), b.data, from, to - from);
    }

    private long blockCount() {
        return (size() + blockSize - 1) / blockSize;
    }

    private int blockLength(long index) {
        return (int) Math.min(blockSize, size() - index * blockSize);
    }

    private void checkOpen() throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.EBADF, name() + ": cache is closed");
        }
    }

    /**
     * Writes back every dirty block, flushes the device below and drops the cache. Does not close
     * the device below. If writing back fails the cache is dropped all the same, and close fails
     * with that errno, naming how many dirty blocks were lost (call {@link #flush()} first to keep
     * them on such a failure).
     */
    @Override
    public void close() throws ErrnoException {
        synchronized (this) {
            if (closed) {
                return;
            }
            ErrnoException lost = null;
            try {
                writeBackAll();
                lower.flush();
            } catch (ErrnoException e) {
                lost = new ErrnoException(e.errno(), name() + ": " + dirty.size() + " dirty cache blocks lost at close: "
                        + e.getMessage());
            }
            closed = true;
            blocks.clear();
            dirty.clear();
            spare.clear();
            allocatedBlocks = 0;
            if (lost != null) {
                throw lost;
            }
        }
    }

    @Override
    public String toString() {
        return "BufferCache[" + name() + ", " + cacheStats() + "]";
    }
}
