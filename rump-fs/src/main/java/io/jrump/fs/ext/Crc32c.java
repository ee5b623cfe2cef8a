package io.jrump.fs.ext;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * CRC32C (Castagnoli) as ext4 chains it: the raw register, seeded and continued, with no final
 * inversion. The JDK's {@link CRC32C} (hardware-accelerated where the CPU has CRC32C
 * instructions) takes neither a seed nor a raw result, so a seed is reached by feeding it four
 * bytes first — those that carry its fixed starting register to the seed, found by running the
 * CRC backwards — and the raw register is its value inverted. Every metadata read verifies a
 * checksum, so this is on the path of every lookup.
 */
final class Crc32c {
    private static final int POLY = 0x82F63B78;
    private static final int[] T = new int[256];
    /** For each top byte of a table entry, its index: the table's top bytes are all distinct. */
    private static final int[] BY_TOP_BYTE = new int[256];
    /** Below this many bytes the table loop beats the JDK call and its four-byte preamble. */
    private static final int JDK_FROM = 64;
    private static final ThreadLocal<CRC32C> JDK = ThreadLocal.withInitial(CRC32C::new);

    static {
        for (int i = 0; i < 256; i++) {
            int c = i;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ POLY : c >>> 1;
            }
            T[i] = c;
            BY_TOP_BYTE[c >>> 24] = i;
        }
    }

    private Crc32c() {
    }

    /** Continues {@code crc} over {@code length} bytes at {@code offset} of {@code buf}. */
    static int update(int crc, ByteBuffer buf, int offset, int length) {
        if (length < JDK_FROM) {
            for (int i = 0; i < length; i++) {
                crc = T[(crc ^ buf.get(offset + i)) & 0xff] ^ (crc >>> 8);
            }
            return crc;
        }
        CRC32C jdk = JDK.get();
        jdk.reset();
        int lead = ~0 ^ beforeFourZeroBytes(crc); // register ~0 xor these bytes, run four steps, gives crc
        jdk.update(lead & 0xff);
        jdk.update((lead >>> 8) & 0xff);
        jdk.update((lead >>> 16) & 0xff);
        jdk.update(lead >>> 24);
        jdk.update(buf.duplicate().limit(offset + length).position(offset));
        return ~(int) jdk.getValue();
    }

    /** Continues {@code crc} over the four little-endian bytes of {@code value}. */
    static int updateInt(int crc, int value) {
        for (int i = 0; i < 4; i++) {
            crc = T[(crc ^ (value >>> (8 * i))) & 0xff] ^ (crc >>> 8);
        }
        return crc;
    }

    /** The register that four zero bytes carry to {@code after}: each step undone through the table's top bytes. */
    private static int beforeFourZeroBytes(int after) {
        int r = after;
        for (int k = 0; k < 4; k++) {
            int low = BY_TOP_BYTE[r >>> 24];
            r = ((r ^ T[low]) << 8) | low;
        }
        return r;
    }
}
