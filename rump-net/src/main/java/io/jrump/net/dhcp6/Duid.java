package io.jrump.net.dhcp6;

import io.jrump.hypercall.MacAddress;
import io.jrump.net.dhcp.Octets;
import java.util.Objects;

/**
 * A DHCP Unique Identifier (RFC 8415 §11): a 2-byte type and its body, 3 to 130 bytes in all.
 * DUID-LLT (1) and DUID-LL (3) are read field by field; DUID-EN (2), DUID-UUID (4) and unknown
 * types are held as they are. The constructor checks the least length each known type needs
 * (LLT 9, EN 7, LL 5, UUID exactly 18). Compares by content. Immutable.
 *
 * @param value the whole DUID, type first
 */
public record Duid(Octets value) {
    public static final int LLT = 1;
    public static final int EN = 2;
    public static final int LL = 3;
    public static final int UUID = 4;
    /** Type code and the at most 128 bytes after it (RFC 8415 §11.1). */
    public static final int MAX_LENGTH = 130;
    public static final int MIN_LENGTH = 3;
    /** Hardware type Ethernet (RFC 826, the IANA ARP hardware types). */
    public static final int HARDWARE_ETHERNET = 1;

    public Duid {
        Objects.requireNonNull(value, "value");
        String bad = problem(value.toBytes());
        if (bad != null) {
            throw new IllegalArgumentException(bad);
        }
    }

    /** DUID-LL (RFC 8415 §11.4) of an Ethernet MAC: type 3, hardware type 1, the MAC. */
    public static Duid ll(MacAddress mac) {
        byte[] b = new byte[4 + MacAddress.LENGTH];
        b[1] = LL;
        b[3] = HARDWARE_ETHERNET;
        System.arraycopy(mac.toBytes(), 0, b, 4, MacAddress.LENGTH);
        return new Duid(Octets.of(b));
    }

    /** What is wrong with {@code duid} as a DUID, or null if nothing. */
    static String problem(byte[] duid) {
        int n = duid.length;
        if (n < MIN_LENGTH || n > MAX_LENGTH) {
            return "DUID of " + n + " bytes, not 3..130";
        }
        int type = (duid[0] & 0xff) << 8 | duid[1] & 0xff;
        int least = switch (type) {
            case LLT -> 9;
            case EN -> 7;
            case LL -> 5;
            default -> MIN_LENGTH;
        };
        if (type == UUID && n != 18) {
            return "DUID-UUID of " + n + " bytes, not 18";
        }
        if (n < least) {
            return "DUID type " + type + " of " + n + " bytes, below its " + least;
        }
        return null;
    }

    public int type() {
        return value.get(0) << 8 | value.get(1);
    }

    /** The hardware type of a DUID-LLT or DUID-LL, else -1. */
    public int hardwareType() {
        return type() == LLT || type() == LL ? value.get(2) << 8 | value.get(3) : -1;
    }

    /** Seconds since 2000-01-01 UTC mod 2^32 of a DUID-LLT, else -1. */
    public long timeSeconds() {
        if (type() != LLT) {
            return -1;
        }
        return (long) value.get(4) << 24 | value.get(5) << 16 | value.get(6) << 8 | value.get(7);
    }

    /** The link-layer address of a DUID-LLT or DUID-LL, else null. */
    public Octets linkLayerAddress() {
        int from = type() == LLT ? 8 : type() == LL ? 4 : -1;
        if (from < 0) {
            return null;
        }
        byte[] all = value.toBytes();
        return Octets.of(java.util.Arrays.copyOfRange(all, from, all.length));
    }

    public int length() {
        return value.length();
    }

    @Override
    public String toString() {
        String kind = switch (type()) {
            case LLT -> "DUID-LLT";
            case EN -> "DUID-EN";
            case LL -> "DUID-LL";
            case UUID -> "DUID-UUID";
            default -> "DUID type " + type();
        };
        return kind + " " + value;
    }
}
