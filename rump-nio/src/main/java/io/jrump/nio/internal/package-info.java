/**
 * The channel, selector and socket-adaptor classes behind {@link io.jrump.nio.RumpSelectorProvider}, and how they
 * wait: kernel sockets stay non-blocking, and a blocking channel call waits on a future that the stack's readiness
 * listener, a close, a wakeup or a host timer completes, through {@code HostScheduler.await}.
 */
package io.jrump.nio.internal;
