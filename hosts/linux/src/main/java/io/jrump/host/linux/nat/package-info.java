/**
 * All of the Linux host's native calls: libc through JNA, behind {@link io.jrump.host.linux.nat.Sys},
 * whose methods take and return plain Java values and turn a failed call into an
 * {@link io.jrump.hypercall.ErrnoException} naming the call and its file or device.
 */
package io.jrump.host.linux.nat;
