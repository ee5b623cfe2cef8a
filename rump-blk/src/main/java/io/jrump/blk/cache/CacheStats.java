package io.jrump.blk.cache;

/**
 * What a {@link BufferCache} has done since it was made.
 *
 * @param hits            blocks found in the cache
 * @param misses          blocks read from the device below on demand
 * @param readAhead       blocks read ahead of demand
 * @param evictions       blocks dropped to make room
 * @param writeBacks      dirty blocks written to the device below
 * @param writeRequests   write requests sent below (fewer than write-backs when runs coalesce)
 * @param bytesCached     memory held by cached blocks now
 * @param peakBytesCached the most memory cached blocks ever held; never above the budget
 */
public record CacheStats(long hits, long misses, long readAhead, long evictions, long writeBacks,
                         long writeRequests, long bytesCached, long peakBytesCached) {
}
