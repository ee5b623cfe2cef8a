/**
 * The native Linux host: the JVM host extended with TAP interfaces, raw block devices and FUSE
 * channels through JNA. Not implemented yet (see docs/features.md); only the build and the native
 * binding are in place.
 */
package io.jrump.host.linux;
