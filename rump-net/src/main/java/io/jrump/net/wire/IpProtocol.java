package io.jrump.net.wire;

/** The IPv4 Protocol field (IANA "Assigned Internet Protocol Numbers"). Open, as {@link EtherType}. Immutable. */
public record IpProtocol(int value) {
    public static final IpProtocol ICMP = new IpProtocol(1);
    public static final IpProtocol TCP = new IpProtocol(6);
    public static final IpProtocol UDP = new IpProtocol(17);

    public IpProtocol {
        Wire.checkU8("IP protocol", value);
    }

    public static IpProtocol of(int value) {
        return switch (value) {
            case 1 -> ICMP;
            case 6 -> TCP;
            case 17 -> UDP;
            default -> new IpProtocol(value);
        };
    }

    @Override
    public String toString() {
        return switch (value) {
            case 1 -> "ICMP";
            case 6 -> "TCP";
            case 17 -> "UDP";
            default -> "proto-" + value;
        };
    }
}
