package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import java.util.Locale;
import java.util.Objects;

/**
 * An IPv4 header without options (RFC 791 §3.1). {@link #parse} verifies the header checksum and
 * drops options and the reserved flag, so datagrams with options do not round-trip byte for byte.
 * {@link #emit} writes the 20-byte header and fills its checksum; the payload is the caller's.
 * Immutable.
 *
 * @param fragmentOffset in bytes, a multiple of 8
 */
public record Ipv4Repr(
        Ipv4Address source,
        Ipv4Address destination,
        IpProtocol protocol,
        int payloadLength,
        int ttl,
        int identification,
        boolean dontFragment,
        boolean moreFragments,
        int fragmentOffset,
        int dscp,
        int ecn) implements IpRepr {

    public Ipv4Repr {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(protocol, "protocol");
        if (payloadLength < 0 || payloadLength > Ipv4Packet.MAX_LENGTH - Ipv4Packet.MIN_HEADER_LENGTH) {
            throw new IllegalArgumentException("IPv4 payload length " + payloadLength + " out of 0..65515");
        }
        Wire.checkU8("TTL", ttl);
        Wire.checkU16("identification", identification);
        if (fragmentOffset < 0 || fragmentOffset > 0x1fff * 8 || fragmentOffset % 8 != 0) {
            throw new IllegalArgumentException("fragment offset " + fragmentOffset + " not a multiple of 8 in 0..65528");
        }
        if (dscp < 0 || dscp > 63 || ecn < 0 || ecn > 3) {
            throw new IllegalArgumentException("DSCP " + dscp + " or ECN " + ecn + " out of range");
        }
    }

    /** An unfragmented datagram, DF set, DSCP and ECN zero. */
    public static Ipv4Repr of(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int payloadLength,
            int ttl, int identification) {
        return new Ipv4Repr(source, destination, protocol, payloadLength, ttl, identification, true, false, 0, 0, 0);
    }

    /** @throws ErrnoException {@code EBADMSG} if the header checksum does not verify */
    public static Ipv4Repr parse(Ipv4Packet packet) throws ErrnoException {
        if (!packet.verifyChecksum()) {
            throw Wire.malformed(String.format(Locale.ROOT, "IPv4 Header Checksum 0x%04x at offset 10 does not verify",
                    packet.headerChecksum()));
        }
        return new Ipv4Repr(packet.source(), packet.destination(), packet.protocol(), packet.payloadLength(),
                packet.ttl(), packet.identification(), packet.dontFragment(), packet.moreFragments(),
                packet.fragmentOffset(), packet.dscp(), packet.ecn());
    }

    /** The header's length: 20 bytes. */
    public int headerLength() {
        return Ipv4Packet.MIN_HEADER_LENGTH;
    }

    /** Header and payload: the Total Length. */
    public int totalLength() {
        return Ipv4Packet.MIN_HEADER_LENGTH + payloadLength;
    }

    /** Writes the 20-byte header, checksum included, at absolute {@code offset}. */
    public void emit(ByteBuf buf, int offset) {
        Wire.checkRange(buf, offset, Ipv4Packet.MIN_HEADER_LENGTH);
        buf.setByte(offset + Ipv4Packet.VERSION_IHL, 0x45);
        buf.setByte(offset + Ipv4Packet.DSCP_ECN, dscp << 2 | ecn);
        buf.setShort(offset + Ipv4Packet.TOTAL_LENGTH, totalLength());
        buf.setShort(offset + Ipv4Packet.IDENTIFICATION, identification);
        buf.setShort(offset + Ipv4Packet.FLAGS_FRAGMENT_OFFSET, (dontFragment ? Ipv4Packet.FLAG_DF : 0)
                | (moreFragments ? Ipv4Packet.FLAG_MF : 0) | fragmentOffset / 8);
        buf.setByte(offset + Ipv4Packet.TTL, ttl);
        buf.setByte(offset + Ipv4Packet.PROTOCOL, protocol.value());
        buf.setShort(offset + Ipv4Packet.HEADER_CHECKSUM, 0);
        Wire.setIpv4(buf, offset + Ipv4Packet.SOURCE, source);
        Wire.setIpv4(buf, offset + Ipv4Packet.DESTINATION, destination);
        buf.setShort(offset + Ipv4Packet.HEADER_CHECKSUM,
                Checksum.compute(buf, offset, Ipv4Packet.MIN_HEADER_LENGTH));
    }

    @Override
    public String toString() {
        return "IP " + source + " > " + destination + " " + protocol + " ttl " + ttl + " id " + identification
                + (dontFragment ? " DF" : "") + (moreFragments ? " MF" : "")
                + (fragmentOffset != 0 ? " frag " + fragmentOffset : "") + " length " + totalLength();
    }
}
