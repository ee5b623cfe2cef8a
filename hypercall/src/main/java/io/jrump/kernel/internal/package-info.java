/** Kernel-base internals: component ordering and the resource-tracking view of the host. */
package io.jrump.kernel.internal;
