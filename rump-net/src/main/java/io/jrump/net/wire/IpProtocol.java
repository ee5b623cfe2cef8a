package io.jrump.net.wire;

/** The IPv4 Protocol and IPv6 Next Header field (IANA "Assigned Internet Protocol Numbers"). Open, as {@link EtherType}. Immutable. */
public record IpProtocol(int value) {
    public static final IpProtocol ICMP = new IpProtocol(1);
    public static final IpProtocol TCP = new IpProtocol(6);
    public static final IpProtocol UDP = new IpProtocol(17);
    /** IPv6 Hop-by-Hop Options (RFC 8200 §4.3); only right after the IPv6 header. */
    public static final IpProtocol HOP_BY_HOP = new IpProtocol(0);
    public static final IpProtocol IPV6_ROUTING = new IpProtocol(43);
    public static final IpProtocol IPV6_FRAGMENT = new IpProtocol(44);
    public static final IpProtocol ESP = new IpProtocol(50);
    public static final IpProtocol AH = new IpProtocol(51);
    public static final IpProtocol ICMPV6 = new IpProtocol(58);
    public static final IpProtocol IPV6_NO_NEXT_HEADER = new IpProtocol(59);
    public static final IpProtocol IPV6_DESTINATION_OPTIONS = new IpProtocol(60);

    public IpProtocol {
        Wire.checkU8("IP protocol", value);
    }

    public static IpProtocol of(int value) {
        return switch (value) {
            case 1 -> ICMP;
            case 6 -> TCP;
            case 17 -> UDP;
            case 0 -> HOP_BY_HOP;
            case 43 -> IPV6_ROUTING;
            case 44 -> IPV6_FRAGMENT;
            case 50 -> ESP;
            case 51 -> AH;
            case 58 -> ICMPV6;
            case 59 -> IPV6_NO_NEXT_HEADER;
            case 60 -> IPV6_DESTINATION_OPTIONS;
            default -> new IpProtocol(value);
        };
    }

    @Override
    public String toString() {
        return switch (value) {
            case 1 -> "ICMP";
            case 6 -> "TCP";
            case 17 -> "UDP";
            case 0 -> "IPv6-HopOpts";
            case 43 -> "IPv6-Route";
            case 44 -> "IPv6-Frag";
            case 50 -> "ESP";
            case 51 -> "AH";
            case 58 -> "ICMPv6";
            case 59 -> "IPv6-NoNxt";
            case 60 -> "IPv6-Opts";
            default -> "proto-" + value;
        };
    }
}
