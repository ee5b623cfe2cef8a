/**
 * Partition tables: MBR (primary, extended and logical partitions) and GPT (both headers and
 * arrays, CRC32 checks, protective MBR), read with every field treated as hostile, and written
 * so that sfdisk and sgdisk accept them. {@link io.jrump.blk.part.PartitionTable#read} lists a
 * disk's partitions, in the sector unit its GPT shows (4096 bytes for an image of a 4Kn disk);
 * a partition that runs past the end of the disk or overlaps another is listed, marked bad, and
 * only it is refused by {@link io.jrump.blk.part.Partitions#open}.
 * {@link io.jrump.blk.part.PartitionEditor} creates and edits tables.
 */
package io.jrump.blk.part;
