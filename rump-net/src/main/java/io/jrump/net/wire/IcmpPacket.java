package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.netty.buffer.ByteBuf;

/**
 * A view over an ICMP message for IPv4 (RFC 792): type, code, checksum, the four bytes whose
 * meaning depends on the type, and the data after them. {@link #parse} checks only that the
 * 8-byte header is there; {@link IcmpRepr#parse} checks the rest.
 *
 * <p>Not thread-safe; does not retain the buffer.
 */
public final class IcmpPacket {
    public static final int HEADER_LENGTH = 8;
    static final int TYPE = 0;
    static final int CODE = 1;
    static final int CHECKSUM = 2;
    static final int REST_OF_HEADER = 4;
    static final int IDENTIFIER = 4;
    static final int SEQUENCE = 6;
    static final int NEXT_HOP_MTU = 6; // RFC 1191 §4, in Destination Unreachable code 4

    public static final int TYPE_ECHO_REPLY = 0;
    public static final int TYPE_DESTINATION_UNREACHABLE = 3;
    public static final int TYPE_ECHO_REQUEST = 8;
    public static final int TYPE_TIME_EXCEEDED = 11;

    private final ByteBuf buf;
    private final int offset;
    private final int length;

    private IcmpPacket(ByteBuf buf, int offset, int length) {
        this.buf = buf;
        this.offset = offset;
        this.length = length;
    }

    public static IcmpPacket parse(ByteBuf buf) throws ErrnoException {
        return parse(buf, buf.readerIndex(), buf.readableBytes());
    }

    /** A checked view over exactly {@code length} bytes (the IP payload) at absolute {@code offset}. */
    public static IcmpPacket parse(ByteBuf buf, int offset, int length) throws ErrnoException {
        Wire.checkRange(buf, offset, length);
        if (length < HEADER_LENGTH) {
            throw Wire.malformed("ICMP message of " + length + " bytes is shorter than its 8-byte header");
        }
        return new IcmpPacket(buf, offset, length);
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

    /** Bytes 4..7 as one unsigned 32-bit value in an int. */
    public int restOfHeader() {
        return buf.getInt(offset + REST_OF_HEADER);
    }

    /** The Echo Identifier (bytes 4..5). */
    public int identifier() {
        return buf.getUnsignedShort(offset + IDENTIFIER);
    }

    /** The Echo Sequence Number (bytes 6..7). */
    public int sequence() {
        return buf.getUnsignedShort(offset + SEQUENCE);
    }

    /** Whether the checksum over the whole message verifies. */
    public boolean verifyChecksum() {
        return Checksum.verifies(Checksum.sum(buf, offset, length));
    }

    public int length() {
        return length;
    }

    /** The data after the 8-byte header, as a slice (shares memory, not retained). */
    public ByteBuf data() {
        return buf.slice(offset + HEADER_LENGTH, length - HEADER_LENGTH);
    }

    @Override
    public String toString() {
        return "ICMP type " + type() + " code " + code() + " length " + length;
    }
}
