package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv6Address;
import io.netty.buffer.ByteBuf;
import java.util.Objects;

/**
 * The fixed IPv6 header (RFC 8200 §3). {@code nextHeader} is the header's own Next Header
 * field (an extension header or the upper layer); {@code payloadLength} counts every byte after
 * the 40-byte header. {@link #emit} writes the header only. Immutable.
 */
public record Ipv6Repr(
        Ipv6Address source,
        Ipv6Address destination,
        IpProtocol nextHeader,
        int payloadLength,
        int hopLimit,
        int trafficClass,
        int flowLabel) implements IpRepr {

    public Ipv6Repr {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(nextHeader, "nextHeader");
        Wire.checkU16("IPv6 payload length", payloadLength);
        Wire.checkU8("hop limit", hopLimit);
        Wire.checkU8("traffic class", trafficClass);
        if (flowLabel < 0 || flowLabel > 0xf_ffff) {
            throw new IllegalArgumentException("flow label " + flowLabel + " out of 0..0xfffff");
        }
        if (source.isMulticast()) {
            throw new IllegalArgumentException("a multicast source address " + source + " (RFC 4291 §2.7)");
        }
    }

    /** A header with traffic class and flow label zero. */
    public Ipv6Repr(Ipv6Address source, Ipv6Address destination, IpProtocol nextHeader, int payloadLength, int hopLimit) {
        this(source, destination, nextHeader, payloadLength, hopLimit, 0, 0);
    }

    /** Reads the header; a multicast source is refused (RFC 4291 §2.7). */
    public static Ipv6Repr parse(Ipv6Packet p) throws ErrnoException {
        Ipv6Address src = p.source();
        if (src.isMulticast()) {
            throw Wire.malformed("IPv6 Source Address " + src + " at offset 8 is multicast");
        }
        return new Ipv6Repr(src, p.destination(), p.nextHeader(), p.payloadLength(), p.hopLimit(),
                p.trafficClass(), p.flowLabel());
    }

    /** Header plus payload. */
    public int totalLength() {
        return Ipv6Packet.HEADER_LENGTH + payloadLength;
    }

    /** Writes the 40-byte header at absolute {@code offset}. */
    public void emit(ByteBuf buf, int offset) {
        Wire.checkRange(buf, offset, Ipv6Packet.HEADER_LENGTH);
        buf.setInt(offset + Ipv6Packet.VERSION_CLASS_FLOW, 6 << 28 | trafficClass << 20 | flowLabel);
        buf.setShort(offset + Ipv6Packet.PAYLOAD_LENGTH, payloadLength);
        buf.setByte(offset + Ipv6Packet.NEXT_HEADER, nextHeader.value());
        buf.setByte(offset + Ipv6Packet.HOP_LIMIT, hopLimit);
        Wire.setIpv6(buf, offset + Ipv6Packet.SOURCE, source);
        Wire.setIpv6(buf, offset + Ipv6Packet.DESTINATION, destination);
    }

    @Override
    public String toString() {
        return "IPv6 " + source + " > " + destination + " " + nextHeader + " hlim " + hopLimit + " plen " + payloadLength;
    }
}
