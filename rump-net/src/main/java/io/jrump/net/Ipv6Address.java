package io.jrump.net;

/**
 * An IPv6 address (RFC 4291), held as its 128 bits in two longs in network order ({@code high}
 * holds bytes 0..7). Text is parsed in every RFC 4291 §2.2 form and formatted in the canonical
 * form of RFC 5952 §4. Immutable; compares and hashes by value.
 */
public record Ipv6Address(long high, long low) implements IpAddress, Comparable<Ipv6Address> {
    public static final int BYTES = 16;
    public static final Ipv6Address UNSPECIFIED = new Ipv6Address(0, 0);
    public static final Ipv6Address LOOPBACK = new Ipv6Address(0, 1);
    /** ff02::1, all nodes on the link (RFC 4291 §2.7.1). */
    public static final Ipv6Address ALL_NODES = parse("ff02::1");
    /** ff02::2, all routers on the link. */
    public static final Ipv6Address ALL_ROUTERS = parse("ff02::2");
    /** ff02::16, all MLDv2-capable routers (RFC 3810 §5.2.14). */
    public static final Ipv6Address ALL_MLDV2_ROUTERS = parse("ff02::16");
    /** 2001:db8::, the documentation prefix (RFC 3849), /32. */
    public static final Ipv6Address DOCUMENTATION = parse("2001:db8::");

    /** The address whose 16 bytes start at {@code offset} of {@code bytes}. */
    public static Ipv6Address of(byte[] bytes, int offset) {
        if (offset < 0 || offset > bytes.length - BYTES) {
            throw new IllegalArgumentException("16 bytes at " + offset + " outside an array of " + bytes.length);
        }
        long h = 0;
        long l = 0;
        for (int i = 0; i < 8; i++) {
            h = h << 8 | (bytes[offset + i] & 0xff);
            l = l << 8 | (bytes[offset + 8 + i] & 0xff);
        }
        return new Ipv6Address(h, l);
    }

    /** The eight 16-bit groups. */
    public static Ipv6Address of(int... groups) {
        if (groups.length != 8) {
            throw new IllegalArgumentException(groups.length + " groups, not 8");
        }
        long h = 0;
        long l = 0;
        for (int i = 0; i < 8; i++) {
            if (groups[i] < 0 || groups[i] > 0xffff) {
                throw new IllegalArgumentException("group " + groups[i] + " out of 0..0xffff");
            }
            if (i < 4) {
                h = h << 16 | groups[i];
            } else {
                l = l << 16 | groups[i];
            }
        }
        return new Ipv6Address(h, l);
    }

    @Override
    public int version() {
        return 6;
    }

    @Override
    public byte[] toBytes() {
        byte[] b = new byte[BYTES];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (high >>> (56 - 8 * i));
            b[8 + i] = (byte) (low >>> (56 - 8 * i));
        }
        return b;
    }

    /** Group {@code i} (0..7) as 0..0xffff. */
    public int group(int i) {
        if (i < 0 || i > 7) {
            throw new IllegalArgumentException("group index " + i);
        }
        long half = i < 4 ? high : low;
        return (int) (half >>> (48 - 16 * (i & 3))) & 0xffff;
    }

    /**
     * Parses RFC 4291 §2.2 text: eight hex groups, one "::" for a run of zero groups, and an
     * optional dotted-quad IPv4 tail. No zone index, no prefix length. IllegalArgumentException
     * otherwise.
     */
    public static Ipv6Address parse(String text) {
        if (text.length() > 45) {
            throw bad(text);
        }
        int[] groups = new int[8];
        int n = 0;
        int gap = -1;
        int i = 0;
        int len = text.length();
        if (text.startsWith("::")) {
            gap = 0;
            i = 2;
        } else if (text.startsWith(":")) {
            throw bad(text);
        }
        while (i < len) {
            if (n == 8) {
                throw bad(text);
            }
            int end = i;
            while (end < len && text.charAt(end) != ':') {
                end++;
            }
            String part = text.substring(i, end);
            if (part.indexOf('.') >= 0) {
                if (end != len || n > 6) {
                    throw bad(text);
                }
                int v4 = Ipv4Address.parse(part).bits();
                groups[n++] = v4 >>> 16;
                groups[n++] = v4 & 0xffff;
                i = end;
                break;
            }
            if (part.isEmpty() || part.length() > 4) {
                throw bad(text);
            }
            int v = 0;
            for (int k = 0; k < part.length(); k++) {
                int d = Character.digit(part.charAt(k), 16);
                if (d < 0) {
                    throw bad(text);
                }
                v = v << 4 | d;
            }
            groups[n++] = v;
            if (end == len) {
                i = end;
                break;
            }
            // end is at ':'
            if (end + 1 < len && text.charAt(end + 1) == ':') {
                if (gap >= 0) {
                    throw bad(text);
                }
                gap = n;
                i = end + 2;
            } else if (end + 1 == len) {
                throw bad(text); // a trailing single ':'
            } else {
                i = end + 1;
            }
        }
        if (gap < 0 ? n != 8 : n > 7) {
            throw bad(text);
        }
        int[] full = new int[8];
        if (gap < 0) {
            full = groups;
        } else {
            System.arraycopy(groups, 0, full, 0, gap);
            System.arraycopy(groups, gap, full, 8 - (n - gap), n - gap);
        }
        return of(full);
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException("not an IPv6 address: '" + text + "'");
    }

    /** The network part of a prefix length 0..128 applied to this address. */
    public Ipv6Address masked(int prefixLength) {
        if (prefixLength < 0 || prefixLength > 128) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " out of 0..128");
        }
        long mh = prefixLength == 0 ? 0 : prefixLength >= 64 ? -1L : -1L << (64 - prefixLength);
        long ml = prefixLength <= 64 ? 0 : prefixLength == 128 ? -1L : -1L << (128 - prefixLength);
        return new Ipv6Address(high & mh, low & ml);
    }

    public boolean inPrefix(Ipv6Address network, int prefixLength) {
        return masked(prefixLength).equals(network.masked(prefixLength));
    }

    @Override
    public boolean isUnspecified() {
        return high == 0 && low == 0;
    }

    @Override
    public boolean isLoopback() {
        return high == 0 && low == 1;
    }

    /** ff00::/8 (RFC 4291 §2.7). */
    @Override
    public boolean isMulticast() {
        return (high >>> 56) == 0xff;
    }

    /** The 4-bit scope of a multicast address (RFC 4291 §2.7: 1 interface, 2 link, 5 site, 8 organisation, 0xe global). */
    public int multicastScope() {
        if (!isMulticast()) {
            throw new IllegalStateException(this + " is not multicast");
        }
        return (int) (high >>> 48) & 0xf;
    }

    /** fe80::/10 unicast (RFC 4291 §2.5.6). */
    public boolean isLinkLocal() {
        return (high >>> 54) == (0xfe80 >>> 6);
    }

    /** A link-scope multicast address (ffx2::/16). */
    public boolean isLinkLocalMulticast() {
        return isMulticast() && multicastScope() == 2;
    }

    /** Unique local fc00::/7 (RFC 4193). */
    public boolean isUniqueLocal() {
        return (high >>> 57) == (0xfc >>> 1);
    }

    /** 2001:db8::/32, reserved for documentation (RFC 3849). */
    public boolean isDocumentation() {
        return inPrefix(DOCUMENTATION, 32);
    }

    /** ::ffff:0:0/96 (RFC 4291 §2.5.5.2). */
    public boolean isIpv4Mapped() {
        return high == 0 && (low >>> 32) == 0xffff;
    }

    /** The solicited-node multicast address of this address: ff02::1:ff00:0/104 plus its low 24 bits (RFC 4291 §2.7.1). */
    public Ipv6Address solicitedNode() {
        return new Ipv6Address(0xff02_0000_0000_0000L, 0x0000_0001_ff00_0000L | (low & 0xff_ffffL));
    }

    /** Whether this is a solicited-node multicast address (of some address). */
    public boolean isSolicitedNode() {
        return high == 0xff02_0000_0000_0000L && (low & 0xffff_ffff_ff00_0000L) == 0x0000_0001_ff00_0000L;
    }

    /** A documentation address 2001:db8::{@code suffix} (for tests and examples). */
    public static Ipv6Address documentation(long suffix) {
        return new Ipv6Address(DOCUMENTATION.high, suffix);
    }

    @Override
    public int compareTo(Ipv6Address o) {
        int c = Long.compareUnsigned(high, o.high);
        return c != 0 ? c : Long.compareUnsigned(low, o.low);
    }

    /** RFC 5952 §4: lower case, no leading zeros, the longest (first of equal) run of two or more zero groups as "::". */
    @Override
    public String toString() {
        if (isIpv4Mapped()) {
            return "::ffff:" + new Ipv4Address((int) low);
        }
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (group(i) != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && group(j) == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(group(i)));
        }
        return sb.toString();
    }
}
