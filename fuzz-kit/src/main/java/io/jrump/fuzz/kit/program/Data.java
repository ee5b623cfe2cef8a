package io.jrump.fuzz.kit.program;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * The bytes a call writes or sends, in one of two compact written forms: {@code bytes(N, 0xHH)}
 * ({@code N} copies of one byte) or {@code hex"0a1b..."} (up to {@link #MAX_HEX} bytes spelled
 * out). The form is kept, so a program prints back as it was written.
 */
public final class Data {
    /** The most bytes one call may carry. */
    public static final int MAX_LENGTH = 64 * 1024;
    /** The most bytes a {@code hex"..."} literal may hold. */
    public static final int MAX_HEX = 64;

    private final int length;
    private final int fill;
    private final byte[] hex;

    private Data(int length, int fill, byte[] hex) {
        this.length = length;
        this.fill = fill;
        this.hex = hex;
    }

    /** {@code length} copies of {@code fill} (0..255). */
    public static Data fill(int length, int fill) {
        if (length < 0 || length > MAX_LENGTH || fill < 0 || fill > 255) {
            throw new IllegalArgumentException("bytes(" + length + ", " + fill + ")");
        }
        return new Data(length, fill, null);
    }

    /** These bytes, written out in hex (at most {@link #MAX_HEX}). */
    public static Data hex(byte[] bytes) {
        if (bytes.length > MAX_HEX) {
            throw new IllegalArgumentException(bytes.length + " bytes in a hex literal, at most " + MAX_HEX);
        }
        return new Data(bytes.length, -1, bytes.clone());
    }

    /** How many bytes. */
    public int length() {
        return length;
    }

    /** The bytes themselves (a fresh array). */
    public byte[] bytes() {
        if (hex != null) {
            return hex.clone();
        }
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) fill);
        return b;
    }

    @Override
    public String toString() {
        if (hex != null) {
            return "hex\"" + HexFormat.of().formatHex(hex) + "\"";
        }
        return "bytes(" + length + ", 0x" + String.format("%02x", fill) + ")";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Data d && d.length == length && d.fill == fill && Arrays.equals(d.hex, hex);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * length + fill) + Arrays.hashCode(hex);
    }
}
