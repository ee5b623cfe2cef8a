package io.jrump.net.dhcp6;

import io.jrump.hypercall.ErrnoException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Locale;
import java.util.Objects;

/**
 * A DHCPv6 client/server message (RFC 8415 §8): msg-type, 24-bit transaction-id and the options.
 * {@link #emit} writes the options the record interprets in a fixed order, then the opaque ones
 * in theirs, so received messages round-trip as records (and byte for byte when they came in
 * that order). Immutable.
 *
 * @param type a msg-type of {@link Dhcp6MessageType}, 1..255 but not the relay messages 12 and 13
 */
public record Dhcp6Message(int type, int transactionId, Dhcp6Options options) {

    public Dhcp6Message {
        if (type < 1 || type > 255 || type == Dhcp6MessageType.RELAY_FORW || type == Dhcp6MessageType.RELAY_REPL) {
            throw new IllegalArgumentException("msg-type " + type);
        }
        if (transactionId < 0 || transactionId > 0xff_ffff) {
            throw new IllegalArgumentException("transaction-id " + transactionId + " is not 24 bits");
        }
        Objects.requireNonNull(options, "options");
        if (Dhcp6Packet.HEADER_LENGTH + options.bufferLength() > Dhcp6Packet.MAX_LENGTH) {
            throw new IllegalArgumentException("a message of " + (Dhcp6Packet.HEADER_LENGTH + options.bufferLength())
                    + " bytes, over " + Dhcp6Packet.MAX_LENGTH);
        }
    }

    public static Dhcp6Message parse(Dhcp6Packet p) {
        return new Dhcp6Message(p.type(), p.transactionId(), Dhcp6Options.parse(p));
    }

    /** Parses the buffer's readable bytes. */
    public static Dhcp6Message parse(ByteBuf buf) throws ErrnoException {
        return parse(Dhcp6Packet.parse(buf));
    }

    /** The bytes {@link #emit} writes. */
    public int bufferLength() {
        return Dhcp6Packet.HEADER_LENGTH + options.bufferLength();
    }

    /** Writes the message at absolute {@code offset}. */
    public void emit(ByteBuf buf, int offset) {
        int length = bufferLength();
        if (offset < 0 || offset > buf.capacity() - length) {
            throw new IndexOutOfBoundsException("range " + offset + "+" + length + " outside a buffer of capacity "
                    + buf.capacity());
        }
        buf.setByte(offset, type);
        buf.setMedium(offset + 1, transactionId);
        options.emit(buf, offset + Dhcp6Packet.HEADER_LENGTH);
    }

    /** A new heap buffer holding the emitted message as its readable bytes. */
    public ByteBuf toByteBuf() {
        ByteBuf b = Unpooled.buffer(bufferLength());
        emit(b, 0);
        return b.writerIndex(bufferLength());
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "DHCPv6 %s xid 0x%06x %s", Dhcp6MessageType.name(type), transactionId,
                options);
    }
}
