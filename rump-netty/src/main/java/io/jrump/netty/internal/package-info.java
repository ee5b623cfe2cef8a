/**
 * How the transport makes a Netty event loop the kernel's event loop: a host scheduler backed by
 * the loop, a host view that hands NIC frames to it, and address conversions.
 */
package io.jrump.netty.internal;
