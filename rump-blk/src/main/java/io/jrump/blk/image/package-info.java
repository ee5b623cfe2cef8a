/**
 * Disk-image formats: detection by content ({@link io.jrump.blk.image.ImageFormat}), raw images,
 * and qcow2 versions 2 and 3 ({@link io.jrump.blk.image.Qcow2Image}) read and written, with
 * compressed clusters and backing files on read, and a metadata check like {@code qemu-img check}.
 */
package io.jrump.blk.image;
