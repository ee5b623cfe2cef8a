/**
 * The hypercall contract: the small, versioned interface ({@link io.jrump.hypercall.Hypercalls})
 * through which kernel components reach their host, and the errors ({@link io.jrump.hypercall.Errno})
 * that cross it.
 */
package io.jrump.hypercall;
