package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The Neighbor Discovery options of RFC 4861 §4.6 (and RDNSS of RFC 8106 §5.1). Every option is
 * type, length in 8-byte units (zero refused: RFC 4861 §4.6 says to discard), and a body whose
 * size each kind checks. Link-layer addresses are Ethernet (RFC 2464 §6: length 1). Options of
 * other types are kept as {@link Unknown} (a receiver ignores them, RFC 4861 §4.6). Immutable
 * if data buffers are not written.
 */
public sealed interface NdpOption {
    int TYPE_SOURCE_LINK_LAYER_ADDRESS = 1;
    int TYPE_TARGET_LINK_LAYER_ADDRESS = 2;
    int TYPE_PREFIX_INFORMATION = 3;
    int TYPE_REDIRECTED_HEADER = 4;
    int TYPE_MTU = 5;
    int TYPE_RDNSS = 25;
    /** Options a message may carry at most, as a bound on work (each is at least 8 bytes anyway). */
    int MAX_OPTIONS = 256;

    /** The option's length in bytes, a multiple of 8. */
    int bufferLength();

    /** Writes type, length and body at absolute {@code offset}. */
    void emit(ByteBuf buf, int offset);

    record SourceLinkLayerAddress(MacAddress address) implements NdpOption {
        public SourceLinkLayerAddress {
            Objects.requireNonNull(address, "address");
        }

        @Override
        public int bufferLength() {
            return 8;
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            header(buf, offset, TYPE_SOURCE_LINK_LAYER_ADDRESS, 8);
            Wire.setMac(buf, offset + 2, address);
        }
    }

    record TargetLinkLayerAddress(MacAddress address) implements NdpOption {
        public TargetLinkLayerAddress {
            Objects.requireNonNull(address, "address");
        }

        @Override
        public int bufferLength() {
            return 8;
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            header(buf, offset, TYPE_TARGET_LINK_LAYER_ADDRESS, 8);
            Wire.setMac(buf, offset + 2, address);
        }
    }

    /** Prefix Information (RFC 4861 §4.6.2), lifetimes in seconds as unsigned 32-bit values in longs (0xffffffff is infinity). */
    record PrefixInformation(int prefixLength, boolean onLink, boolean autonomous, long validLifetime,
            long preferredLifetime, Ipv6Address prefix) implements NdpOption {
        public static final long INFINITE = 0xffff_ffffL;

        public PrefixInformation {
            if (prefixLength < 0 || prefixLength > 128) {
                throw new IllegalArgumentException("prefix length " + prefixLength + " out of 0..128");
            }
            checkU32("valid lifetime", validLifetime);
            checkU32("preferred lifetime", preferredLifetime);
            Objects.requireNonNull(prefix, "prefix");
        }

        @Override
        public int bufferLength() {
            return 32;
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            header(buf, offset, TYPE_PREFIX_INFORMATION, 32);
            buf.setByte(offset + 2, prefixLength);
            buf.setByte(offset + 3, (onLink ? 0x80 : 0) | (autonomous ? 0x40 : 0));
            buf.setInt(offset + 4, (int) validLifetime);
            buf.setInt(offset + 8, (int) preferredLifetime);
            buf.setInt(offset + 12, 0);
            Wire.setIpv6(buf, offset + 16, prefix);
        }
    }

    /** Redirected Header (RFC 4861 §4.6.3): as much of the redirected packet as fits, padded to 8 bytes on emit. */
    record RedirectedHeader(ByteBuf packet) implements NdpOption {
        public RedirectedHeader {
            Objects.requireNonNull(packet, "packet");
            if (packet.readableBytes() > 8 * 255 - 8) {
                throw new IllegalArgumentException("redirected packet of " + packet.readableBytes() + " bytes does not fit an option");
            }
        }

        @Override
        public int bufferLength() {
            return 8 + (packet.readableBytes() + 7) / 8 * 8;
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            int n = bufferLength();
            header(buf, offset, TYPE_REDIRECTED_HEADER, n);
            buf.setZero(offset + 2, n - 2);
            buf.setBytes(offset + 8, packet, packet.readerIndex(), packet.readableBytes());
        }
    }

    record Mtu(long mtu) implements NdpOption {
        public Mtu {
            checkU32("MTU", mtu);
        }

        @Override
        public int bufferLength() {
            return 8;
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            header(buf, offset, TYPE_MTU, 8);
            buf.setShort(offset + 2, 0);
            buf.setInt(offset + 4, (int) mtu);
        }
    }

    /** Recursive DNS Server (RFC 8106 §5.1): a lifetime in seconds and one or more server addresses. */
    record Rdnss(long lifetime, List<Ipv6Address> servers) implements NdpOption {
        public Rdnss {
            checkU32("RDNSS lifetime", lifetime);
            servers = List.copyOf(servers);
            if (servers.isEmpty() || servers.size() > 127) {
                throw new IllegalArgumentException(servers.size() + " RDNSS servers, not 1..127");
            }
        }

        @Override
        public int bufferLength() {
            return 8 + 16 * servers.size();
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            header(buf, offset, TYPE_RDNSS, bufferLength());
            buf.setShort(offset + 2, 0);
            buf.setInt(offset + 4, (int) lifetime);
            for (int i = 0; i < servers.size(); i++) {
                Wire.setIpv6(buf, offset + 8 + 16 * i, servers.get(i));
            }
        }
    }

    /** An option of another type: its body after type and length (a multiple of 8 bytes less 2). */
    record Unknown(int type, ByteBuf body) implements NdpOption {
        public Unknown {
            Wire.checkU8("option type", type);
            Objects.requireNonNull(body, "body");
            if ((body.readableBytes() + 2) % 8 != 0 || body.readableBytes() + 2 > 8 * 255) {
                throw new IllegalArgumentException("option body of " + body.readableBytes() + " bytes is not 8n-2, n in 1..255");
            }
        }

        @Override
        public int bufferLength() {
            return body.readableBytes() + 2;
        }

        @Override
        public void emit(ByteBuf buf, int offset) {
            header(buf, offset, type, bufferLength());
            buf.setBytes(offset + 2, body, body.readerIndex(), body.readableBytes());
        }
    }

    /**
     * Reads the options in {@code [offset, end)} of {@code buf}; {@code where} names the message
     * and {@code base} is the message's start, for offsets in errors.
     */
    static List<NdpOption> parseAll(String where, ByteBuf buf, int base, int offset, int end) throws ErrnoException {
        List<NdpOption> options = new ArrayList<>();
        int at = offset;
        while (at < end) {
            if (options.size() == MAX_OPTIONS) {
                throw Wire.malformed(where + ": more than " + MAX_OPTIONS + " options");
            }
            if (end - at < 2) {
                throw Wire.malformed(where + ": option at offset " + (at - base) + " has 1 byte, no room for its length");
            }
            int type = buf.getUnsignedByte(at);
            int units = buf.getUnsignedByte(at + 1);
            if (units == 0) {
                throw Wire.malformed(where + ": option " + type + " at offset " + (at - base) + " has Length 0 (RFC 4861 §4.6)");
            }
            int length = units * 8;
            if (length > end - at) {
                throw Wire.malformed(where + ": option " + type + " at offset " + (at - base) + " of " + length
                        + " bytes runs past the message's end (" + (end - at) + " bytes left)");
            }
            options.add(parseOne(where, buf, at - base, at, type, length));
            at += length;
        }
        return options;
    }

    private static NdpOption parseOne(String where, ByteBuf buf, int relative, int at, int type, int length)
            throws ErrnoException {
        String name = where + ": option " + type + " at offset " + relative;
        switch (type) {
            case TYPE_SOURCE_LINK_LAYER_ADDRESS, TYPE_TARGET_LINK_LAYER_ADDRESS -> {
                expect(name, length, 8);
                MacAddress mac = Wire.getMac(buf, at + 2);
                return type == TYPE_SOURCE_LINK_LAYER_ADDRESS ? new SourceLinkLayerAddress(mac) : new TargetLinkLayerAddress(mac);
            }
            case TYPE_PREFIX_INFORMATION -> {
                expect(name, length, 32);
                int prefixLength = buf.getUnsignedByte(at + 2);
                if (prefixLength > 128) {
                    throw Wire.malformed(name + ": Prefix Length " + prefixLength + " is above 128");
                }
                int flags = buf.getUnsignedByte(at + 3);
                return new PrefixInformation(prefixLength, (flags & 0x80) != 0, (flags & 0x40) != 0,
                        buf.getUnsignedInt(at + 4), buf.getUnsignedInt(at + 8), Wire.getIpv6(buf, at + 16));
            }
            case TYPE_REDIRECTED_HEADER -> {
                return new RedirectedHeader(buf.slice(at + 8, length - 8));
            }
            case TYPE_MTU -> {
                expect(name, length, 8);
                return new Mtu(buf.getUnsignedInt(at + 4));
            }
            case TYPE_RDNSS -> {
                if (length < 24 || (length - 8) % 16 != 0) {
                    throw Wire.malformed(name + ": RDNSS of " + length / 8 + " units is not 3, 5, 7... (RFC 8106 §5.1)");
                }
                List<Ipv6Address> servers = new ArrayList<>();
                for (int i = at + 8; i < at + length; i += 16) {
                    servers.add(Wire.getIpv6(buf, i));
                }
                return new Rdnss(buf.getUnsignedInt(at + 4), servers);
            }
            default -> {
                return new Unknown(type, buf.slice(at + 2, length - 2));
            }
        }
    }

    private static void expect(String name, int length, int wanted) throws ErrnoException {
        if (length != wanted) {
            throw Wire.malformed(name + " is " + length + " bytes, not " + wanted);
        }
    }

    private static void header(ByteBuf buf, int offset, int type, int length) {
        Wire.checkRange(buf, offset, length);
        buf.setByte(offset, type);
        buf.setByte(offset + 1, length / 8);
    }

    private static void checkU32(String what, long v) {
        if (v < 0 || v > 0xffff_ffffL) {
            throw new IllegalArgumentException(what + " " + v + " out of 0..2^32-1");
        }
    }

    static int lengthOf(List<NdpOption> options) {
        int n = 0;
        for (NdpOption o : options) {
            n += o.bufferLength();
        }
        return n;
    }

    static void emitAll(List<NdpOption> options, ByteBuf buf, int offset) {
        int at = offset;
        for (NdpOption o : options) {
            o.emit(buf, at);
            at += o.bufferLength();
        }
    }
}
