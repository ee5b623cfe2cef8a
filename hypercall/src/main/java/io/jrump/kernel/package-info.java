/**
 * The kernel base: booting a {@link io.jrump.kernel.RumpKernel} on a host, its components, and
 * callouts (timers) on the host scheduler.
 */
package io.jrump.kernel;
