/**
 * Building blocks for host implementations: argument checks every block device and NIC makes,
 * the request bookkeeping around them (in-flight count, completion on the loop), the registry of
 * what a host has open, sparse memory for memory disks, the forwarding table of a learning
 * Ethernet switch, and the virtio-net header codec. Components never use this package.
 */
package io.jrump.host.kit;
