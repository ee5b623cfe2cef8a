package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.netty.buffer.ByteBuf;
import java.util.Locale;
import java.util.Objects;

/**
 * The ICMP messages this stack sends and understands (RFC 792): echo request and reply, destination
 * unreachable and time exceeded. Data fields are slices of the parsed buffer (valid as long as
 * it is) and compare by content. Immutable if the data buffers are not written.
 */
public sealed interface IcmpRepr {
    /** The message's length: 8 bytes of header plus the data. */
    int bufferLength();

    /** Writes the message, checksum included, at absolute {@code offset}. */
    void emit(ByteBuf buf, int offset);

    /** Echo (type 8). */
    record EchoRequest(int identifier, int sequence, ByteBuf data) implements IcmpRepr {
        public EchoRequest {
            Wire.checkU16("identifier", identifier);
            Wire.checkU16("sequence", sequence);
            Objects.requireNonNull(data, "data");
        }

        @Override
        public int bufferLength() {
            return IcmpPacket.HEADER_LENGTH + data.readableBytes();
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            IcmpRepr.emitMessage(buf, offset, IcmpPacket.TYPE_ECHO_REQUEST, 0, identifier << 16 | sequence, data);
        }

        @Override
        public String toString() {
            return "ICMP echo request, id " + identifier + ", seq " + sequence + ", length " + bufferLength();
        }
    }

    /** Echo Reply (type 0). */
    record EchoReply(int identifier, int sequence, ByteBuf data) implements IcmpRepr {
        public EchoReply {
            Wire.checkU16("identifier", identifier);
            Wire.checkU16("sequence", sequence);
            Objects.requireNonNull(data, "data");
        }

        @Override
        public int bufferLength() {
            return IcmpPacket.HEADER_LENGTH + data.readableBytes();
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            IcmpRepr.emitMessage(buf, offset, IcmpPacket.TYPE_ECHO_REPLY, 0, identifier << 16 | sequence, data);
        }

        @Override
        public String toString() {
            return "ICMP echo reply, id " + identifier + ", seq " + sequence + ", length " + bufferLength();
        }
    }

    /**
     * Destination Unreachable (type 3), codes 0..15; {@code nextHopMtu} is the RFC 1191 field
     * (zero unless code 4, fragmentation needed). {@code original} holds the offending datagram's
     * IP header and at least 8 bytes of its data.
     */
    record DestinationUnreachable(int code, int nextHopMtu, ByteBuf original) implements IcmpRepr {
        public static final int PORT_UNREACHABLE = 3;
        public static final int FRAGMENTATION_NEEDED = 4;

        public DestinationUnreachable {
            if (code < 0 || code > 15) {
                throw new IllegalArgumentException("destination unreachable code " + code + " out of 0..15");
            }
            Wire.checkU16("next-hop MTU", nextHopMtu);
            checkOriginal(original);
        }

        @Override
        public int bufferLength() {
            return IcmpPacket.HEADER_LENGTH + original.readableBytes();
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            IcmpRepr.emitMessage(buf, offset, IcmpPacket.TYPE_DESTINATION_UNREACHABLE, code, nextHopMtu, original);
        }

        /** The addresses, protocol and ports of the datagram that could not be delivered. */
        public QuotedDatagram quoted() {
            return QuotedDatagram.of(original);
        }

        @Override
        public String toString() {
            return "ICMP destination unreachable, code " + code + ", for " + quoted();
        }
    }

    /** Time Exceeded (type 11): code 0 TTL exceeded in transit, 1 fragment reassembly time exceeded. */
    record TimeExceeded(int code, ByteBuf original) implements IcmpRepr {
        public TimeExceeded {
            if (code < 0 || code > 1) {
                throw new IllegalArgumentException("time exceeded code " + code + " out of 0..1");
            }
            checkOriginal(original);
        }

        @Override
        public int bufferLength() {
            return IcmpPacket.HEADER_LENGTH + original.readableBytes();
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            IcmpRepr.emitMessage(buf, offset, IcmpPacket.TYPE_TIME_EXCEEDED, code, 0, original);
        }

        /** The addresses, protocol and ports of the datagram that was dropped. */
        public QuotedDatagram quoted() {
            return QuotedDatagram.of(original);
        }

        @Override
        public String toString() {
            return "ICMP time exceeded, code " + code + ", for " + quoted();
        }
    }

    /**
     * Verifies the checksum and reads the message.
     *
     * @throws ErrnoException {@code EBADMSG} for a bad checksum, code or quoted datagram;
     *     {@code EPROTONOSUPPORT} for another type
     */
    static IcmpRepr parse(IcmpPacket packet) throws ErrnoException {
        if (!packet.verifyChecksum()) {
            throw Wire.malformed(String.format(Locale.ROOT, "ICMP Checksum 0x%04x at offset 2 does not verify", packet.checksum()));
        }
        int type = packet.type();
        int code = packet.code();
        switch (type) {
            case IcmpPacket.TYPE_ECHO_REQUEST, IcmpPacket.TYPE_ECHO_REPLY -> {
                if (code != 0) {
                    throw Wire.malformed("ICMP echo Code " + code + " at offset 1 is not 0");
                }
                return type == IcmpPacket.TYPE_ECHO_REQUEST
                        ? new EchoRequest(packet.identifier(), packet.sequence(), packet.data())
                        : new EchoReply(packet.identifier(), packet.sequence(), packet.data());
            }
            case IcmpPacket.TYPE_DESTINATION_UNREACHABLE -> {
                if (code > 15) {
                    throw Wire.malformed("ICMP destination unreachable Code " + code + " at offset 1 is above 15");
                }
                checkQuoted(packet.data());
                return new DestinationUnreachable(code, packet.restOfHeader() & 0xffff, packet.data());
            }
            case IcmpPacket.TYPE_TIME_EXCEEDED -> {
                if (code > 1) {
                    throw Wire.malformed("ICMP time exceeded Code " + code + " at offset 1 is above 1");
                }
                checkQuoted(packet.data());
                return new TimeExceeded(code, packet.data());
            }
            default -> throw Wire.unsupported("ICMP Type " + type + " at offset 0");
        }
    }

    /** The quoted datagram: an IPv4 header whose IHL fits and at least 8 bytes after it (RFC 792). */
    private static void checkQuoted(ByteBuf original) throws ErrnoException {
        String problem = quotedProblem(original);
        if (problem != null) {
            throw Wire.malformed("ICMP quoted datagram at offset 8: " + problem);
        }
    }

    private static void checkOriginal(ByteBuf original) {
        Objects.requireNonNull(original, "original");
        String problem = quotedProblem(original);
        if (problem != null) {
            throw new IllegalArgumentException("quoted datagram: " + problem);
        }
    }

    private static String quotedProblem(ByteBuf original) {
        int n = original.readableBytes();
        if (n < Ipv4Packet.MIN_HEADER_LENGTH + 8) {
            return n + " bytes are fewer than an IPv4 header and 8 bytes";
        }
        int vihl = original.getUnsignedByte(original.readerIndex());
        if (vihl >>> 4 != 4 || (vihl & 0xf) < 5) {
            return String.format(Locale.ROOT, "version/IHL byte 0x%02x is not IPv4", vihl);
        }
        if ((vihl & 0xf) * 4 + 8 > n) {
            return "IHL " + (vihl & 0xf) + " leaves fewer than 8 bytes of data in " + n;
        }
        return null;
    }

    private static void emitMessage(ByteBuf buf, int offset, int type, int code, int rest, ByteBuf data) {
        int length = IcmpPacket.HEADER_LENGTH + data.readableBytes();
        Wire.checkRange(buf, offset, length);
        buf.setByte(offset + IcmpPacket.TYPE, type);
        buf.setByte(offset + IcmpPacket.CODE, code);
        buf.setShort(offset + IcmpPacket.CHECKSUM, 0);
        buf.setInt(offset + IcmpPacket.REST_OF_HEADER, rest);
        buf.setBytes(offset + IcmpPacket.HEADER_LENGTH, data, data.readerIndex(), data.readableBytes());
        buf.setShort(offset + IcmpPacket.CHECKSUM, Checksum.compute(buf, offset, length));
    }
}
