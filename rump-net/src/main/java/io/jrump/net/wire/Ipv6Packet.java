package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv6Address;
import io.netty.buffer.ByteBuf;

/**
 * A view over an IPv6 packet (RFC 8200 §3). {@link #parse} checks the version and that the
 * Payload Length does not run past the buffer; bytes past it (Ethernet padding) are outside the
 * view. A Payload Length of zero is an empty payload: jumbograms (RFC 2675) are not handled.
 * Extension headers are walked by {@link Ipv6HeaderChain}.
 *
 * <p>Not thread-safe; does not retain the buffer.
 */
public final class Ipv6Packet {
    public static final int HEADER_LENGTH = 40;
    /** The minimum link MTU of RFC 8200 §5. */
    public static final int MINIMUM_MTU = 1280;
    static final int VERSION_CLASS_FLOW = 0;
    static final int PAYLOAD_LENGTH = 4;
    public static final int NEXT_HEADER = 6;
    static final int HOP_LIMIT = 7;
    static final int SOURCE = 8;
    static final int DESTINATION = 24;

    private final ByteBuf buf;
    private final int offset;

    private Ipv6Packet(ByteBuf buf, int offset) {
        this.buf = buf;
        this.offset = offset;
    }

    public static Ipv6Packet parse(ByteBuf buf) throws ErrnoException {
        return parse(buf, buf.readerIndex(), buf.readableBytes());
    }

    /** A checked view over at most {@code length} bytes at absolute {@code offset}. */
    public static Ipv6Packet parse(ByteBuf buf, int offset, int length) throws ErrnoException {
        Wire.checkRange(buf, offset, length);
        if (length < HEADER_LENGTH) {
            throw Wire.malformed("IPv6 packet of " + length + " bytes is shorter than the 40-byte header");
        }
        int version = buf.getUnsignedByte(offset) >>> 4;
        if (version != 6) {
            throw Wire.malformed("IPv6 Version " + version + " at offset 0 is not 6");
        }
        int payload = buf.getUnsignedShort(offset + PAYLOAD_LENGTH);
        if (payload > length - HEADER_LENGTH) {
            throw Wire.malformed("IPv6 Payload Length " + payload + " at offset 4 runs past the "
                    + (length - HEADER_LENGTH) + " bytes after the header");
        }
        return new Ipv6Packet(buf, offset);
    }

    public int version() {
        return buf.getUnsignedByte(offset) >>> 4;
    }

    public int trafficClass() {
        return buf.getInt(offset + VERSION_CLASS_FLOW) >>> 20 & 0xff;
    }

    public int flowLabel() {
        return buf.getInt(offset + VERSION_CLASS_FLOW) & 0xf_ffff;
    }

    public int payloadLength() {
        return buf.getUnsignedShort(offset + PAYLOAD_LENGTH);
    }

    public IpProtocol nextHeader() {
        return IpProtocol.of(buf.getUnsignedByte(offset + NEXT_HEADER));
    }

    public int hopLimit() {
        return buf.getUnsignedByte(offset + HOP_LIMIT);
    }

    public Ipv6Address source() {
        return Wire.getIpv6(buf, offset + SOURCE);
    }

    public Ipv6Address destination() {
        return Wire.getIpv6(buf, offset + DESTINATION);
    }

    /** The buffer the view is over: {@link Ipv6HeaderChain}'s indexes are absolute indexes into it. */
    public ByteBuf buffer() {
        return buf;
    }

    /** Absolute index of the IPv6 header in the buffer. */
    public int index() {
        return offset;
    }

    /** Absolute index of the payload (the first extension header, if any). */
    public int payloadIndex() {
        return offset + HEADER_LENGTH;
    }

    /** The payload up to Payload Length, as a slice (shares memory, not retained). */
    public ByteBuf payload() {
        return buf.slice(payloadIndex(), payloadLength());
    }

    @Override
    public String toString() {
        return "IPv6 " + source() + " > " + destination() + " " + nextHeader() + " hlim " + hopLimit()
                + " plen " + payloadLength();
    }
}
