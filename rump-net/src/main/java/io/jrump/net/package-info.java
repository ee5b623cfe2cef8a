/**
 * The TCP/IP stack: Ethernet, ARP, IPv4, ICMP, UDP, TCP, sockets and pcap, with java.nio and Netty integration.
 * So far it holds {@link io.jrump.net.Ipv4Address}, the wire formats in {@code io.jrump.net.wire}
 * (views and records for Ethernet, ARP, IPv4, ICMP, UDP and TCP, and the Internet checksum) and pcap
 * capture files in {@code io.jrump.net.pcap}; interfaces, protocols and sockets are still to come
 * (see docs/features.md).
 */
package io.jrump.net;
