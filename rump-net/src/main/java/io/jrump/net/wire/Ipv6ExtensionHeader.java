package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The IPv6 extension headers of RFC 8200 §4 this package reads and writes: hop-by-hop and
 * destination options, routing and fragment. Each record has {@code parse(buf, offset, limit)}
 * (checked against {@code limit}, the end of the packet's payload) and {@code emit}. Data fields
 * are slices of the parsed buffer and compare by content. Immutable if those are not written.
 */
public sealed interface Ipv6ExtensionHeader {
    /** The Next Header field: what follows this header. */
    IpProtocol nextHeader();

    /** The header's length in bytes, a multiple of 8. */
    int bufferLength();

    /** Writes the header at absolute {@code offset}. */
    void emit(ByteBuf buf, int offset);

    /** What RFC 8200 §4.2 asks of a node that does not recognise an option: the top two bits of its type. */
    enum UnknownOptionAction {
        /** 00: skip it and go on. */
        SKIP,
        /** 01: discard the packet. */
        DISCARD,
        /** 10: discard, and send a Parameter Problem code 2 pointing at the option type. */
        DISCARD_SEND_PARAMETER_PROBLEM,
        /** 11: the same, unless the destination is multicast. */
        DISCARD_SEND_PARAMETER_PROBLEM_UNLESS_MULTICAST;

        public static UnknownOptionAction of(int optionType) {
            return values()[optionType >>> 6];
        }
    }

    /**
     * One option TLV (not Pad1 or PadN: those are dropped on parse and written on emit).
     * {@code offsetInHeader} is where the option's type byte was, from the start of its header
     * (-1 for options built to be sent); it does not take part in equality.
     */
    record Option(int type, ByteBuf data, int offsetInHeader) {
        public static final int PAD1 = 0;
        public static final int PADN = 1;
        /** Router Alert (RFC 2711), used by MLD. */
        public static final int ROUTER_ALERT = 5;

        public Option {
            Wire.checkU8("option type", type);
            if (type == PAD1 || type == PADN) {
                throw new IllegalArgumentException("padding options are written by emit, not held");
            }
            Objects.requireNonNull(data, "data");
            Wire.checkU8("option data length", data.readableBytes());
        }

        public Option(int type, ByteBuf data) {
            this(type, data, -1);
        }

        /** The option's action bits as RFC 8200 §4.2 defines them. */
        public UnknownOptionAction unknownAction() {
            return UnknownOptionAction.of(type);
        }

        /** Bit 2 of the type: the option data may change en route. */
        public boolean mayChangeEnRoute() {
            return (type & 0x20) != 0;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Option other && type == other.type && data.equals(other.data);
        }

        @Override
        public int hashCode() {
            return type * 31 + data.hashCode();
        }

        @Override
        public String toString() {
            return "option " + type + " (" + data.readableBytes() + " bytes)";
        }
    }

    /**
     * A Hop-by-Hop Options (Next Header 0) or Destination Options (60) header: RFC 8200 §4.3 and
     * §4.6. Parsing walks every TLV: Pad1 is one byte, every other option's length must fit in
     * the header. Emitting packs the options in order, without alignment padding between them
     * (the caller orders options with alignment needs, RFC 8200 §4.2), and pads the end to 8 bytes.
     */
    record OptionsHeader(boolean hopByHop, IpProtocol nextHeader, List<Option> options) implements Ipv6ExtensionHeader {
        public OptionsHeader {
            Objects.requireNonNull(nextHeader, "nextHeader");
            options = List.copyOf(options);
            int body = 2;
            for (Option o : options) {
                body += 2 + o.data().readableBytes();
            }
            if ((body + 7) / 8 - 1 > 255) {
                throw new IllegalArgumentException("options of " + body + " bytes do not fit a 2048-byte header");
            }
        }

        public static OptionsHeader parse(boolean hopByHop, ByteBuf buf, int offset, int limit) throws ErrnoException {
            String name = hopByHop ? "IPv6 Hop-by-Hop Options header" : "IPv6 Destination Options header";
            int length = headerLength(name, buf, offset, limit, 8);
            List<Option> options = new ArrayList<>();
            int i = 2;
            while (i < length) {
                int type = buf.getUnsignedByte(offset + i);
                if (type == Option.PAD1) {
                    i++;
                    continue;
                }
                if (i + 2 > length) {
                    throw Wire.malformed(name + " at offset " + offset + ": option " + type + " at byte " + i
                            + " has no room for its length");
                }
                int dataLength = buf.getUnsignedByte(offset + i + 1);
                if (i + 2 + dataLength > length) {
                    throw Wire.malformed(name + " at offset " + offset + ": option " + type + " at byte " + i
                            + " with " + dataLength + " bytes of data runs past the header's " + length + " bytes");
                }
                if (type != Option.PADN) {
                    options.add(new Option(type, buf.slice(offset + i + 2, dataLength), i));
                }
                i += 2 + dataLength;
            }
            return new OptionsHeader(hopByHop, IpProtocol.of(buf.getUnsignedByte(offset)), options);
        }

        private int bodyLength() {
            int body = 2;
            for (Option o : options) {
                body += 2 + o.data().readableBytes();
            }
            return body;
        }

        @Override
        public int bufferLength() {
            return (bodyLength() + 7) / 8 * 8;
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            int length = bufferLength();
            Wire.checkRange(buf, offset, length);
            buf.setByte(offset, nextHeader.value());
            buf.setByte(offset + 1, length / 8 - 1);
            int i = 2;
            for (Option o : options) {
                buf.setByte(offset + i, o.type());
                buf.setByte(offset + i + 1, o.data().readableBytes());
                buf.setBytes(offset + i + 2, o.data(), o.data().readerIndex(), o.data().readableBytes());
                i += 2 + o.data().readableBytes();
            }
            int pad = length - i;
            if (pad == 1) {
                buf.setByte(offset + i, Option.PAD1);
            } else if (pad > 1) {
                buf.setByte(offset + i, Option.PADN);
                buf.setByte(offset + i + 1, pad - 2);
                buf.setZero(offset + i + 2, pad - 2);
            }
        }

    }

    /**
     * A Routing header (RFC 8200 §4.4): the type, Segments Left and the type-specific data
     * (opaque here). Type 0 is deprecated by RFC 5095 and never emitted; what a receiver must do
     * with a routing header is decided by {@link Ipv6HeaderChain}.
     */
    record RoutingHeader(IpProtocol nextHeader, int routingType, int segmentsLeft, ByteBuf typeSpecificData)
            implements Ipv6ExtensionHeader {
        public static final int TYPE_0 = 0;

        public RoutingHeader {
            Objects.requireNonNull(nextHeader, "nextHeader");
            Wire.checkU8("routing type", routingType);
            Wire.checkU8("segments left", segmentsLeft);
            Objects.requireNonNull(typeSpecificData, "typeSpecificData");
            int n = typeSpecificData.readableBytes();
            if ((n + 4) % 8 != 0 || (n + 4) / 8 - 1 > 255) {
                throw new IllegalArgumentException("routing data of " + n + " bytes: the header must be 8..2048 bytes, a multiple of 8");
            }
        }

        public static RoutingHeader parse(ByteBuf buf, int offset, int limit) throws ErrnoException {
            int length = headerLength("IPv6 Routing header", buf, offset, limit, 8);
            return new RoutingHeader(IpProtocol.of(buf.getUnsignedByte(offset)), buf.getUnsignedByte(offset + 2),
                    buf.getUnsignedByte(offset + 3), buf.slice(offset + 4, length - 4));
        }

        @Override
        public int bufferLength() {
            return 4 + typeSpecificData.readableBytes();
        }

        /** Writes the header; refuses type 0 (RFC 5095 §3). */
        @Override
        public void emit(ByteBuf buf, int offset) {
            if (routingType == TYPE_0) {
                throw new IllegalStateException("routing header type 0 is deprecated (RFC 5095) and never sent");
            }
            int length = bufferLength();
            Wire.checkRange(buf, offset, length);
            buf.setByte(offset, nextHeader.value());
            buf.setByte(offset + 1, length / 8 - 1);
            buf.setByte(offset + 2, routingType);
            buf.setByte(offset + 3, segmentsLeft);
            buf.setBytes(offset + 4, typeSpecificData, typeSpecificData.readerIndex(), typeSpecificData.readableBytes());
        }
    }

    /**
     * A Fragment header (RFC 8200 §4.5): 8 bytes. {@code fragmentOffset} is in bytes, a multiple
     * of 8. An atomic fragment (offset 0, M clear: RFC 8021, RFC 6946) is a whole packet.
     */
    record FragmentHeader(IpProtocol nextHeader, int fragmentOffset, boolean moreFragments, int identification)
            implements Ipv6ExtensionHeader {
        public static final int LENGTH = 8;

        public FragmentHeader {
            Objects.requireNonNull(nextHeader, "nextHeader");
            if (fragmentOffset < 0 || fragmentOffset > 0x1fff * 8 || fragmentOffset % 8 != 0) {
                throw new IllegalArgumentException("fragment offset " + fragmentOffset + " not a multiple of 8 in 0..65528");
            }
        }

        public static FragmentHeader parse(ByteBuf buf, int offset, int limit) throws ErrnoException {
            if (limit - offset < LENGTH) {
                throw Wire.malformed("IPv6 Fragment header at offset " + offset + " needs 8 bytes, "
                        + (limit - offset) + " left");
            }
            int offsetFlags = buf.getUnsignedShort(offset + 2);
            return new FragmentHeader(IpProtocol.of(buf.getUnsignedByte(offset)), offsetFlags & ~7,
                    (offsetFlags & 1) != 0, buf.getInt(offset + 4));
        }

        /** Offset zero and no more fragments: the whole packet, to be processed as if unfragmented (RFC 6946). */
        public boolean isAtomic() {
            return fragmentOffset == 0 && !moreFragments;
        }

        @Override
        public int bufferLength() {
            return LENGTH;
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            Wire.checkRange(buf, offset, LENGTH);
            buf.setByte(offset, nextHeader.value());
            buf.setByte(offset + 1, 0);
            buf.setShort(offset + 2, fragmentOffset | (moreFragments ? 1 : 0));
            buf.setInt(offset + 4, identification);
        }

        @Override
        public String toString() {
            return "IPv6 fragment id 0x" + Integer.toHexString(identification) + " offset " + fragmentOffset
                    + (moreFragments ? " M" : "") + " next " + nextHeader;
        }
    }

    /** The length of a header with a Hdr Ext Len field in units of {@code unit} bytes beyond the first 8, checked against {@code limit}. */
    private static int headerLength(String name, ByteBuf buf, int offset, int limit, int unit) throws ErrnoException {
        if (limit - offset < 8) {
            throw Wire.malformed(name + " at offset " + offset + " needs 8 bytes, " + (limit - offset) + " left");
        }
        int length = (buf.getUnsignedByte(offset + 1) + 1) * unit;
        if (length > limit - offset) {
            throw Wire.malformed(name + " at offset " + offset + ": Hdr Ext Len " + buf.getUnsignedByte(offset + 1)
                    + " (" + length + " bytes) runs past the payload's " + (limit - offset) + " bytes left");
        }
        return length;
    }
}
