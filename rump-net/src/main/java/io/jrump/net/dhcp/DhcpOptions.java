package io.jrump.net.dhcp;

import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The options of a DHCP message (RFC 2132) this package reads, each in a field of its own, and
 * the others kept opaque in {@link #others}. A null field or an empty list means the option is
 * absent. Times are seconds, unsigned 32-bit ({@link #INFINITE} is 0xffffffff). The domain name
 * is held as ISO-8859-1 so that any bytes round-trip. Immutable; compares by value.
 */
public record DhcpOptions(
        DhcpMessageType messageType,
        Ipv4Address serverId,
        Ipv4Address requestedAddress,
        Long leaseSeconds,
        Long renewalSeconds,
        Long rebindingSeconds,
        Ipv4Address subnetMask,
        List<Ipv4Address> routers,
        List<Ipv4Address> dnsServers,
        String domainName,
        Integer mtu,
        List<Integer> parameterRequestList,
        Octets clientId,
        List<Other> others) {

    /** The lease time that never ends. */
    public static final long INFINITE = 0xffff_ffffL;

    /** An option this package does not interpret: its code (1..254) and value (up to 255 bytes). */
    public record Other(int code, Octets value) {
        public Other {
            if (code < 1 || code > 254 || DhcpOption.isKnown(code) || code == DhcpOption.OVERLOAD) {
                throw new IllegalArgumentException("option " + code + " is not an opaque one");
            }
            if (value.length() > 255) {
                throw new IllegalArgumentException("option " + code + " value of " + value.length() + " bytes");
            }
        }
    }

    public DhcpOptions {
        Objects.requireNonNull(messageType, "messageType");
        checkSeconds("lease time", leaseSeconds);
        checkSeconds("renewal time", renewalSeconds);
        checkSeconds("rebinding time", rebindingSeconds);
        routers = List.copyOf(routers);
        dnsServers = List.copyOf(dnsServers);
        parameterRequestList = List.copyOf(parameterRequestList);
        others = List.copyOf(others);
        if (routers.size() > 63 || dnsServers.size() > 63) {
            throw new IllegalArgumentException("more than 63 addresses do not fit an option");
        }
        if (domainName != null && (domainName.isEmpty() || domainName.length() > 255
                || !StandardCharsets.ISO_8859_1.newEncoder().canEncode(domainName))) {
            throw new IllegalArgumentException("domain name of 1..255 ISO-8859-1 characters: '" + domainName + "'");
        }
        if (mtu != null && (mtu < 68 || mtu > 0xffff)) {
            throw new IllegalArgumentException("MTU " + mtu + " out of 68..65535");
        }
        if (parameterRequestList.size() > 255 || parameterRequestList.stream().anyMatch(c -> c < 0 || c > 255)) {
            throw new IllegalArgumentException("parameter request list " + parameterRequestList);
        }
        if (clientId != null && (clientId.length() < 2 || clientId.length() > 255)) {
            throw new IllegalArgumentException("client identifier of " + clientId.length() + " bytes, not 2..255");
        }
        if (others.stream().map(Other::code).distinct().count() != others.size()) {
            throw new IllegalArgumentException("an opaque option given twice: " + others);
        }
    }

    private static void checkSeconds(String what, Long v) {
        if (v != null && (v < 0 || v > INFINITE)) {
            throw new IllegalArgumentException(what + " " + v + " out of 0..0xffffffff");
        }
    }

    public static Builder builder(DhcpMessageType type) {
        return new Builder(type);
    }

    /** Reads the options of a checked view (their lengths are already checked). */
    static DhcpOptions parse(DhcpPacket p) {
        Builder b = new Builder(DhcpMessageType.of(p.option(DhcpOption.MESSAGE_TYPE).getUnsignedByte(0)));
        b.serverId = address(p, DhcpOption.SERVER_ID);
        b.requestedAddress = address(p, DhcpOption.REQUESTED_ADDRESS);
        b.leaseSeconds = seconds(p, DhcpOption.LEASE_TIME);
        b.renewalSeconds = seconds(p, DhcpOption.RENEWAL_TIME);
        b.rebindingSeconds = seconds(p, DhcpOption.REBINDING_TIME);
        b.subnetMask = address(p, DhcpOption.SUBNET_MASK);
        b.routers = addresses(p, DhcpOption.ROUTER);
        b.dnsServers = addresses(p, DhcpOption.DNS_SERVER);
        if (p.has(DhcpOption.DOMAIN_NAME)) {
            b.domainName = p.option(DhcpOption.DOMAIN_NAME).toString(StandardCharsets.ISO_8859_1);
        }
        if (p.has(DhcpOption.INTERFACE_MTU)) {
            b.mtu = p.option(DhcpOption.INTERFACE_MTU).getUnsignedShort(0);
        }
        if (p.has(DhcpOption.PARAMETER_REQUEST_LIST)) {
            ByteBuf v = p.option(DhcpOption.PARAMETER_REQUEST_LIST);
            List<Integer> codes = new ArrayList<>(v.readableBytes());
            for (int i = 0; i < v.readableBytes(); i++) {
                codes.add((int) v.getUnsignedByte(i));
            }
            b.parameterRequestList = codes;
        }
        if (p.has(DhcpOption.CLIENT_ID)) {
            b.clientId = octets(p.option(DhcpOption.CLIENT_ID));
        }
        for (int code : p.optionCodes()) {
            if (!DhcpOption.isKnown(code)) {
                b.others.add(new Other(code, octets(p.option(code))));
            }
        }
        return b.build();
    }

    private static Octets octets(ByteBuf v) {
        byte[] bytes = new byte[v.readableBytes()];
        v.getBytes(0, bytes);
        return Octets.of(bytes);
    }

    private static Ipv4Address address(DhcpPacket p, int code) {
        return p.has(code) ? new Ipv4Address(p.option(code).getInt(0)) : null;
    }

    private static Long seconds(DhcpPacket p, int code) {
        return p.has(code) ? p.option(code).getUnsignedInt(0) : null;
    }

    private static List<Ipv4Address> addresses(DhcpPacket p, int code) {
        if (!p.has(code)) {
            return List.of();
        }
        ByteBuf v = p.option(code);
        List<Ipv4Address> list = new ArrayList<>(v.readableBytes() / 4);
        for (int i = 0; i + 4 <= v.readableBytes(); i += 4) {
            list.add(new Ipv4Address(v.getInt(i)));
        }
        return list;
    }

    /** The bytes {@link #emit} writes, End included. */
    int bufferLength() {
        int n = 3 + 1; // Message Type, End
        n += serverId != null ? 6 : 0;
        n += requestedAddress != null ? 6 : 0;
        n += leaseSeconds != null ? 6 : 0;
        n += renewalSeconds != null ? 6 : 0;
        n += rebindingSeconds != null ? 6 : 0;
        n += subnetMask != null ? 6 : 0;
        n += routers.isEmpty() ? 0 : 2 + 4 * routers.size();
        n += dnsServers.isEmpty() ? 0 : 2 + 4 * dnsServers.size();
        n += domainName != null ? 2 + domainName.length() : 0;
        n += mtu != null ? 4 : 0;
        n += parameterRequestList.isEmpty() ? 0 : 2 + parameterRequestList.size();
        n += clientId != null ? 2 + clientId.length() : 0;
        for (Other o : others) {
            n += 2 + o.value().length();
        }
        return n;
    }

    /** Writes the options at absolute {@code index}: Message Type first, then by code, the opaque ones, End. */
    int emit(ByteBuf buf, int index) {
        int i = index;
        buf.setByte(i++, DhcpOption.MESSAGE_TYPE).setByte(i++, 1).setByte(i++, messageType.value());
        i = putAddresses(buf, i, DhcpOption.SUBNET_MASK, subnetMask == null ? List.of() : List.of(subnetMask));
        i = putAddresses(buf, i, DhcpOption.ROUTER, routers);
        i = putAddresses(buf, i, DhcpOption.DNS_SERVER, dnsServers);
        if (domainName != null) {
            byte[] name = domainName.getBytes(StandardCharsets.ISO_8859_1);
            buf.setByte(i++, DhcpOption.DOMAIN_NAME).setByte(i++, name.length).setBytes(i, name);
            i += name.length;
        }
        if (mtu != null) {
            buf.setByte(i++, DhcpOption.INTERFACE_MTU).setByte(i++, 2).setShort(i, mtu);
            i += 2;
        }
        i = putAddresses(buf, i, DhcpOption.REQUESTED_ADDRESS,
                requestedAddress == null ? List.of() : List.of(requestedAddress));
        i = putSeconds(buf, i, DhcpOption.LEASE_TIME, leaseSeconds);
        i = putAddresses(buf, i, DhcpOption.SERVER_ID, serverId == null ? List.of() : List.of(serverId));
        if (!parameterRequestList.isEmpty()) {
            buf.setByte(i++, DhcpOption.PARAMETER_REQUEST_LIST).setByte(i++, parameterRequestList.size());
            for (int code : parameterRequestList) {
                buf.setByte(i++, code);
            }
        }
        i = putSeconds(buf, i, DhcpOption.RENEWAL_TIME, renewalSeconds);
        i = putSeconds(buf, i, DhcpOption.REBINDING_TIME, rebindingSeconds);
        if (clientId != null) {
            buf.setByte(i++, DhcpOption.CLIENT_ID).setByte(i++, clientId.length()).setBytes(i, clientId.toBytes());
            i += clientId.length();
        }
        for (Other o : others) {
            buf.setByte(i++, o.code()).setByte(i++, o.value().length()).setBytes(i, o.value().toBytes());
            i += o.value().length();
        }
        buf.setByte(i++, DhcpOption.END);
        return i;
    }

    private static int putAddresses(ByteBuf buf, int i, int code, List<Ipv4Address> list) {
        if (list.isEmpty()) {
            return i;
        }
        buf.setByte(i++, code).setByte(i++, 4 * list.size());
        for (Ipv4Address a : list) {
            buf.setInt(i, a.bits());
            i += 4;
        }
        return i;
    }

    private static int putSeconds(ByteBuf buf, int i, int code, Long seconds) {
        if (seconds == null) {
            return i;
        }
        buf.setByte(i++, code).setByte(i++, 4).setInt(i, (int) (long) seconds);
        return i + 4;
    }

    /** Builds options field by field; unset fields stay absent. Not thread-safe. */
    public static final class Builder {
        private final DhcpMessageType messageType;
        private Ipv4Address serverId;
        private Ipv4Address requestedAddress;
        private Long leaseSeconds;
        private Long renewalSeconds;
        private Long rebindingSeconds;
        private Ipv4Address subnetMask;
        private List<Ipv4Address> routers = List.of();
        private List<Ipv4Address> dnsServers = List.of();
        private String domainName;
        private Integer mtu;
        private List<Integer> parameterRequestList = List.of();
        private Octets clientId;
        private final List<Other> others = new ArrayList<>();

        private Builder(DhcpMessageType messageType) {
            this.messageType = messageType;
        }

        public Builder serverId(Ipv4Address v) {
            serverId = v;
            return this;
        }

        public Builder requestedAddress(Ipv4Address v) {
            requestedAddress = v;
            return this;
        }

        public Builder leaseSeconds(Long v) {
            leaseSeconds = v;
            return this;
        }

        public Builder renewalSeconds(Long v) {
            renewalSeconds = v;
            return this;
        }

        public Builder rebindingSeconds(Long v) {
            rebindingSeconds = v;
            return this;
        }

        public Builder subnetMask(Ipv4Address v) {
            subnetMask = v;
            return this;
        }

        public Builder routers(List<Ipv4Address> v) {
            routers = v;
            return this;
        }

        public Builder dnsServers(List<Ipv4Address> v) {
            dnsServers = v;
            return this;
        }

        public Builder domainName(String v) {
            domainName = v;
            return this;
        }

        public Builder mtu(Integer v) {
            mtu = v;
            return this;
        }

        public Builder parameterRequestList(List<Integer> v) {
            parameterRequestList = v;
            return this;
        }

        public Builder clientId(Octets v) {
            clientId = v;
            return this;
        }

        public Builder other(int code, Octets value) {
            others.add(new Other(code, value));
            return this;
        }

        public DhcpOptions build() {
            return new DhcpOptions(messageType, serverId, requestedAddress, leaseSeconds, renewalSeconds,
                    rebindingSeconds, subnetMask, routers, dnsServers, domainName, mtu, parameterRequestList, clientId,
                    others);
        }
    }
}
