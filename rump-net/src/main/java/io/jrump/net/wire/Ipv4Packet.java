package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;

/**
 * A view over an IPv4 datagram (RFC 791 §3.1). {@link #parse} checks the version, that the
 * Internet Header Length is at least 5 words and inside the buffer, and that the Total Length
 * covers the header and does not run past the buffer; bytes past Total Length (Ethernet
 * padding) are outside the view. Options are passed over, never interpreted.
 *
 * <p>Not thread-safe; does not retain the buffer.
 */
public final class Ipv4Packet {
    /** A header without options: 20 bytes. */
    public static final int MIN_HEADER_LENGTH = 20;
    public static final int MAX_LENGTH = 0xffff;
    static final int VERSION_IHL = 0;
    static final int DSCP_ECN = 1; // RFC 791 Type of Service, now RFC 2474 DSCP and RFC 3168 ECN
    static final int TOTAL_LENGTH = 2;
    static final int IDENTIFICATION = 4;
    static final int FLAGS_FRAGMENT_OFFSET = 6;
    static final int TTL = 8;
    static final int PROTOCOL = 9;
    static final int HEADER_CHECKSUM = 10;
    static final int SOURCE = 12;
    static final int DESTINATION = 16;
    static final int FLAG_RESERVED = 0x8000;
    static final int FLAG_DF = 0x4000;
    static final int FLAG_MF = 0x2000;

    private final ByteBuf buf;
    private final int offset;

    private Ipv4Packet(ByteBuf buf, int offset) {
        this.buf = buf;
        this.offset = offset;
    }

    public static Ipv4Packet parse(ByteBuf buf) throws ErrnoException {
        return parse(buf, buf.readerIndex(), buf.readableBytes());
    }

    /** A checked view over at most {@code length} bytes at absolute {@code offset}. */
    public static Ipv4Packet parse(ByteBuf buf, int offset, int length) throws ErrnoException {
        Wire.checkRange(buf, offset, length);
        if (length < MIN_HEADER_LENGTH) {
            throw Wire.malformed("IPv4 datagram of " + length + " bytes is shorter than the 20-byte header");
        }
        int vihl = buf.getUnsignedByte(offset + VERSION_IHL);
        if (vihl >>> 4 != 4) {
            throw Wire.malformed("IPv4 Version " + (vihl >>> 4) + " at offset 0 is not 4");
        }
        int ihl = (vihl & 0xf) * 4;
        if (ihl < MIN_HEADER_LENGTH) {
            throw Wire.malformed("IPv4 IHL " + (vihl & 0xf) + " at offset 0 is below 5");
        }
        if (ihl > length) {
            throw Wire.malformed("IPv4 IHL " + (vihl & 0xf) + " at offset 0 runs past the " + length + " bytes");
        }
        int total = buf.getUnsignedShort(offset + TOTAL_LENGTH);
        if (total < ihl) {
            throw Wire.malformed("IPv4 Total Length " + total + " at offset 2 is shorter than the header's " + ihl);
        }
        if (total > length) {
            throw Wire.malformed("IPv4 Total Length " + total + " at offset 2 runs past the " + length + " bytes");
        }
        return new Ipv4Packet(buf, offset);
    }

    public int version() {
        return buf.getUnsignedByte(offset + VERSION_IHL) >>> 4;
    }

    /** The header length in bytes (IHL × 4), options included. */
    public int headerLength() {
        return (buf.getUnsignedByte(offset + VERSION_IHL) & 0xf) * 4;
    }

    public int dscp() {
        return buf.getUnsignedByte(offset + DSCP_ECN) >>> 2;
    }

    public int ecn() {
        return buf.getUnsignedByte(offset + DSCP_ECN) & 3;
    }

    public int totalLength() {
        return buf.getUnsignedShort(offset + TOTAL_LENGTH);
    }

    public int identification() {
        return buf.getUnsignedShort(offset + IDENTIFICATION);
    }

    /** The reserved flag (bit 0), which must be zero. */
    public boolean reservedFlag() {
        return (buf.getUnsignedShort(offset + FLAGS_FRAGMENT_OFFSET) & FLAG_RESERVED) != 0;
    }

    public boolean dontFragment() {
        return (buf.getUnsignedShort(offset + FLAGS_FRAGMENT_OFFSET) & FLAG_DF) != 0;
    }

    public boolean moreFragments() {
        return (buf.getUnsignedShort(offset + FLAGS_FRAGMENT_OFFSET) & FLAG_MF) != 0;
    }

    /** The fragment offset in bytes (the field counts 8-byte units). */
    public int fragmentOffset() {
        return (buf.getUnsignedShort(offset + FLAGS_FRAGMENT_OFFSET) & 0x1fff) * 8;
    }

    public int ttl() {
        return buf.getUnsignedByte(offset + TTL);
    }

    public IpProtocol protocol() {
        return IpProtocol.of(buf.getUnsignedByte(offset + PROTOCOL));
    }

    public int headerChecksum() {
        return buf.getUnsignedShort(offset + HEADER_CHECKSUM);
    }

    /** Whether the header checksum (over the header with its options) verifies. */
    public boolean verifyChecksum() {
        return Checksum.verifies(Checksum.sum(buf, offset, headerLength()));
    }

    public Ipv4Address source() {
        return Wire.getIpv4(buf, offset + SOURCE);
    }

    public Ipv4Address destination() {
        return Wire.getIpv4(buf, offset + DESTINATION);
    }

    /** The options as a slice (empty without options). */
    public ByteBuf options() {
        return buf.slice(offset + MIN_HEADER_LENGTH, headerLength() - MIN_HEADER_LENGTH);
    }

    /** Absolute index of the payload in the buffer. */
    public int payloadIndex() {
        return offset + headerLength();
    }

    public int payloadLength() {
        return totalLength() - headerLength();
    }

    /** The payload up to Total Length, as a slice (shares memory, not retained). */
    public ByteBuf payload() {
        return buf.slice(payloadIndex(), payloadLength());
    }

    @Override
    public String toString() {
        return "IP " + source() + " > " + destination() + " " + protocol() + " ttl " + ttl() + " id "
                + identification() + (dontFragment() ? " DF" : "") + (moreFragments() ? " MF" : "")
                + (fragmentOffset() != 0 ? " frag " + fragmentOffset() : "") + " length " + totalLength();
    }
}
