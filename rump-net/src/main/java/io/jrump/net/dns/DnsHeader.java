package io.jrump.net.dns;

/**
 * The header of a DNS message without its counts (RFC 1035 §4.1.1), which {@link DnsMessage}
 * derives from its sections. {@code z} keeps the three bits between RA and RCODE (Z, and RFC
 * 4035's AD and CD) so that a message round-trips. Immutable.
 *
 * @param rcode the 4-bit header RCODE (RFC 6891's extended bits live in the OPT record)
 */
public record DnsHeader(int id, boolean response, int opcode, boolean authoritative, boolean truncated,
        boolean recursionDesired, boolean recursionAvailable, int z, int rcode) {
    public static final int OPCODE_QUERY = 0;
    public static final int RCODE_NOERROR = 0;
    public static final int RCODE_FORMERR = 1;
    public static final int RCODE_SERVFAIL = 2;
    public static final int RCODE_NXDOMAIN = 3;
    public static final int RCODE_NOTIMP = 4;
    public static final int RCODE_REFUSED = 5;

    static final int FLAG_QR = 0x8000;
    static final int FLAG_AA = 0x0400;
    static final int FLAG_TC = 0x0200;
    static final int FLAG_RD = 0x0100;
    static final int FLAG_RA = 0x0080;

    public DnsHeader {
        checkRange("id", id, 0xffff);
        checkRange("opcode", opcode, 15);
        checkRange("z", z, 7);
        checkRange("rcode", rcode, 15);
    }

    private static void checkRange(String what, int v, int max) {
        if (v < 0 || v > max) {
            throw new IllegalArgumentException("DNS header " + what + " " + v + " out of 0.." + max);
        }
    }

    /** A standard query with RD set. */
    public static DnsHeader query(int id) {
        return new DnsHeader(id, false, OPCODE_QUERY, false, false, true, false, 0, RCODE_NOERROR);
    }

    /** The 16-bit flags word as on the wire. */
    public int flags() {
        return (response ? FLAG_QR : 0) | opcode << 11 | (authoritative ? FLAG_AA : 0) | (truncated ? FLAG_TC : 0)
                | (recursionDesired ? FLAG_RD : 0) | (recursionAvailable ? FLAG_RA : 0) | z << 4 | rcode;
    }

    static DnsHeader of(int id, int flags) {
        return new DnsHeader(id, (flags & FLAG_QR) != 0, flags >>> 11 & 15, (flags & FLAG_AA) != 0,
                (flags & FLAG_TC) != 0, (flags & FLAG_RD) != 0, (flags & FLAG_RA) != 0, flags >>> 4 & 7, flags & 15);
    }
}
