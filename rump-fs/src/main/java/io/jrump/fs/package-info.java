/**
 * Filesystems: the VFS with POSIX-like syscalls ({@link io.jrump.fs.vfs}), ext2/3/4
 * ({@link io.jrump.fs.ext}), and {@link io.jrump.fs.Mounts} to open the filesystem inside a disk
 * image or partition in one call.
 */
package io.jrump.fs;
