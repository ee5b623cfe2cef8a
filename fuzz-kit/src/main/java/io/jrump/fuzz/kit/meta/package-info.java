/**
 * Structure-aware mutation of images: a {@link io.jrump.fuzz.kit.meta.MetadataMap} lists where a
 * base image keeps its metadata (ext: superblock, group descriptors, bitmaps, inode table blocks,
 * extent, indirect, directory and xattr blocks; FAT: boot sector, FATs, directory clusters; qcow2:
 * header, L1/L2 tables, refcount table and blocks, snapshot table; partition tables: MBR and GPT
 * headers and entries), a harness fuzzes only those bytes (the blob) and
 * {@link io.jrump.fuzz.kit.meta.MetadataFuzz} splices them back and rewrites the checksums
 * (ext metadata_csum, GPT CRC32s), so that mutations reach the code behind the checksum gates.
 */
package io.jrump.fuzz.kit.meta;
