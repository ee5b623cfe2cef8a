package io.jrump.fs.ext;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * CRC32C (Castagnoli) as ext4 chains it: the raw register, seeded and continued, with no final
 * inversion (the JDK's {@code CRC32C} can neither take a seed nor skip the inversion). Eight
 * bytes a step with eight tables ("slicing-by-8"), since every metadata write is checksummed.
 */
final class Crc32c {
    private static final int[][] T = new int[8][256];

    static {
        for (int i = 0; i < 256; i++) {
            int c = i;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ 0x82F63B78 : c >>> 1;
            }
            T[0][i] = c;
        }
        for (int i = 0; i < 256; i++) {
            for (int t = 1; t < 8; t++) {
                T[t][i] = (T[t - 1][i] >>> 8) ^ T[0][T[t - 1][i] & 0xff];
            }
        }
    }

    private Crc32c() {
    }

    /** Continues {@code crc} over {@code length} bytes at {@code offset} of {@code buf}. */
    static int update(int crc, ByteBuffer buf, int offset, int length) {
        int i = 0;
        if (length >= 8) {
            ByteBuffer le = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            for (; i + 8 <= length; i += 8) {
                int lo = le.getInt(offset + i) ^ crc;
                int hi = le.getInt(offset + i + 4);
                crc = T[7][lo & 0xff] ^ T[6][(lo >>> 8) & 0xff] ^ T[5][(lo >>> 16) & 0xff] ^ T[4][lo >>> 24]
                        ^ T[3][hi & 0xff] ^ T[2][(hi >>> 8) & 0xff] ^ T[1][(hi >>> 16) & 0xff] ^ T[0][hi >>> 24];
            }
        }
        for (; i < length; i++) {
            crc = T[0][(crc ^ buf.get(offset + i)) & 0xff] ^ (crc >>> 8);
        }
        return crc;
    }

    /** Continues {@code crc} over the four little-endian bytes of {@code value}. */
    static int updateInt(int crc, int value) {
        for (int i = 0; i < 4; i++) {
            crc = T[0][(crc ^ (value >>> (8 * i))) & 0xff] ^ (crc >>> 8);
        }
        return crc;
    }
}
