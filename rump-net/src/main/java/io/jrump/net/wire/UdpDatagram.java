package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.IpAddress;
import io.netty.buffer.ByteBuf;

/**
 * A view over a UDP datagram (RFC 768). {@link #parse} checks that the Length field covers the
 * 8-byte header and does not run past the buffer; bytes past Length are outside the view.
 *
 * <p>Not thread-safe; does not retain the buffer.
 */
public final class UdpDatagram {
    public static final int HEADER_LENGTH = 8;
    static final int SOURCE_PORT = 0;
    static final int DESTINATION_PORT = 2;
    static final int LENGTH = 4;
    static final int CHECKSUM = 6;

    private final ByteBuf buf;
    private final int offset;

    private UdpDatagram(ByteBuf buf, int offset) {
        this.buf = buf;
        this.offset = offset;
    }

    public static UdpDatagram parse(ByteBuf buf) throws ErrnoException {
        return parse(buf, buf.readerIndex(), buf.readableBytes());
    }

    /** A checked view over at most {@code length} bytes at absolute {@code offset}. */
    public static UdpDatagram parse(ByteBuf buf, int offset, int length) throws ErrnoException {
        Wire.checkRange(buf, offset, length);
        if (length < HEADER_LENGTH) {
            throw Wire.malformed("UDP datagram of " + length + " bytes is shorter than its 8-byte header");
        }
        int udpLength = buf.getUnsignedShort(offset + LENGTH);
        if (udpLength < HEADER_LENGTH) {
            throw Wire.malformed("UDP Length " + udpLength + " at offset 4 is below 8");
        }
        if (udpLength > length) {
            throw Wire.malformed("UDP Length " + udpLength + " at offset 4 runs past the " + length + " bytes");
        }
        return new UdpDatagram(buf, offset);
    }

    public int sourcePort() {
        return buf.getUnsignedShort(offset + SOURCE_PORT);
    }

    public int destinationPort() {
        return buf.getUnsignedShort(offset + DESTINATION_PORT);
    }

    /** The Length field: header plus data. */
    public int length() {
        return buf.getUnsignedShort(offset + LENGTH);
    }

    public int checksum() {
        return buf.getUnsignedShort(offset + CHECKSUM);
    }

    /**
     * Whether the checksum verifies over the pseudo-header and datagram. Over IPv4 a sender may
     * send none (0), which passes; over IPv6 the checksum is mandatory (RFC 8200 §8.1) and 0 fails.
     */
    public boolean verifyChecksum(IpAddress source, IpAddress destination) {
        if (checksum() == 0) {
            return source.version() == 4;
        }
        long sum = Checksum.pseudoHeader(source, destination, IpProtocol.UDP.value(), length());
        return Checksum.verifies(Checksum.add(sum, buf, offset, length()));
    }

    /** The data after the header, as a slice (shares memory, not retained). */
    public ByteBuf payload() {
        return buf.slice(offset + HEADER_LENGTH, length() - HEADER_LENGTH);
    }

    @Override
    public String toString() {
        return "UDP " + sourcePort() + " > " + destinationPort() + " length " + (length() - HEADER_LENGTH);
    }
}
