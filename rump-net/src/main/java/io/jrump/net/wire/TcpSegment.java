package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.IpAddress;
import io.netty.buffer.ByteBuf;

/**
 * A view over a TCP segment (RFC 9293 §3.1). TCP has no length field: the segment is the whole
 * IP payload. {@link #parse} checks that the Data Offset is at least 5 words and inside the
 * segment; {@link TcpRepr#parse} reads and checks the options.
 *
 * <p>Sequence and acknowledgment numbers are plain {@code int}s holding the 32 unsigned bits.
 * Not thread-safe; does not retain the buffer.
 */
public final class TcpSegment {
    /** A header without options: 20 bytes. */
    public static final int MIN_HEADER_LENGTH = 20;
    /** Data Offset is 4 bits of 32-bit words: at most 60 bytes, 40 of options. */
    public static final int MAX_HEADER_LENGTH = 60;
    static final int SOURCE_PORT = 0;
    static final int DESTINATION_PORT = 2;
    static final int SEQUENCE_NUMBER = 4;
    static final int ACKNOWLEDGMENT_NUMBER = 8;
    static final int DATA_OFFSET = 12; // high 4 bits; the low 4 are reserved
    static final int FLAGS = 13; // CWR ECE URG ACK PSH RST SYN FIN
    static final int WINDOW = 14;
    /** RFC 9293 Checksum: where a NIC completing the checksum finds the field. */
    public static final int CHECKSUM = 16;
    static final int URGENT_POINTER = 18;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;
    public static final int URG = 0x20;
    public static final int ECE = 0x40;
    public static final int CWR = 0x80;

    private final ByteBuf buf;
    private final int offset;
    private final int length;

    private TcpSegment(ByteBuf buf, int offset, int length) {
        this.buf = buf;
        this.offset = offset;
        this.length = length;
    }

    public static TcpSegment parse(ByteBuf buf) throws ErrnoException {
        return parse(buf, buf.readerIndex(), buf.readableBytes());
    }

    /** A checked view over exactly {@code length} bytes (the IP payload) at absolute {@code offset}. */
    public static TcpSegment parse(ByteBuf buf, int offset, int length) throws ErrnoException {
        Wire.checkRange(buf, offset, length);
        if (length < MIN_HEADER_LENGTH) {
            throw Wire.malformed("TCP segment of " + length + " bytes is shorter than the 20-byte header");
        }
        int words = buf.getUnsignedByte(offset + DATA_OFFSET) >>> 4;
        if (words < 5) {
            throw Wire.malformed("TCP Data Offset " + words + " at offset 12 is below 5");
        }
        if (words * 4 > length) {
            throw Wire.malformed("TCP Data Offset " + words + " at offset 12 runs past the " + length + " bytes");
        }
        return new TcpSegment(buf, offset, length);
    }

    public int sourcePort() {
        return buf.getUnsignedShort(offset + SOURCE_PORT);
    }

    public int destinationPort() {
        return buf.getUnsignedShort(offset + DESTINATION_PORT);
    }

    public int sequenceNumber() {
        return buf.getInt(offset + SEQUENCE_NUMBER);
    }

    public int acknowledgmentNumber() {
        return buf.getInt(offset + ACKNOWLEDGMENT_NUMBER);
    }

    /** The header length in bytes (Data Offset × 4), options included. */
    public int headerLength() {
        return (buf.getUnsignedByte(offset + DATA_OFFSET) >>> 4) * 4;
    }

    /** The control bits, {@link #FIN} to {@link #CWR}. */
    public int flags() {
        return buf.getUnsignedByte(offset + FLAGS);
    }

    public boolean hasFlags(int mask) {
        return (flags() & mask) == mask;
    }

    public int window() {
        return buf.getUnsignedShort(offset + WINDOW);
    }

    public int checksum() {
        return buf.getUnsignedShort(offset + CHECKSUM);
    }

    public int urgentPointer() {
        return buf.getUnsignedShort(offset + URGENT_POINTER);
    }

    /** Whether the checksum verifies over the pseudo-header and the whole segment. */
    public boolean verifyChecksum(IpAddress source, IpAddress destination) {
        long sum = Checksum.pseudoHeader(source, destination, IpProtocol.TCP.value(), length);
        return Checksum.verifies(Checksum.add(sum, buf, offset, length));
    }

    /** The buffer this view reads (absolute indexes: {@link #optionsIndex()}). */
    ByteBuf buffer() {
        return buf;
    }

    /** Absolute index of the options area in {@link #buffer()}. */
    int optionsIndex() {
        return offset + MIN_HEADER_LENGTH;
    }

    /** The options area as a slice (empty without options). */
    public ByteBuf options() {
        return buf.slice(offset + MIN_HEADER_LENGTH, headerLength() - MIN_HEADER_LENGTH);
    }

    public int length() {
        return length;
    }

    /** The data after the header, as a slice (shares memory, not retained). */
    public ByteBuf payload() {
        return buf.slice(offset + headerLength(), length - headerLength());
    }

    @Override
    public String toString() {
        return "TCP " + sourcePort() + " > " + destinationPort() + " [" + TcpRepr.flagString(flags()) + "] seq "
                + Integer.toUnsignedString(sequenceNumber()) + " ack " + Integer.toUnsignedString(acknowledgmentNumber())
                + " win " + window() + " length " + (length - headerLength());
    }
}
