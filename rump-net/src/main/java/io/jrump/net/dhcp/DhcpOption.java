package io.jrump.net.dhcp;

/** Option codes of RFC 2132 that this package reads or writes. */
public final class DhcpOption {
    private DhcpOption() {}

    public static final int PAD = 0;
    public static final int SUBNET_MASK = 1;
    public static final int ROUTER = 3;
    public static final int DNS_SERVER = 6;
    public static final int DOMAIN_NAME = 15;
    public static final int INTERFACE_MTU = 26;
    public static final int REQUESTED_ADDRESS = 50;
    public static final int LEASE_TIME = 51;
    /** Option Overload: refused (EPROTONOSUPPORT); options in sname/file are not read. */
    public static final int OVERLOAD = 52;
    public static final int MESSAGE_TYPE = 53;
    public static final int SERVER_ID = 54;
    public static final int PARAMETER_REQUEST_LIST = 55;
    public static final int RENEWAL_TIME = 58;
    public static final int REBINDING_TIME = 59;
    public static final int CLIENT_ID = 61;
    public static final int END = 255;

    /** Whether {@link DhcpOptions} holds this code in a field of its own. */
    static boolean isKnown(int code) {
        return switch (code) {
            case SUBNET_MASK, ROUTER, DNS_SERVER, DOMAIN_NAME, INTERFACE_MTU, REQUESTED_ADDRESS, LEASE_TIME,
                    MESSAGE_TYPE, SERVER_ID, PARAMETER_REQUEST_LIST, RENEWAL_TIME, REBINDING_TIME, CLIENT_ID -> true;
            default -> false;
        };
    }
}
