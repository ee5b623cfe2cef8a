/**
 * A {@code java.nio.file} provider (scheme {@code rump}) that opens the filesystem in a disk image
 * with {@code FileSystems.newFileSystem(image, env)} and maps the VFS's errno values to the
 * standard {@code java.nio.file} exceptions.
 */
package io.jrump.fs.nio;
