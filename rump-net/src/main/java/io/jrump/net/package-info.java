/**
 * The TCP/IP stack: Ethernet, ARP, IPv4, ICMP, UDP, TCP, sockets and pcap, with java.nio and Netty integration.
 * Nothing is implemented here yet; see docs/features.md for what is planned.
 */
package io.jrump.net;
