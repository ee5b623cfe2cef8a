package io.jrump.blk.cache;

/**
 * How a {@link BufferCache} is sized.
 *
 * @param budgetBytes     the most memory cached blocks may hold; never exceeded
 * @param blockSize       the unit of caching: a power of two, a multiple of the device's sector
 *                        size, from 512 to 1 MiB
 * @param maxIoBytes      the largest single write-back or read-ahead request sent below
 * @param maxReadAhead    the largest read-ahead window in bytes, reached by doubling on sequential
 *                        reads; 0 turns read-ahead off
 * @param streamBytes     requests at least this large are streaming I/O and go around the cache
 *                        (reads only when none of their blocks is cached); at least one block
 * @param readAround      a read that misses outside a sequential stream also fetches the blocks
 *                        around it, up to this many bytes aligned to this size (as ext4's inode
 *                        table readahead and BSD's cluster reads do: metadata lies together);
 *                        0 (the default) fetches only what is asked
 */
public record CacheOptions(long budgetBytes, int blockSize, int maxIoBytes, int maxReadAhead, int streamBytes,
                           int readAround) {
    public static final long DEFAULT_BUDGET = 64L << 20;
    public static final int DEFAULT_BLOCK = 4096;

    public CacheOptions {
        if (blockSize < 512 || blockSize > (1 << 20) || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("cache block size " + blockSize + " is not a power of two in 512..1M");
        }
        if (budgetBytes < 16L * blockSize) {
            throw new IllegalArgumentException("cache budget " + budgetBytes + " holds fewer than 16 blocks of "
                    + blockSize);
        }
        if (maxIoBytes < blockSize || maxReadAhead < 0) {
            throw new IllegalArgumentException("max I/O " + maxIoBytes + " below the block size, or read-ahead "
                    + maxReadAhead + " negative");
        }
        if (streamBytes < blockSize) {
            throw new IllegalArgumentException("streaming threshold " + streamBytes + " below the block size");
        }
        if (readAround < 0 || readAround > maxIoBytes) {
            throw new IllegalArgumentException("read-around " + readAround + " not in 0.." + maxIoBytes);
        }
    }

    /** Without read-around. */
    public CacheOptions(long budgetBytes, int blockSize, int maxIoBytes, int maxReadAhead, int streamBytes) {
        this(budgetBytes, blockSize, maxIoBytes, maxReadAhead, streamBytes, 0);
    }

    /** Streaming from {@code maxIoBytes} up. */
    public CacheOptions(long budgetBytes, int blockSize, int maxIoBytes, int maxReadAhead) {
        this(budgetBytes, blockSize, maxIoBytes, maxReadAhead, maxIoBytes, 0);
    }

    /** 64 MiB of 4 KiB blocks, 1 MiB requests, read-ahead up to 1 MiB. */
    public static CacheOptions defaults() {
        return new CacheOptions(DEFAULT_BUDGET, DEFAULT_BLOCK, 1 << 20, 1 << 20);
    }

    public CacheOptions withBudget(long bytes) {
        return new CacheOptions(bytes, blockSize, maxIoBytes, Math.min(maxReadAhead, (int) Math.min(Integer.MAX_VALUE, bytes / 4)),
                streamBytes, readAround);
    }

    public CacheOptions withBlockSize(int bytes) {
        return new CacheOptions(budgetBytes, bytes, Math.max(maxIoBytes, bytes), maxReadAhead, Math.max(streamBytes, bytes),
                readAround);
    }

    public CacheOptions withReadAhead(int bytes) {
        return new CacheOptions(budgetBytes, blockSize, maxIoBytes, bytes, streamBytes, readAround);
    }

    /**
     * Requests of at least {@code bytes} go around the cache: file data read or written in large
     * pieces then costs one copy and does not push metadata out of the cache.
     */
    public CacheOptions withStreamBytes(int bytes) {
        return new CacheOptions(budgetBytes, blockSize, maxIoBytes, maxReadAhead, bytes, readAround);
    }

    /** A miss also fetches the uncached blocks around it within an aligned window of {@code bytes}. */
    public CacheOptions withReadAround(int bytes) {
        return new CacheOptions(budgetBytes, blockSize, maxIoBytes, maxReadAhead, streamBytes, bytes);
    }
}
