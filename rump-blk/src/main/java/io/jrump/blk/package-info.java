/**
 * The block layer: {@link io.jrump.blk.BlockDevice}, devices on host storage
 * ({@link io.jrump.blk.HostDisk}), byte ranges of devices (partitions), per-device statistics,
 * and, in subpackages, the buffer cache, partition tables and image formats.
 */
package io.jrump.blk;
