/**
 * The virtio driver core: DMA memory, split virtqueues that trust nothing the device writes,
 * feature bits, and the transport interface that vhost-user (and virtio-pci) implement.
 */
package io.jrump.host.virtio.ring;
