/**
 * The buffer cache: {@link io.jrump.blk.cache.BufferCache}, a write-back block cache with a fixed
 * memory budget, LRU eviction, coalesced write-back and sequential read-ahead.
 */
package io.jrump.blk.cache;
