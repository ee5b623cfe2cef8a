package io.jrump.net.wire;

import java.util.Locale;

/**
 * An Ethernet type field (IEEE 802.3 Length/Type ≥ 0x0600). Open: {@link #of} returns the named
 * constant for a known value and a plain holder otherwise. Immutable.
 */
public record EtherType(int value) {
    public static final EtherType IPV4 = new EtherType(0x0800);
    public static final EtherType ARP = new EtherType(0x0806);
    /** IEEE 802.1Q customer VLAN tag. */
    public static final EtherType VLAN = new EtherType(0x8100);
    public static final EtherType IPV6 = new EtherType(0x86dd);
    /** IEEE 802.1ad service VLAN tag (Q-in-Q). */
    public static final EtherType QINQ = new EtherType(0x88a8);

    public EtherType {
        Wire.checkU16("EtherType", value);
    }

    public static EtherType of(int value) {
        return switch (value) {
            case 0x0800 -> IPV4;
            case 0x0806 -> ARP;
            case 0x8100 -> VLAN;
            case 0x86dd -> IPV6;
            case 0x88a8 -> QINQ;
            default -> new EtherType(value);
        };
    }

    /** Whether the value introduces a VLAN tag rather than a payload. */
    public boolean isVlanTag() {
        return value == 0x8100 || value == 0x88a8;
    }

    @Override
    public String toString() {
        return switch (value) {
            case 0x0800 -> "IPv4";
            case 0x0806 -> "ARP";
            case 0x8100 -> "802.1Q";
            case 0x86dd -> "IPv6";
            case 0x88a8 -> "802.1ad";
            default -> String.format(Locale.ROOT, "0x%04x", value);
        };
    }
}
