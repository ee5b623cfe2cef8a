package io.jrump.fs.ext;

import java.nio.ByteBuffer;

/**
 * CRC32C (Castagnoli) as ext4 chains it: the raw register, seeded and continued, with no final
 * inversion (the JDK's {@code CRC32C} can neither take a seed nor skip the inversion).
 */
final class Crc32c {
    private static final int[] TABLE = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int c = i;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ 0x82F63B78 : c >>> 1;
            }
            TABLE[i] = c;
        }
    }

    private Crc32c() {
    }

    /** Continues {@code crc} over {@code length} bytes at {@code offset} of {@code buf}. */
    static int update(int crc, ByteBuffer buf, int offset, int length) {
        for (int i = 0; i < length; i++) {
            crc = TABLE[(crc ^ buf.get(offset + i)) & 0xff] ^ (crc >>> 8);
        }
        return crc;
    }

    /** Continues {@code crc} over the four little-endian bytes of {@code value}. */
    static int updateInt(int crc, int value) {
        for (int i = 0; i < 4; i++) {
            crc = TABLE[(crc ^ (value >>> (8 * i))) & 0xff] ^ (crc >>> 8);
        }
        return crc;
    }
}
