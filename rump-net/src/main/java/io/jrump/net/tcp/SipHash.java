package io.jrump.net.tcp;

/**
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed 64-bit pseudorandom
 * function of a 128-bit key and a short message, the keyed hash behind {@link IsnGenerator} and {@link SynCookies}.
 * Written from the paper's description: the key is read as two little-endian 64-bit words, the message in 8-byte
 * little-endian words with its length in the top byte of the last word, two SipRounds per word and four at the end.
 *
 * <p>Immutable and thread-safe; a key that is not 16 bytes throws {@link IllegalArgumentException}.
 */
public final class SipHash {
    private final long k0;
    private final long k1;

    /** A hash keyed with the 16 bytes of {@code key}, which are copied. */
    public SipHash(byte[] key) {
        if (key.length != 16) {
            throw new IllegalArgumentException("SipHash needs a 16-byte key, got " + key.length);
        }
        this.k0 = le64(key, 0, 8);
        this.k1 = le64(key, 8, 8);
    }

    /** SipHash-2-4 of {@code msg[off, off + len)}. */
    public long hash(byte[] msg, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, msg.length);
        long v0 = k0 ^ 0x736f6d6570736575L; // "somepseu"
        long v1 = k1 ^ 0x646f72616e646f6dL; // "dorandom"
        long v2 = k0 ^ 0x6c7967656e657261L; // "lygenera"
        long v3 = k1 ^ 0x7465646279746573L; // "tedbytes"
        int end = off + len - (len & 7);
        for (int i = off; i <= end; i += 8) {
            long m;
            if (i < end) {
                m = le64(msg, i, 8);
            } else {
                // The last word: the 0..7 leftover bytes, and the length modulo 256 in the top byte.
                m = le64(msg, i, len & 7) | ((long) len << 56);
            }
            v3 ^= m;
            for (int r = 0; r < 2; r++) {
                v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
                v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
                v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
                v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
            }
            v0 ^= m;
        }
        v2 ^= 0xff;
        for (int r = 0; r < 4; r++) {
            v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
            v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
            v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
            v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }

    /** SipHash-2-4 of all of {@code msg}. */
    public long hash(byte[] msg) {
        return hash(msg, 0, msg.length);
    }

    private static long le64(byte[] b, int off, int n) {
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = v << 8 | (b[off + i] & 0xffL);
        }
        return v;
    }
}
