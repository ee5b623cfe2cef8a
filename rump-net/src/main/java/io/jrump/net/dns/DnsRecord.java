package io.jrump.net.dns;

import java.util.Objects;

/**
 * A resource record (RFC 1035 §4.1.3). The RDATA's kind must fit the type: {@link DnsRdata.A}
 * for A, {@link DnsRdata.Aaaa} for AAAA, {@link DnsRdata.Name} for CNAME, NS and PTR,
 * {@link DnsRdata.Soa} for SOA, {@link DnsRdata.Opaque} for OPT and every other type. For OPT
 * (RFC 6891 §6.1.2) the class is the sender's UDP payload size and the TTL holds the extended
 * RCODE, the version and the DO bit; see {@link Edns}. Immutable.
 *
 * @param ttl seconds, 0..2^32-1 as on the wire (RFC 2181 §8 reads values over 2^31-1 as 0:
 *     {@link #effectiveTtl()})
 */
public record DnsRecord(DnsName name, int type, int rclass, long ttl, DnsRdata data) {
    public DnsRecord {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(data, "data");
        if (type < 0 || type > 0xffff || rclass < 0 || rclass > 0xffff) {
            throw new IllegalArgumentException("DNS record type " + type + " or class " + rclass + " out of 0..65535");
        }
        if (ttl < 0 || ttl > 0xffffffffL) {
            throw new IllegalArgumentException("DNS TTL " + ttl + " out of 32 bits");
        }
        boolean fits = switch (type) {
            case DnsType.A -> data instanceof DnsRdata.A;
            case DnsType.AAAA -> data instanceof DnsRdata.Aaaa;
            case DnsType.CNAME, DnsType.NS, DnsType.PTR -> data instanceof DnsRdata.Name;
            case DnsType.SOA -> data instanceof DnsRdata.Soa;
            default -> data instanceof DnsRdata.Opaque;
        };
        if (!fits) {
            throw new IllegalArgumentException("RDATA " + data.getClass().getSimpleName() + " does not fit type "
                    + DnsType.name(type));
        }
    }

    /** A record of class IN. */
    public static DnsRecord in(DnsName name, int type, long ttl, DnsRdata data) {
        return new DnsRecord(name, type, DnsType.CLASS_IN, ttl, data);
    }

    /** The TTL as a cache should use it: values with the top bit set count as 0 (RFC 2181 §8). */
    public long effectiveTtl() {
        return ttl > Integer.MAX_VALUE ? 0 : ttl;
    }

    @Override
    public String toString() {
        return name + " " + ttl + " " + DnsType.name(type) + " " + data;
    }
}
