/** The vhost-user transport, front-end side: memfd memory, kick and call eventfds, the message handshake. */
package io.jrump.host.virtio.vhost;
