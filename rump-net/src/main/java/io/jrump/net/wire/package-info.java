/**
 * Wire formats of Ethernet, ARP, IPv4, ICMP, UDP and TCP, after smoltcp's wire module: a checked
 * view over a Netty {@code ByteBuf} ({@code …Packet}, {@code …Frame}, {@code …Segment}, {@code
 * …Datagram}) and an immutable record ({@code …Repr}) parsed from a view and emitted into a buffer.
 *
 * <p>Every parser checks every length and offset before use and reports a malformed packet only
 * as an {@link io.jrump.hypercall.ErrnoException} with {@code EBADMSG} (or {@code EPROTONOSUPPORT}
 * for a variant not handled) whose message names the field and its offset; no input makes a
 * parser throw an unchecked exception. Nothing here logs, reads clocks or keeps state.
 */
package io.jrump.net.wire;
