/**
 * The native Linux host: the JVM host extended with TAP interfaces ({@code tap:IFNAME}) and
 * {@code O_DIRECT} files and raw block devices ({@code direct:PATH}, {@code /dev/...}), through JNA
 * in {@link io.jrump.host.linux.nat}, plus {@code /dev/fuse} channels, TAP vnet-header offloads and
 * the extended attributes of host files in every namespace ({@link io.jrump.host.linux.LinuxXattrs}).
 */
package io.jrump.host.linux;
