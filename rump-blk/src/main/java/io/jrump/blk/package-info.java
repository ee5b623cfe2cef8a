/**
 * The block layer: block devices, the buffer cache, MBR/GPT partitions, raw and qcow2 images.
 * Nothing is implemented here yet; see docs/features.md for what is planned.
 */
package io.jrump.blk;
