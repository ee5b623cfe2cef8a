/**
 * Packet captures in the classic libpcap format: {@link io.jrump.net.pcap.PcapWriter} for taps on
 * interfaces, {@link io.jrump.net.pcap.PcapReader} for tests and tools.
 */
package io.jrump.net.pcap;
