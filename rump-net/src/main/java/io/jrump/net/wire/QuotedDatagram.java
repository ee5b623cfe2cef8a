package io.jrump.net.wire;

import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;

/**
 * What an ICMP error says about the datagram that caused it (RFC 792: its IP header and first 8
 * bytes): the addresses, the protocol and, as the first 4 bytes of a TCP or UDP header, the ports.
 * Enough to find the connection or socket to tell. Immutable.
 *
 * @param sourcePort      the first 16 bits after the quoted IP header (a port for TCP and UDP)
 * @param destinationPort the next 16 bits
 */
public record QuotedDatagram(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int sourcePort,
        int destinationPort) {

    /** Reads an {@code original} datagram that {@link IcmpRepr} has already checked. */
    static QuotedDatagram of(ByteBuf original) {
        int at = original.readerIndex();
        int ihl = (original.getUnsignedByte(at) & 0xf) * 4;
        return new QuotedDatagram(Wire.getIpv4(original, at + Ipv4Packet.SOURCE),
                Wire.getIpv4(original, at + Ipv4Packet.DESTINATION),
                IpProtocol.of(original.getUnsignedByte(at + Ipv4Packet.PROTOCOL)),
                original.getUnsignedShort(at + ihl), original.getUnsignedShort(at + ihl + 2));
    }

    @Override
    public String toString() {
        return protocol + " " + source + ":" + sourcePort + " > " + destination + ":" + destinationPort;
    }
}
