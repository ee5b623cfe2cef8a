/**
 * Filesystems: the VFS with POSIX-like syscalls, ext2/3/4, FAT, ISO9660, a java.nio.file provider and a FUSE protocol server.
 * Nothing is implemented here yet; see docs/features.md for what is planned.
 */
package io.jrump.fs;
