package io.jrump.hypercall;

import java.nio.ByteBuffer;

/** A 48-bit IEEE 802 MAC address. Immutable. Prints as {@code 02:00:5e:10:00:01}. */
public final class MacAddress {
    public static final int LENGTH = 6;
    public static final MacAddress BROADCAST = new MacAddress(new byte[] {-1, -1, -1, -1, -1, -1});

    private final long bits;

    private MacAddress(byte[] b) {
        long v = 0;
        for (int i = 0; i < LENGTH; i++) {
            v = (v << 8) | (b[i] & 0xff);
        }
        this.bits = v;
    }

    private MacAddress(long bits) {
        this.bits = bits & 0xffff_ffff_ffffL;
    }

    /** From six bytes, most significant first. */
    public static MacAddress of(byte[] bytes) {
        if (bytes.length != LENGTH) {
            throw new IllegalArgumentException("a MAC address has 6 bytes, not " + bytes.length);
        }
        return new MacAddress(bytes);
    }

    /** From the low 48 bits of a long. */
    public static MacAddress of(long bits) {
        return new MacAddress(bits);
    }

    /** Reads six bytes at an absolute index without moving the buffer's position. */
    public static MacAddress read(ByteBuffer buf, int index) {
        long v = 0;
        for (int i = 0; i < LENGTH; i++) {
            v = (v << 8) | (buf.get(index + i) & 0xff);
        }
        return new MacAddress(v);
    }

    /** Parses {@code aa:bb:cc:dd:ee:ff} (or with dashes). */
    public static MacAddress parse(String text) {
        String[] parts = text.split("[:-]");
        if (parts.length != LENGTH) {
            throw new IllegalArgumentException("not a MAC address: " + text);
        }
        long v = 0;
        for (String p : parts) {
            int hi = p.length() == 2 ? Character.digit(p.charAt(0), 16) : -1;
            int lo = p.length() == 2 ? Character.digit(p.charAt(1), 16) : -1;
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("not a MAC address: " + text);
            }
            v = (v << 8) | (hi << 4) | lo;
        }
        return new MacAddress(v);
    }

    /**
     * A unicast, locally administered address (bit 1 of the first octet set, bit 0 clear) made
     * from random bits, as Linux's {@code eth_random_addr} does.
     */
    public static MacAddress randomLocal(HostRandom random) {
        long v = random.nextLong() & 0xffff_ffff_ffffL;
        v &= ~(1L << 40); // multicast bit off
        v |= 1L << 41; // locally administered
        return new MacAddress(v);
    }

    /** The address as the low 48 bits of a long. */
    public long toLong() {
        return bits;
    }

    public byte[] toBytes() {
        byte[] b = new byte[LENGTH];
        for (int i = 0; i < LENGTH; i++) {
            b[i] = (byte) (bits >>> (8 * (LENGTH - 1 - i)));
        }
        return b;
    }

    /** Writes six bytes at an absolute index without moving the buffer's position. */
    public void write(ByteBuffer buf, int index) {
        for (int i = 0; i < LENGTH; i++) {
            buf.put(index + i, (byte) (bits >>> (8 * (LENGTH - 1 - i))));
        }
    }

    /** Group bit set: a multicast or the broadcast address. */
    public boolean isMulticast() {
        return (bits & (1L << 40)) != 0;
    }

    public boolean isBroadcast() {
        return bits == 0xffff_ffff_ffffL;
    }

    public boolean isLocallyAdministered() {
        return (bits & (1L << 41)) != 0;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MacAddress m && m.bits == bits;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(bits);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(17);
        byte[] b = toBytes();
        for (int i = 0; i < LENGTH; i++) {
            if (i > 0) {
                sb.append(':');
            }
            sb.append(Character.forDigit((b[i] >> 4) & 0xf, 16)).append(Character.forDigit(b[i] & 0xf, 16));
        }
        return sb.toString();
    }
}
