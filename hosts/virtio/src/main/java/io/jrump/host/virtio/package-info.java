/**
 * The virtio host: jrump's own virtio 1.x driver (split virtqueues, virtio-blk) under the block
 * group of the hypercall contract, over vhost-user; everything else as on the Linux host.
 */
package io.jrump.host.virtio;
