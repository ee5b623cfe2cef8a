package io.jrump.net.dns;

import java.util.Objects;

/** A question (RFC 1035 §4.1.2): a name, a QTYPE and a QCLASS. Immutable. */
public record DnsQuestion(DnsName name, int type, int qclass) {
    public DnsQuestion {
        Objects.requireNonNull(name, "name");
        if (type < 0 || type > 0xffff || qclass < 0 || qclass > 0xffff) {
            throw new IllegalArgumentException("DNS question type " + type + " or class " + qclass + " out of 0..65535");
        }
    }

    /** A question of class IN. */
    public static DnsQuestion in(DnsName name, int type) {
        return new DnsQuestion(name, type, DnsType.CLASS_IN);
    }

    /** Same type and class and the same name as DNS compares names (case-insensitively). */
    public boolean matches(DnsQuestion other) {
        return type == other.type && qclass == other.qclass && name.equalsIgnoreCase(other.name);
    }

    @Override
    public String toString() {
        return name + " " + DnsType.name(type) + (qclass == DnsType.CLASS_IN ? "" : " CLASS" + qclass);
    }
}
