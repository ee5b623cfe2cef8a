/**
 * A pure-Java server for the Linux FUSE kernel protocol (7.12 to 7.31): requests read from the
 * host's FUSE channel ({@link io.jrump.hypercall.HostFuseChannel}) are answered from a
 * {@link io.jrump.fs.vfs.FileSystemOps}. The {@code /dev/fuse} channel itself comes from a host;
 * nothing here is native.
 */
package io.jrump.fs.fuse;
