package io.jrump.net.dns;

/** RR TYPE and CLASS numbers this package knows (RFC 1035 §3.2.2, RFC 3596, RFC 6891). */
public final class DnsType {
    private DnsType() {}

    public static final int A = 1;
    public static final int NS = 2;
    public static final int CNAME = 5;
    public static final int SOA = 6;
    public static final int PTR = 12;
    public static final int AAAA = 28;
    public static final int OPT = 41;

    /** CLASS IN, the Internet. */
    public static final int CLASS_IN = 1;

    /** The mnemonic of a type, or {@code TYPEnnn} (RFC 3597) for others. */
    public static String name(int type) {
        return switch (type) {
            case A -> "A";
            case NS -> "NS";
            case CNAME -> "CNAME";
            case SOA -> "SOA";
            case PTR -> "PTR";
            case AAAA -> "AAAA";
            case OPT -> "OPT";
            default -> "TYPE" + type;
        };
    }
}
