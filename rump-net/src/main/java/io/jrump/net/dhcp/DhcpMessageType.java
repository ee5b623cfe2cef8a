package io.jrump.net.dhcp;

/** The values of option 53, DHCP Message Type (RFC 2132 §9.6). */
public enum DhcpMessageType {
    DISCOVER(1),
    OFFER(2),
    REQUEST(3),
    DECLINE(4),
    ACK(5),
    NAK(6),
    RELEASE(7),
    INFORM(8);

    private final int value;

    DhcpMessageType(int value) {
        this.value = value;
    }

    public int value() {
        return value;
    }

    /** The type with this value, or null for a value RFC 2132 does not define. */
    static DhcpMessageType of(int value) {
        return value >= 1 && value <= 8 ? values()[value - 1] : null;
    }
}
