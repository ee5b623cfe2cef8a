/**
 * Partition tables: MBR (primary, extended and logical partitions) and GPT (both headers and
 * arrays, CRC32 checks, protective MBR), read with every field treated as hostile, and written
 * so that sfdisk and sgdisk accept them. {@link io.jrump.blk.part.PartitionTable#read} lists a
 * disk's partitions; {@link io.jrump.blk.part.PartitionEditor} creates and edits tables.
 */
package io.jrump.blk.part;
