package io.jrump.net.dns;

import io.jrump.net.Ipv4Address;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The RDATA of a resource record, by type. Types this package does not interpret are kept as
 * {@link Opaque} bytes, and so are the options of an OPT record (RFC 6891 §6.1.2).
 */
public sealed interface DnsRdata {

    /** An IPv4 address (type A, RFC 1035 §3.4.1). */
    record A(Ipv4Address address) implements DnsRdata {
        public A {
            Objects.requireNonNull(address, "address");
        }
    }

    /** An IPv6 address (type AAAA, RFC 3596 §2.2), as its 128 bits in two longs, high first. */
    record Aaaa(long high, long low) implements DnsRdata {
        public static Aaaa of(byte[] sixteen) {
            if (sixteen.length != 16) {
                throw new IllegalArgumentException("an IPv6 address is 16 bytes, not " + sixteen.length);
            }
            long h = 0;
            long l = 0;
            for (int i = 0; i < 8; i++) {
                h = h << 8 | (sixteen[i] & 0xff);
                l = l << 8 | (sixteen[i + 8] & 0xff);
            }
            return new Aaaa(h, l);
        }

        public byte[] bytes() {
            byte[] b = new byte[16];
            for (int i = 0; i < 8; i++) {
                b[i] = (byte) (high >>> (56 - 8 * i));
                b[i + 8] = (byte) (low >>> (56 - 8 * i));
            }
            return b;
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder("Aaaa[");
            for (int i = 0; i < 8; i++) {
                long word = (i < 4 ? high >>> (48 - 16 * i) : low >>> (48 - 16 * (i - 4))) & 0xffff;
                s.append(i == 0 ? "" : ":").append(Long.toHexString(word));
            }
            return s.append(']').toString();
        }
    }

    /** A name: CNAME, NS or PTR (RFC 1035 §3.3), told apart by the record's type. */
    record Name(DnsName name) implements DnsRdata {
        public Name {
            Objects.requireNonNull(name, "name");
        }
    }

    /**
     * A start of authority (RFC 1035 §3.3.13). For negative caching (RFC 2308 §5) the TTL of a
     * negative answer is the lesser of the SOA record's TTL and {@code minimum}.
     */
    record Soa(DnsName mname, DnsName rname, long serial, long refresh, long retry, long expire, long minimum)
            implements DnsRdata {
        public Soa {
            Objects.requireNonNull(mname, "mname");
            Objects.requireNonNull(rname, "rname");
            for (long v : new long[] {serial, refresh, retry, expire, minimum}) {
                if (v < 0 || v > 0xffffffffL) {
                    throw new IllegalArgumentException("SOA field " + v + " out of 32 bits");
                }
            }
        }
    }

    /** Bytes not interpreted: unknown types (RFC 3597), and OPT options. */
    record Opaque(byte[] bytes) implements DnsRdata {
        public Opaque {
            if (bytes.length > 0xffff) {
                throw new IllegalArgumentException("RDATA of " + bytes.length + " bytes, over 65535");
            }
            bytes = bytes.clone();
        }

        @Override
        public byte[] bytes() {
            return bytes.clone();
        }

        int length() {
            return bytes.length;
        }

        byte[] shared() {
            return bytes;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Opaque other && Arrays.equals(bytes, other.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Opaque[" + HexFormat.of().formatHex(bytes) + "]";
        }
    }
}
