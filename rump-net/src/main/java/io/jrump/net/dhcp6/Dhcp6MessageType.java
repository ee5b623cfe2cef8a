package io.jrump.net.dhcp6;

/** Message types of RFC 8415 §7.3 between clients and servers (relay messages are not handled). */
public final class Dhcp6MessageType {
    private Dhcp6MessageType() {}

    public static final int SOLICIT = 1;
    public static final int ADVERTISE = 2;
    public static final int REQUEST = 3;
    public static final int CONFIRM = 4;
    public static final int RENEW = 5;
    public static final int REBIND = 6;
    public static final int REPLY = 7;
    public static final int RELEASE = 8;
    public static final int DECLINE = 9;
    public static final int RECONFIGURE = 10;
    public static final int INFORMATION_REQUEST = 11;
    /** Relay-forward and Relay-reply have another layout (RFC 8415 §9): refused, EPROTONOSUPPORT. */
    public static final int RELAY_FORW = 12;
    public static final int RELAY_REPL = 13;

    /** The RFC's name for {@code type}, or its number. */
    public static String name(int type) {
        return switch (type) {
            case SOLICIT -> "SOLICIT";
            case ADVERTISE -> "ADVERTISE";
            case REQUEST -> "REQUEST";
            case CONFIRM -> "CONFIRM";
            case RENEW -> "RENEW";
            case REBIND -> "REBIND";
            case REPLY -> "REPLY";
            case RELEASE -> "RELEASE";
            case DECLINE -> "DECLINE";
            case RECONFIGURE -> "RECONFIGURE";
            case INFORMATION_REQUEST -> "INFORMATION-REQUEST";
            case RELAY_FORW -> "RELAY-FORW";
            case RELAY_REPL -> "RELAY-REPL";
            default -> "type " + type;
        };
    }
}
