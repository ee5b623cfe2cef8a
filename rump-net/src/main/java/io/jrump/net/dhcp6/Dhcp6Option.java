package io.jrump.net.dhcp6;

/** Option codes of RFC 8415 §21 and RFC 3646 that this package reads or writes. */
public final class Dhcp6Option {
    private Dhcp6Option() {}

    public static final int CLIENT_ID = 1;
    public static final int SERVER_ID = 2;
    public static final int ORO = 6;
    public static final int ELAPSED_TIME = 8;
    public static final int STATUS_CODE = 13;
    /** DNS Recursive Name Server (RFC 3646 §3). */
    public static final int DNS_SERVERS = 23;
    /** Domain Search List (RFC 3646 §4). */
    public static final int DOMAIN_LIST = 24;
    public static final int INFORMATION_REFRESH_TIME = 32;
    public static final int SOL_MAX_RT = 82;
    public static final int INF_MAX_RT = 83;

    /** Whether {@link Dhcp6Options} holds this code in a field of its own (at most one such option per message). */
    static boolean isKnown(int code) {
        return switch (code) {
            case CLIENT_ID, SERVER_ID, ORO, ELAPSED_TIME, STATUS_CODE, DNS_SERVERS, DOMAIN_LIST,
                    INFORMATION_REFRESH_TIME, SOL_MAX_RT, INF_MAX_RT -> true;
            default -> false;
        };
    }

    /** The option's name in error messages. */
    static String name(int code) {
        return switch (code) {
            case CLIENT_ID -> "Client Identifier (1)";
            case SERVER_ID -> "Server Identifier (2)";
            case ORO -> "Option Request (6)";
            case ELAPSED_TIME -> "Elapsed Time (8)";
            case STATUS_CODE -> "Status Code (13)";
            case DNS_SERVERS -> "DNS Recursive Name Server (23)";
            case DOMAIN_LIST -> "Domain Search List (24)";
            case INFORMATION_REFRESH_TIME -> "Information Refresh Time (32)";
            case SOL_MAX_RT -> "SOL_MAX_RT (82)";
            case INF_MAX_RT -> "INF_MAX_RT (83)";
            default -> "option " + code;
        };
    }
}
