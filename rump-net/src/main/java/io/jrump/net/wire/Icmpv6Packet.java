package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv6Address;
import io.netty.buffer.ByteBuf;

/**
 * A view over an ICMPv6 message (RFC 4443 §2.1): type, code, checksum and the message body.
 * {@link #parse} checks only that the 4-byte header and the 4 bytes after it (every message
 * this package reads has them) fit. The checksum covers the IPv6 pseudo-header (RFC 8200 §8.1).
 *
 * <p>Not thread-safe; does not retain the buffer.
 */
public final class Icmpv6Packet {
    public static final int HEADER_LENGTH = 8;
    static final int TYPE = 0;
    static final int CODE = 1;
    static final int CHECKSUM = 2;
    public static final int TYPE_DESTINATION_UNREACHABLE = 1;
    public static final int TYPE_PACKET_TOO_BIG = 2;
    public static final int TYPE_TIME_EXCEEDED = 3;
    public static final int TYPE_PARAMETER_PROBLEM = 4;
    public static final int TYPE_ECHO_REQUEST = 128;
    public static final int TYPE_ECHO_REPLY = 129;
    public static final int TYPE_ROUTER_SOLICITATION = 133;
    public static final int TYPE_ROUTER_ADVERTISEMENT = 134;
    public static final int TYPE_NEIGHBOR_SOLICITATION = 135;
    public static final int TYPE_NEIGHBOR_ADVERTISEMENT = 136;
    public static final int TYPE_REDIRECT = 137;
    public static final int TYPE_MLDV2_REPORT = 143;

    private final ByteBuf buf;
    private final int offset;
    private final int length;

    private Icmpv6Packet(ByteBuf buf, int offset, int length) {
        this.buf = buf;
        this.offset = offset;
        this.length = length;
    }

    public static Icmpv6Packet parse(ByteBuf buf) throws ErrnoException {
        return parse(buf, buf.readerIndex(), buf.readableBytes());
    }

    /** A view over exactly {@code length} bytes at absolute {@code offset} (the upper-layer length). */
    public static Icmpv6Packet parse(ByteBuf buf, int offset, int length) throws ErrnoException {
        Wire.checkRange(buf, offset, length);
        if (length < HEADER_LENGTH) {
            throw Wire.malformed("ICMPv6 message of " + length + " bytes is shorter than 8");
        }
        return new Icmpv6Packet(buf, offset, length);
    }

    public int type() {
        return buf.getUnsignedByte(offset + TYPE);
    }

    public int code() {
        return buf.getUnsignedByte(offset + CODE);
    }

    public int checksum() {
        return buf.getUnsignedShort(offset + CHECKSUM);
    }

    /** Whether the checksum over the pseudo-header and the message verifies. */
    public boolean verifyChecksum(Ipv6Address source, Ipv6Address destination) {
        long sum = Checksum.pseudoHeader(source, destination, IpProtocol.ICMPV6.value(), length);
        return Checksum.verifies(Checksum.add(sum, buf, offset, length));
    }

    public int length() {
        return length;
    }

    ByteBuf buffer() {
        return buf;
    }

    int index() {
        return offset;
    }

    /** Bytes 4..7. */
    public int word1() {
        return buf.getInt(offset + 4);
    }

    /** The message after the first 8 bytes, as a slice. */
    public ByteBuf body() {
        return buf.slice(offset + HEADER_LENGTH, length - HEADER_LENGTH);
    }

    @Override
    public String toString() {
        return "ICMPv6 type " + type() + " code " + code() + " length " + length;
    }
}
