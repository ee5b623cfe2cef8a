package io.jrump.net.dhcp6;

import io.jrump.net.Ipv6Address;
import io.jrump.net.dhcp.Octets;
import io.jrump.net.dns.DnsName;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The options of a DHCPv6 message this package interprets, each in a field of its own, and the
 * others (encapsulated ones included) kept opaque in {@link #others}, in the order they came. A
 * null field or an empty list means the option is absent. Times are seconds, unsigned 32-bit;
 * the elapsed time is hundredths of a second (RFC 8415 §21.9). Range rules for the times
 * (Information Refresh Time at least 600 s, SOL_MAX_RT and INF_MAX_RT in 60..86400) are the
 * client's to apply: the record keeps what was sent. Immutable; compares by value.
 *
 * @param optionRequest codes of the Option Request option (6)
 * @param dnsServers the DNS Recursive Name Server option (23, RFC 3646 §3)
 * @param domainList the Domain Search List option (24, RFC 3646 §4)
 */
public record Dhcp6Options(
        Duid clientId,
        Duid serverId,
        List<Integer> optionRequest,
        Integer elapsedHundredths,
        StatusCode status,
        List<Ipv6Address> dnsServers,
        List<DnsName> domainList,
        Long refreshSeconds,
        Long solMaxRtSeconds,
        Long infMaxRtSeconds,
        List<Other> others) {

    /** The Information Refresh Time meaning never (RFC 8415 §21.23). */
    public static final long INFINITY = 0xffff_ffffL;
    /** The largest option value. */
    public static final int MAX_VALUE_LENGTH = 0xffff;

    /** The Status Code option (13, RFC 8415 §21.13): a code and a UTF-8 message, held as bytes so any round-trips. */
    public record StatusCode(int code, Octets message) {
        public static final int SUCCESS = 0;
        public static final int UNSPEC_FAIL = 1;
        public static final int NO_ADDRS_AVAIL = 2;
        public static final int NO_BINDING = 3;
        public static final int NOT_ON_LINK = 4;
        public static final int USE_MULTICAST = 5;
        public static final int NO_PREFIX_AVAIL = 6;

        public StatusCode {
            Objects.requireNonNull(message, "message");
            if (code < 0 || code > 0xffff || message.length() > MAX_VALUE_LENGTH - 2) {
                throw new IllegalArgumentException("status code " + code + " with a " + message.length()
                        + "-byte message");
            }
        }

        public static StatusCode of(int code, String message) {
            return new StatusCode(code, Octets.of(message.getBytes(StandardCharsets.UTF_8)));
        }

        /** The message as text (bytes that are not UTF-8 replaced). */
        public String text() {
            return new String(message.toBytes(), StandardCharsets.UTF_8);
        }

        public boolean success() {
            return code == SUCCESS;
        }

        @Override
        public String toString() {
            String name = switch (code) {
                case SUCCESS -> "Success";
                case UNSPEC_FAIL -> "UnspecFail";
                case NO_ADDRS_AVAIL -> "NoAddrsAvail";
                case NO_BINDING -> "NoBinding";
                case NOT_ON_LINK -> "NotOnLink";
                case USE_MULTICAST -> "UseMulticast";
                case NO_PREFIX_AVAIL -> "NoPrefixAvail";
                default -> "status " + code;
            };
            return name + (message.length() == 0 ? "" : " '" + text() + "'");
        }
    }

    /** An option this package does not interpret: its code and value (up to 65535 bytes). */
    public record Other(int code, Octets value) {
        public Other {
            Objects.requireNonNull(value, "value");
            if (code < 0 || code > 0xffff || Dhcp6Option.isKnown(code)) {
                throw new IllegalArgumentException("option " + code + " is not an opaque one");
            }
            if (value.length() > MAX_VALUE_LENGTH) {
                throw new IllegalArgumentException("option " + code + " value of " + value.length() + " bytes");
            }
        }
    }

    public Dhcp6Options {
        optionRequest = List.copyOf(optionRequest);
        dnsServers = List.copyOf(dnsServers);
        domainList = List.copyOf(domainList);
        others = List.copyOf(others);
        if (optionRequest.size() > MAX_VALUE_LENGTH / 2 || optionRequest.stream().anyMatch(c -> c < 0 || c > 0xffff)) {
            throw new IllegalArgumentException("option request " + optionRequest);
        }
        if (elapsedHundredths != null && (elapsedHundredths < 0 || elapsedHundredths > 0xffff)) {
            throw new IllegalArgumentException("elapsed time " + elapsedHundredths + " out of 0..65535");
        }
        if (dnsServers.size() > MAX_VALUE_LENGTH / 16) {
            throw new IllegalArgumentException(dnsServers.size() + " DNS servers do not fit an option");
        }
        int names = 0;
        for (DnsName n : domainList) {
            names += n.wireLength();
        }
        if (names > MAX_VALUE_LENGTH) {
            throw new IllegalArgumentException("a domain list of " + names + " bytes does not fit an option");
        }
        checkSeconds("information refresh time", refreshSeconds);
        checkSeconds("SOL_MAX_RT", solMaxRtSeconds);
        checkSeconds("INF_MAX_RT", infMaxRtSeconds);
        int known = count(clientId) + count(serverId) + (optionRequest.isEmpty() ? 0 : 1) + count(elapsedHundredths)
                + count(status) + (dnsServers.isEmpty() ? 0 : 1) + (domainList.isEmpty() ? 0 : 1)
                + count(refreshSeconds) + count(solMaxRtSeconds) + count(infMaxRtSeconds);
        if (known + others.size() > Dhcp6Packet.MAX_OPTIONS) {
            throw new IllegalArgumentException(known + others.size() + " options, over the "
                    + Dhcp6Packet.MAX_OPTIONS + " a message may hold");
        }
    }

    private static int count(Object field) {
        return field == null ? 0 : 1;
    }

    private static void checkSeconds(String what, Long v) {
        if (v != null && (v < 0 || v > INFINITY)) {
            throw new IllegalArgumentException(what + " " + v + " out of 0..0xffffffff");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Reads the options of a checked view (their lengths are already checked). */
    static Dhcp6Options parse(Dhcp6Packet p) {
        Builder b = new Builder();
        for (int i = 0; i < p.optionCount(); i++) {
            int code = p.optionCode(i);
            ByteBuf v = p.optionValue(i);
            switch (code) {
                case Dhcp6Option.CLIENT_ID -> b.clientId = new Duid(octets(v, 0));
                case Dhcp6Option.SERVER_ID -> b.serverId = new Duid(octets(v, 0));
                case Dhcp6Option.ORO -> {
                    List<Integer> codes = new ArrayList<>(v.readableBytes() / 2);
                    for (int k = 0; k + 2 <= v.readableBytes(); k += 2) {
                        codes.add(v.getUnsignedShort(k));
                    }
                    b.optionRequest = codes;
                }
                case Dhcp6Option.ELAPSED_TIME -> b.elapsedHundredths = v.getUnsignedShort(0);
                case Dhcp6Option.STATUS_CODE -> b.status = new StatusCode(v.getUnsignedShort(0), octets(v, 2));
                case Dhcp6Option.DNS_SERVERS -> {
                    List<Ipv6Address> list = new ArrayList<>(v.readableBytes() / 16);
                    for (int k = 0; k + 16 <= v.readableBytes(); k += 16) {
                        list.add(new Ipv6Address(v.getLong(k), v.getLong(k + 8)));
                    }
                    b.dnsServers = list;
                }
                case Dhcp6Option.DOMAIN_LIST -> b.domainList = p.domainList();
                case Dhcp6Option.INFORMATION_REFRESH_TIME -> b.refreshSeconds = v.getUnsignedInt(0);
                case Dhcp6Option.SOL_MAX_RT -> b.solMaxRtSeconds = v.getUnsignedInt(0);
                case Dhcp6Option.INF_MAX_RT -> b.infMaxRtSeconds = v.getUnsignedInt(0);
                default -> b.others.add(new Other(code, octets(v, 0)));
            }
        }
        return b.build();
    }

    private static Octets octets(ByteBuf v, int from) {
        byte[] bytes = new byte[v.readableBytes() - from];
        v.getBytes(from, bytes);
        return Octets.of(bytes);
    }

    /** The bytes {@link #emit} writes. */
    int bufferLength() {
        int n = 0;
        n += clientId != null ? 4 + clientId.length() : 0;
        n += serverId != null ? 4 + serverId.length() : 0;
        n += optionRequest.isEmpty() ? 0 : 4 + 2 * optionRequest.size();
        n += elapsedHundredths != null ? 6 : 0;
        n += status != null ? 6 + status.message().length() : 0;
        n += dnsServers.isEmpty() ? 0 : 4 + 16 * dnsServers.size();
        if (!domainList.isEmpty()) {
            n += 4;
            for (DnsName name : domainList) {
                n += name.wireLength();
            }
        }
        n += refreshSeconds != null ? 8 : 0;
        n += solMaxRtSeconds != null ? 8 : 0;
        n += infMaxRtSeconds != null ? 8 : 0;
        for (Other o : others) {
            n += 4 + o.value().length();
        }
        return n;
    }

    /** Writes the options at absolute {@code index} by code, then the opaque ones in order; returns the end. */
    int emit(ByteBuf buf, int index) {
        int i = index;
        if (clientId != null) {
            i = put(buf, i, Dhcp6Option.CLIENT_ID, clientId.value().toBytes());
        }
        if (serverId != null) {
            i = put(buf, i, Dhcp6Option.SERVER_ID, serverId.value().toBytes());
        }
        if (!optionRequest.isEmpty()) {
            buf.setShort(i, Dhcp6Option.ORO).setShort(i + 2, 2 * optionRequest.size());
            i += 4;
            for (int code : optionRequest) {
                buf.setShort(i, code);
                i += 2;
            }
        }
        if (elapsedHundredths != null) {
            buf.setShort(i, Dhcp6Option.ELAPSED_TIME).setShort(i + 2, 2).setShort(i + 4, elapsedHundredths);
            i += 6;
        }
        if (status != null) {
            buf.setShort(i, Dhcp6Option.STATUS_CODE).setShort(i + 2, 2 + status.message().length())
                    .setShort(i + 4, status.code()).setBytes(i + 6, status.message().toBytes());
            i += 6 + status.message().length();
        }
        if (!dnsServers.isEmpty()) {
            buf.setShort(i, Dhcp6Option.DNS_SERVERS).setShort(i + 2, 16 * dnsServers.size());
            i += 4;
            for (Ipv6Address a : dnsServers) {
                buf.setLong(i, a.high()).setLong(i + 8, a.low());
                i += 16;
            }
        }
        if (!domainList.isEmpty()) {
            int start = i;
            i += 4;
            for (DnsName name : domainList) {
                for (String label : name.labels()) {
                    buf.setByte(i++, label.length());
                    buf.setBytes(i, label.getBytes(StandardCharsets.ISO_8859_1));
                    i += label.length();
                }
                buf.setByte(i++, 0);
            }
            buf.setShort(start, Dhcp6Option.DOMAIN_LIST).setShort(start + 2, i - start - 4);
        }
        i = putSeconds(buf, i, Dhcp6Option.INFORMATION_REFRESH_TIME, refreshSeconds);
        i = putSeconds(buf, i, Dhcp6Option.SOL_MAX_RT, solMaxRtSeconds);
        i = putSeconds(buf, i, Dhcp6Option.INF_MAX_RT, infMaxRtSeconds);
        for (Other o : others) {
            i = put(buf, i, o.code(), o.value().toBytes());
        }
        return i;
    }

    private static int put(ByteBuf buf, int i, int code, byte[] value) {
        buf.setShort(i, code).setShort(i + 2, value.length).setBytes(i + 4, value);
        return i + 4 + value.length;
    }

    private static int putSeconds(ByteBuf buf, int i, int code, Long seconds) {
        if (seconds == null) {
            return i;
        }
        buf.setShort(i, code).setShort(i + 2, 4).setInt(i + 4, (int) (long) seconds);
        return i + 8;
    }

    /** Builds options field by field; unset fields stay absent. Not thread-safe. */
    public static final class Builder {
        private Duid clientId;
        private Duid serverId;
        private List<Integer> optionRequest = List.of();
        private Integer elapsedHundredths;
        private StatusCode status;
        private List<Ipv6Address> dnsServers = List.of();
        private List<DnsName> domainList = List.of();
        private Long refreshSeconds;
        private Long solMaxRtSeconds;
        private Long infMaxRtSeconds;
        private final List<Other> others = new ArrayList<>();

        private Builder() {}

        public Builder clientId(Duid v) {
            clientId = v;
            return this;
        }

        public Builder serverId(Duid v) {
            serverId = v;
            return this;
        }

        public Builder optionRequest(List<Integer> v) {
            optionRequest = v;
            return this;
        }

        public Builder elapsedHundredths(Integer v) {
            elapsedHundredths = v;
            return this;
        }

        public Builder status(StatusCode v) {
            status = v;
            return this;
        }

        public Builder dnsServers(List<Ipv6Address> v) {
            dnsServers = v;
            return this;
        }

        public Builder domainList(List<DnsName> v) {
            domainList = v;
            return this;
        }

        public Builder refreshSeconds(Long v) {
            refreshSeconds = v;
            return this;
        }

        public Builder solMaxRtSeconds(Long v) {
            solMaxRtSeconds = v;
            return this;
        }

        public Builder infMaxRtSeconds(Long v) {
            infMaxRtSeconds = v;
            return this;
        }

        public Builder other(int code, Octets value) {
            others.add(new Other(code, value));
            return this;
        }

        public Dhcp6Options build() {
            return new Dhcp6Options(clientId, serverId, optionRequest, elapsedHundredths, status, dnsServers,
                    domainList, refreshSeconds, solMaxRtSeconds, infMaxRtSeconds, others);
        }
    }
}
