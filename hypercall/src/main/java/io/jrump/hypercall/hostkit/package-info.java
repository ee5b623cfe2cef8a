/**
 * Building blocks for host implementations: argument checks every block device makes, the
 * request bookkeeping around them (in-flight count, completion on the loop), the registry of
 * what a host has open, a host that forwards every call to another (to change a few), sparse
 * memory for memory disks, and the forwarding table of a learning Ethernet switch. Components do
 * not use this package.
 */
package io.jrump.hypercall.hostkit;
