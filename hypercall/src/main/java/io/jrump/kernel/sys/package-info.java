/**
 * The system-call interface of a booted kernel, as NetBSD's {@code rump_sys_*}: the facade
 * ({@link io.jrump.kernel.sys.Syscalls}, from {@code kernel.sys()}), the one descriptor table files
 * and sockets share, the credentials calls run with, and the types the calls exchange
 * ({@code stat}, {@code statvfs}, directory entries, open flags).
 */
package io.jrump.kernel.sys;
