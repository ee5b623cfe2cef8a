/** The virtio-net driver: the NIC group of the hypercall contract over a virtio transport. */
package io.jrump.host.virtio.net;
