package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The ICMPv6 messages this package reads and writes: the errors and echo of RFC 4443, the
 * Neighbor Discovery messages of RFC 4861 §4 and the MLDv2 report of RFC 3810 §5.2. The checksum
 * over the IPv6 pseudo-header (RFC 8200 §8.1) is verified by {@link #parse} and filled by
 * {@link #emit}. Data fields are slices of the parsed buffer (valid as long as it is) and compare
 * by content. Immutable if those are not written.
 */
public sealed interface Icmpv6Repr {
    /** The message's length in bytes. */
    int bufferLength();

    /** The message's Type. */
    int type();

    /** Writes the message at absolute {@code offset}, checksum included, for this source and destination. */
    default void emit(ByteBuf buf, int offset, Ipv6Address source, Ipv6Address destination) {
        int length = bufferLength();
        Wire.checkRange(buf, offset, length);
        buf.setByte(offset, type());
        buf.setShort(offset + Icmpv6Packet.CHECKSUM, 0);
        emitBody(buf, offset);
        long sum = Checksum.pseudoHeader(source, destination, IpProtocol.ICMPV6.value(), length);
        buf.setShort(offset + Icmpv6Packet.CHECKSUM, Checksum.finish(Checksum.add(sum, buf, offset, length)));
    }

    /** Writes the code and everything after the checksum. */
    void emitBody(ByteBuf buf, int offset);

    /** The most of an offending packet an error message carries: the message stays within the minimum MTU (RFC 4443 §2.4(c)). */
    int MAX_ORIGINAL = Ipv6Packet.MINIMUM_MTU - Ipv6Packet.HEADER_LENGTH - Icmpv6Packet.HEADER_LENGTH;

    /** Destination Unreachable (type 1), codes 0..7 (RFC 4443 §3.1, RFC 7112 code 7). */
    record DestinationUnreachable(int code, ByteBuf original) implements Icmpv6Repr {
        public static final int NO_ROUTE = 0;
        public static final int ADMINISTRATIVELY_PROHIBITED = 1;
        public static final int BEYOND_SCOPE = 2;
        public static final int ADDRESS_UNREACHABLE = 3;
        public static final int PORT_UNREACHABLE = 4;
        public static final int SOURCE_POLICY_FAILED = 5;
        public static final int REJECT_ROUTE = 6;
        public static final int HEADER_CHAIN_INCOMPLETE = 7;

        public DestinationUnreachable {
            checkCode("destination unreachable", code, 7);
            checkOriginal(original);
        }

        @Override
        public int type() {
            return Icmpv6Packet.TYPE_DESTINATION_UNREACHABLE;
        }

        @Override
        public int bufferLength() {
            return Icmpv6Packet.HEADER_LENGTH + original.readableBytes();
        }

        @Override
        public void emitBody(ByteBuf buf, int offset) {
            errorBody(buf, offset, code, 0, original);
        }
    }

    /** Packet Too Big (type 2, RFC 4443 §3.2) with the next-hop MTU. */
    record PacketTooBig(long mtu, ByteBuf original) implements Icmpv6Repr {
        public PacketTooBig {
            if (mtu < 0 || mtu > 0xffff_ffffL) {
                throw new IllegalArgumentException("MTU " + mtu + " out of 0..2^32-1");
            }
            checkOriginal(original);
        }

        @Override
        public int type() {
            return Icmpv6Packet.TYPE_PACKET_TOO_BIG;
        }

        @Override
        public int bufferLength() {
            return Icmpv6Packet.HEADER_LENGTH + original.readableBytes();
        }

        @Override
        public void emitBody(ByteBuf buf, int offset) {
            errorBody(buf, offset, 0, (int) mtu, original);
        }
    }

    /** Time Exceeded (type 3): code 0 hop limit exceeded in transit, 1 fragment reassembly time exceeded. */
    record TimeExceeded(int code, ByteBuf original) implements Icmpv6Repr {
        public TimeExceeded {
            checkCode("time exceeded", code, 1);
            checkOriginal(original);
        }

        @Override
        public int type() {
            return Icmpv6Packet.TYPE_TIME_EXCEEDED;
        }

        @Override
        public int bufferLength() {
            return Icmpv6Packet.HEADER_LENGTH + original.readableBytes();
        }

        @Override
        public void emitBody(ByteBuf buf, int offset) {
            errorBody(buf, offset, code, 0, original);
        }
    }

    /**
     * Parameter Problem (type 4, RFC 4443 §3.4): code 0 erroneous header field, 1 unrecognized
     * Next Header, 2 unrecognized option, 3 incomplete header chain (RFC 7112); the pointer counts
     * from the start of the offending packet's IPv6 header.
     */
    record ParameterProblem(int code, long pointer, ByteBuf original) implements Icmpv6Repr {
        public ParameterProblem {
            checkCode("parameter problem", code, 3);
            if (pointer < 0 || pointer > 0xffff_ffffL) {
                throw new IllegalArgumentException("pointer " + pointer + " out of 0..2^32-1");
            }
            checkOriginal(original);
        }

        @Override
        public int type() {
            return Icmpv6Packet.TYPE_PARAMETER_PROBLEM;
        }

        @Override
        public int bufferLength() {
            return Icmpv6Packet.HEADER_LENGTH + original.readableBytes();
        }

        @Override
        public void emitBody(ByteBuf buf, int offset) {
            errorBody(buf, offset, code, (int) pointer, original);
        }
    }

    /** Echo Request (128) or Echo Reply (129), RFC 4443 §4. */
    record Echo(boolean request, int identifier, int sequence, ByteBuf data) implements Icmpv6Repr {
        public Echo {
            Wire.checkU16("identifier", identifier);
            Wire.checkU16("sequence", sequence);
            Objects.requireNonNull(data, "data");
        }

        @Override
        public int type() {
            return request ? Icmpv6Packet.TYPE_ECHO_REQUEST : Icmpv6Packet.TYPE_ECHO_REPLY;
        }

        @Override
        public int bufferLength() {
            return Icmpv6Packet.HEADER_LENGTH + data.readableBytes();
        }

        @Override
        public void emitBody(ByteBuf buf, int offset) {
            buf.setByte(offset + 1, 0);
            buf.setShort(offset + 4, identifier);
            buf.setShort(offset + 6, sequence);
            buf.setBytes(offset + 8, data, data.readerIndex(), data.readableBytes());
        }
    }

    /** Router Solicitation (133, RFC 4861 §4.1). */
    record RouterSolicitation(List<NdpOption> options) implements Icmpv6Repr {
        public RouterSolicitation {
            options = List.copyOf(options);
        }

        @Override
        public int type() {
            return Icmpv6Packet.TYPE_ROUTER_SOLICITATION;
        }

        @Override
        public int bufferLength() {
            return 8 + NdpOption.lengthOf(options);
        }

        @Override
        public void emitBody(ByteBuf buf, int offset) {
            buf.setByte(offset + 1, 0);
            buf.setInt(offset + 4, 0);
            NdpOption.emitAll(options, buf, offset + 8);
        }
    }

    /**
     * Router Advertisement (134, RFC 4861 §4.2): Cur Hop Limit, the M and O flags, Router Lifetime
     * (s), Reachable Time and Retrans Timer (ms, unsigned 32-bit). Other flag bits (RFC 4191
     * preference, RFC 5175) are dropped on parse and written as zero.
     */
    record RouterAdvertisement(int curHopLimit, boolean managed, boolean otherConfig, int routerLifetime,
            long reachableTime, long retransTimer, List<NdpOption> options) implements Icmpv6Repr {
        public RouterAdvertisement {
            Wire.checkU8("cur hop limit", curHopLimit);
            Wire.checkU16("router lifetime", routerLifetime);
            checkU32("reachable time", reachableTime);
            checkU32("retrans timer", retransTimer);
            options = List.copyOf(options);
        }

        @Override
        public int type() {
            return Icmpv6Packet.TYPE_ROUTER_ADVERTISEMENT;
        }

        @Override
        public int bufferLength() {
            return 16 + NdpOption.lengthOf(options);
        }

        @Override
        public void emitBody(ByteBuf buf, int offset) {
            buf.setByte(offset + 1, 0);
            buf.setByte(offset + 4, curHopLimit);
            buf.setByte(offset + 5, (managed ? 0x80 : 0) | (otherConfig ? 0x40 : 0));
            buf.setShort(offset + 6, routerLifetime);
            buf.setInt(offset + 8, (int) reachableTime);
            buf.setInt(offset + 12, (int) retransTimer);
            NdpOption.emitAll(options, buf, offset + 16);
        }
    }

    /** The body NS and NA share (RFC 4861 §4.3, §4.4): code 0, a flags word, the target, then the options. */
    private static void emitNeighborBody(ByteBuf buf, int offset, int flags, Ipv6Address target, List<NdpOption> options) {
        buf.setByte(offset + 1, 0);
        buf.setInt(offset + 4, flags);
        Wire.setIpv6(buf, offset + 8, target);
        NdpOption.emitAll(options, buf, offset + 24);
    }

    /** Neighbor Solicitation (135, RFC 4861 §4.3); the target is not multicast. */
    record NeighborSolicitation(Ipv6Address target, List<NdpOption> options) implements Icmpv6Repr {
        public NeighborSolicitation {
            Objects.requireNonNull(target, "target");
            if (target.isMulticast()) {
                throw new IllegalArgumentException("neighbor solicitation for multicast target " + target);
            }
            options = List.copyOf(options);
        }

        @Override
        public int type() {
            return Icmpv6Packet.TYPE_NEIGHBOR_SOLICITATION;
        }

        @Override
        public int bufferLength() {
            return 24 + NdpOption.lengthOf(options);
        }

        @Override
        public void emitBody(ByteBuf buf, int offset) {
            emitNeighborBody(buf, offset, 0, target, options);
        }
    }

    /** Neighbor Advertisement (136, RFC 4861 §4.4) with the Router, Solicited and Override flags. */
    record NeighborAdvertisement(boolean router, boolean solicited, boolean override, Ipv6Address target,
            List<NdpOption> options) implements Icmpv6Repr {
        public NeighborAdvertisement {
            Objects.requireNonNull(target, "target");
            if (target.isMulticast()) {
                throw new IllegalArgumentException("neighbor advertisement for multicast target " + target);
            }
            options = List.copyOf(options);
        }

        @Override
        public int type() {
            return Icmpv6Packet.TYPE_NEIGHBOR_ADVERTISEMENT;
        }

        @Override
        public int bufferLength() {
            return 24 + NdpOption.lengthOf(options);
        }

        @Override
        public void emitBody(ByteBuf buf, int offset) {
            int flags = (router ? 0x8000_0000 : 0) | (solicited ? 0x4000_0000 : 0) | (override ? 0x2000_0000 : 0);
            emitNeighborBody(buf, offset, flags, target, options);
        }
    }

    /** Redirect (137, RFC 4861 §4.5): the better first hop (target) for a destination; the destination is not multicast. */
    record Redirect(Ipv6Address target, Ipv6Address destination, List<NdpOption> options) implements Icmpv6Repr {
        public Redirect {
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(destination, "destination");
            if (destination.isMulticast()) {
                throw new IllegalArgumentException("redirect for multicast destination " + destination);
            }
            options = List.copyOf(options);
        }

        @Override
        public int type() {
            return Icmpv6Packet.TYPE_REDIRECT;
        }

        @Override
        public int bufferLength() {
            return 40 + NdpOption.lengthOf(options);
        }

        @Override
        public void emitBody(ByteBuf buf, int offset) {
            buf.setByte(offset + 1, 0);
            buf.setInt(offset + 4, 0);
            Wire.setIpv6(buf, offset + 8, target);
            Wire.setIpv6(buf, offset + 24, destination);
            NdpOption.emitAll(options, buf, offset + 40);
        }
    }

    /**
     * One Multicast Address Record of an MLDv2 report (RFC 3810 §5.2.4): a record type 1..6, a
     * multicast address, its sources and auxiliary data (a multiple of 4 bytes).
     */
    record MulticastAddressRecord(int recordType, Ipv6Address address, List<Ipv6Address> sources, ByteBuf auxData) {
        public static final int MODE_IS_INCLUDE = 1;
        public static final int MODE_IS_EXCLUDE = 2;
        public static final int CHANGE_TO_INCLUDE_MODE = 3;
        public static final int CHANGE_TO_EXCLUDE_MODE = 4;
        public static final int ALLOW_NEW_SOURCES = 5;
        public static final int BLOCK_OLD_SOURCES = 6;

        public MulticastAddressRecord {
            if (recordType < 1 || recordType > 6) {
                throw new IllegalArgumentException("MLDv2 record type " + recordType + " out of 1..6");
            }
            Objects.requireNonNull(address, "address");
            if (!address.isMulticast()) {
                throw new IllegalArgumentException("MLDv2 record for non-multicast " + address);
            }
            sources = List.copyOf(sources);
            Wire.checkU16("number of sources", sources.size());
            Objects.requireNonNull(auxData, "auxData");
            if (auxData.readableBytes() % 4 != 0 || auxData.readableBytes() / 4 > 255) {
                throw new IllegalArgumentException("aux data of " + auxData.readableBytes() + " bytes");
            }
        }

        public MulticastAddressRecord(int recordType, Ipv6Address address, List<Ipv6Address> sources) {
            this(recordType, address, sources, io.netty.buffer.Unpooled.EMPTY_BUFFER);
        }

        int bufferLength() {
            return 20 + 16 * sources.size() + auxData.readableBytes();
        }
    }

    /** MLDv2 Multicast Listener Report (143, RFC 3810 §5.2). */
    record Mldv2Report(List<MulticastAddressRecord> records) implements Icmpv6Repr {
        public Mldv2Report {
            records = List.copyOf(records);
            Wire.checkU16("number of records", records.size());
        }

        @Override
        public int type() {
            return Icmpv6Packet.TYPE_MLDV2_REPORT;
        }

        @Override
        public int bufferLength() {
            int n = 8;
            for (MulticastAddressRecord r : records) {
                n += r.bufferLength();
            }
            return n;
        }

        @Override
        public void emitBody(ByteBuf buf, int offset) {
            buf.setByte(offset + 1, 0);
            buf.setShort(offset + 4, 0);
            buf.setShort(offset + 6, records.size());
            int at = offset + 8;
            for (MulticastAddressRecord r : records) {
                buf.setByte(at, r.recordType());
                buf.setByte(at + 1, r.auxData().readableBytes() / 4);
                buf.setShort(at + 2, r.sources().size());
                Wire.setIpv6(buf, at + 4, r.address());
                at += 20;
                for (Ipv6Address s : r.sources()) {
                    Wire.setIpv6(buf, at, s);
                    at += 16;
                }
                buf.setBytes(at, r.auxData(), r.auxData().readerIndex(), r.auxData().readableBytes());
                at += r.auxData().readableBytes();
            }
        }
    }

    /**
     * Verifies the checksum against {@code ip}'s addresses and reads the message. Neighbor
     * Discovery messages are checked as RFC 4861 §6.1.1, §6.1.2, §7.1 and §8.1 ask: hop limit 255,
     * code 0, the minimum length, options of non-zero length within the message, and the
     * address rules (a multicast target refused; from the unspecified address, no source
     * link-layer address option; a redirect from a link-local source).
     *
     * @throws ErrnoException {@code EBADMSG} for a bad checksum, code, length or field;
     *     {@code EPROTONOSUPPORT} for a type this package does not read
     */
    static Icmpv6Repr parse(Icmpv6Packet packet, Ipv6Repr ip) throws ErrnoException {
        if (!packet.verifyChecksum(ip.source(), ip.destination())) {
            throw Wire.malformed(String.format(Locale.ROOT, "ICMPv6 Checksum 0x%04x at offset 2 does not verify", packet.checksum()));
        }
        int type = packet.type();
        int code = packet.code();
        ByteBuf buf = packet.buffer();
        int at = packet.index();
        int length = packet.length();
        switch (type) {
            case Icmpv6Packet.TYPE_DESTINATION_UNREACHABLE -> {
                codeAtMost("destination unreachable", code, 7);
                return new DestinationUnreachable(code, original(packet));
            }
            case Icmpv6Packet.TYPE_PACKET_TOO_BIG -> {
                codeAtMost("packet too big", code, 0);
                return new PacketTooBig(packet.word1() & 0xffff_ffffL, original(packet));
            }
            case Icmpv6Packet.TYPE_TIME_EXCEEDED -> {
                codeAtMost("time exceeded", code, 1);
                return new TimeExceeded(code, original(packet));
            }
            case Icmpv6Packet.TYPE_PARAMETER_PROBLEM -> {
                codeAtMost("parameter problem", code, 3);
                return new ParameterProblem(code, packet.word1() & 0xffff_ffffL, original(packet));
            }
            case Icmpv6Packet.TYPE_ECHO_REQUEST, Icmpv6Packet.TYPE_ECHO_REPLY -> {
                codeAtMost("echo", code, 0);
                return new Echo(type == Icmpv6Packet.TYPE_ECHO_REQUEST, buf.getUnsignedShort(at + 4),
                        buf.getUnsignedShort(at + 6), packet.body());
            }
            case Icmpv6Packet.TYPE_ROUTER_SOLICITATION -> {
                ndp("router solicitation", packet, ip, 8);
                List<NdpOption> options = NdpOption.parseAll("ICMPv6 router solicitation", buf, at, at + 8, at + length);
                noSourceLinkLayerFromUnspecified("router solicitation", ip, options);
                return new RouterSolicitation(options);
            }
            case Icmpv6Packet.TYPE_ROUTER_ADVERTISEMENT -> {
                ndp("router advertisement", packet, ip, 16);
                if (!ip.source().isLinkLocal()) {
                    throw Wire.malformed("ICMPv6 router advertisement from " + ip.source() + ", not link-local (RFC 4861 §6.1.2)");
                }
                int flags = buf.getUnsignedByte(at + 5);
                return new RouterAdvertisement(buf.getUnsignedByte(at + 4), (flags & 0x80) != 0, (flags & 0x40) != 0,
                        buf.getUnsignedShort(at + 6), buf.getUnsignedInt(at + 8), buf.getUnsignedInt(at + 12),
                        NdpOption.parseAll("ICMPv6 router advertisement", buf, at, at + 16, at + length));
            }
            case Icmpv6Packet.TYPE_NEIGHBOR_SOLICITATION -> {
                ndp("neighbor solicitation", packet, ip, 24);
                Ipv6Address target = notMulticast("neighbor solicitation Target Address", Wire.getIpv6(buf, at + 8));
                List<NdpOption> options = NdpOption.parseAll("ICMPv6 neighbor solicitation", buf, at, at + 24, at + length);
                noSourceLinkLayerFromUnspecified("neighbor solicitation", ip, options);
                if (ip.source().isUnspecified() && !ip.destination().isSolicitedNode()) {
                    throw Wire.malformed("ICMPv6 neighbor solicitation from :: to " + ip.destination()
                            + ", not a solicited-node address (RFC 4861 §7.1.1)");
                }
                return new NeighborSolicitation(target, options);
            }
            case Icmpv6Packet.TYPE_NEIGHBOR_ADVERTISEMENT -> {
                ndp("neighbor advertisement", packet, ip, 24);
                int flags = buf.getInt(at + 4);
                Ipv6Address target = notMulticast("neighbor advertisement Target Address", Wire.getIpv6(buf, at + 8));
                if ((flags & 0x4000_0000) != 0 && ip.destination().isMulticast()) {
                    throw Wire.malformed("ICMPv6 neighbor advertisement to multicast " + ip.destination()
                            + " with the Solicited flag (RFC 4861 §7.1.2)");
                }
                return new NeighborAdvertisement((flags & 0x8000_0000) != 0, (flags & 0x4000_0000) != 0,
                        (flags & 0x2000_0000) != 0, target,
                        NdpOption.parseAll("ICMPv6 neighbor advertisement", buf, at, at + 24, at + length));
            }
            case Icmpv6Packet.TYPE_REDIRECT -> {
                ndp("redirect", packet, ip, 40);
                if (!ip.source().isLinkLocal()) {
                    throw Wire.malformed("ICMPv6 redirect from " + ip.source() + ", not link-local (RFC 4861 §8.1)");
                }
                return new Redirect(Wire.getIpv6(buf, at + 8),
                        notMulticast("redirect Destination Address", Wire.getIpv6(buf, at + 24)),
                        NdpOption.parseAll("ICMPv6 redirect", buf, at, at + 40, at + length));
            }
            case Icmpv6Packet.TYPE_MLDV2_REPORT -> {
                codeAtMost("MLDv2 report", code, 0);
                return parseMldv2(buf, at, length);
            }
            default -> throw Wire.unsupported("ICMPv6 Type " + type + " at offset 0");
        }
    }

    private static Mldv2Report parseMldv2(ByteBuf buf, int base, int length) throws ErrnoException {
        int count = buf.getUnsignedShort(base + 6);
        int end = base + length;
        // Each record is at least 20 bytes: refuse a count that cannot fit before reading any.
        if (count > (length - 8) / 20) {
            throw Wire.malformed("ICMPv6 MLDv2 report: Nr of Mcast Address Records " + count + " at offset 6 cannot fit in "
                    + (length - 8) + " bytes");
        }
        List<MulticastAddressRecord> records = new ArrayList<>(count);
        int at = base + 8;
        for (int i = 0; i < count; i++) {
            String where = "ICMPv6 MLDv2 report record " + i + " at offset " + (at - base);
            if (end - at < 20) {
                throw Wire.malformed(where + ": 20 bytes needed, " + (end - at) + " left");
            }
            int recordType = buf.getUnsignedByte(at);
            if (recordType < 1 || recordType > 6) {
                throw Wire.malformed(where + ": Record Type " + recordType + " is not 1..6");
            }
            int aux = buf.getUnsignedByte(at + 1) * 4;
            int sources = buf.getUnsignedShort(at + 2);
            long recordLength = 20L + 16L * sources + aux;
            if (recordLength > end - at) {
                throw Wire.malformed(where + ": " + sources + " sources and " + aux + " bytes of aux data run past the message ("
                        + (end - at) + " bytes left)");
            }
            Ipv6Address address = Wire.getIpv6(buf, at + 4);
            if (!address.isMulticast()) {
                throw Wire.malformed(where + ": Multicast Address " + address + " is not multicast");
            }
            List<Ipv6Address> list = new ArrayList<>(sources);
            for (int s = 0; s < sources; s++) {
                list.add(Wire.getIpv6(buf, at + 20 + 16 * s));
            }
            records.add(new MulticastAddressRecord(recordType, address, list, buf.slice(at + 20 + 16 * sources, aux)));
            at += (int) recordLength;
        }
        return new Mldv2Report(records);
    }

    private static void ndp(String name, Icmpv6Packet p, Ipv6Repr ip, int minLength) throws ErrnoException {
        if (ip.hopLimit() != 255) {
            throw Wire.malformed("ICMPv6 " + name + " with IPv6 Hop Limit " + ip.hopLimit() + ", not 255 (RFC 4861 §6.1, §7.1)");
        }
        codeAtMost(name, p.code(), 0);
        if (p.length() < minLength) {
            throw Wire.malformed("ICMPv6 " + name + " of " + p.length() + " bytes is shorter than " + minLength);
        }
    }

    private static void noSourceLinkLayerFromUnspecified(String name, Ipv6Repr ip, List<NdpOption> options) throws ErrnoException {
        if (ip.source().isUnspecified()) {
            for (NdpOption o : options) {
                if (o instanceof NdpOption.SourceLinkLayerAddress) {
                    throw Wire.malformed("ICMPv6 " + name + " from :: with a source link-layer address option (RFC 4861 §6.1.1, §7.1.1)");
                }
            }
        }
    }

    private static Ipv6Address notMulticast(String what, Ipv6Address a) throws ErrnoException {
        if (a.isMulticast()) {
            throw Wire.malformed("ICMPv6 " + what + " " + a + " is multicast");
        }
        return a;
    }

    private static void codeAtMost(String name, int code, int max) throws ErrnoException {
        if (code > max) {
            throw Wire.malformed("ICMPv6 " + name + " Code " + code + " at offset 1 is above " + max);
        }
    }

    private static ByteBuf original(Icmpv6Packet p) {
        ByteBuf body = p.body();
        return body.readableBytes() > MAX_ORIGINAL ? body.slice(body.readerIndex(), MAX_ORIGINAL) : body;
    }

    private static void errorBody(ByteBuf buf, int offset, int code, int word, ByteBuf original) {
        buf.setByte(offset + 1, code);
        buf.setInt(offset + 4, word);
        buf.setBytes(offset + 8, original, original.readerIndex(), original.readableBytes());
    }

    private static void checkCode(String name, int code, int max) {
        if (code < 0 || code > max) {
            throw new IllegalArgumentException(name + " code " + code + " out of 0.." + max);
        }
    }

    private static void checkOriginal(ByteBuf original) {
        Objects.requireNonNull(original, "original");
        if (original.readableBytes() > MAX_ORIGINAL) {
            throw new IllegalArgumentException("an invoking packet of " + original.readableBytes()
                    + " bytes makes the error exceed the minimum MTU (RFC 4443 §2.4(c))");
        }
    }

    private static void checkU32(String what, long v) {
        if (v < 0 || v > 0xffff_ffffL) {
            throw new IllegalArgumentException(what + " " + v + " out of 0..2^32-1");
        }
    }
}
