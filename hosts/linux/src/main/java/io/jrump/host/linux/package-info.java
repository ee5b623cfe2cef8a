/**
 * The native Linux host: the JVM host extended with TAP interfaces ({@code tap:IFNAME}) and
 * {@code O_DIRECT} files and raw block devices ({@code direct:PATH}, {@code /dev/...}), through JNA
 * in {@link io.jrump.host.linux.nat}. FUSE channels and vnet headers are not implemented yet.
 */
package io.jrump.host.linux;
