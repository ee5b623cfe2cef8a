/** The virtio-blk driver: the block group of the hypercall contract over a virtio transport. */
package io.jrump.host.virtio.blk;
