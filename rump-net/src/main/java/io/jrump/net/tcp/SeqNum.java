package io.jrump.net.tcp;

/**
 * Sequence-number arithmetic modulo 2<sup>32</sup> (RFC 9293 section 3.4): sequence numbers are Java {@code int}s
 * whose bits are the unsigned 32-bit value, and comparisons are made on the signed distance between them, so they
 * stay correct across wraparound as long as the two numbers are less than 2<sup>31</sup> apart, which the windows
 * guarantee.
 *
 * <p>Static, stateless and thread-safe.
 */
public final class SeqNum {
    private SeqNum() {
    }

    /** {@code a < b} in sequence space. */
    public static boolean lt(int a, int b) {
        return a - b < 0;
    }

    /** {@code a <= b} in sequence space. */
    public static boolean le(int a, int b) {
        return a - b <= 0;
    }

    /** {@code a > b} in sequence space. */
    public static boolean gt(int a, int b) {
        return a - b > 0;
    }

    /** {@code a >= b} in sequence space. */
    public static boolean ge(int a, int b) {
        return a - b >= 0;
    }

    /**
     * {@code a <= b < c} in sequence space: whether {@code b} lies in the half-open range that starts at {@code a}
     * and ends before {@code c}. Measured as unsigned distances from {@code a}, so it is exact for any range shorter
     * than 2<sup>32</sup>; an empty range ({@code a == c}) holds nothing.
     */
    public static boolean between(int a, int b, int c) {
        return Integer.compareUnsigned(b - a, c - a) < 0;
    }

    /** {@code a + n} modulo 2<sup>32</sup>. */
    public static int add(int a, long n) {
        return (int) (a + n);
    }

    /** The signed distance {@code a - b}: positive when {@code a} is after {@code b}. */
    public static int diff(int a, int b) {
        return a - b;
    }

    /** The later of two sequence numbers. */
    public static int max(int a, int b) {
        return lt(a, b) ? b : a;
    }

    /** The earlier of two sequence numbers. */
    public static int min(int a, int b) {
        return lt(a, b) ? a : b;
    }

    /** The unsigned 32-bit value, for printing and for arithmetic in {@code long}. */
    public static long toUnsigned(int a) {
        return Integer.toUnsignedLong(a);
    }
}
