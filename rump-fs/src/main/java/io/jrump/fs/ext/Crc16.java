package io.jrump.fs.ext;

import java.nio.ByteBuffer;

/** CRC16 (polynomial 0x8005, reflected as 0xA001), which gdt_csum uses for group descriptors. */
final class Crc16 {
    private static final int[] TABLE = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int c = i;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ 0xA001 : c >>> 1;
            }
            TABLE[i] = c;
        }
    }

    private Crc16() {
    }

    static int update(int crc, ByteBuffer buf, int offset, int length) {
        for (int i = 0; i < length; i++) {
            crc = (TABLE[(crc ^ buf.get(offset + i)) & 0xff] ^ (crc >>> 8)) & 0xffff;
        }
        return crc;
    }

    static int updateInt(int crc, int value) {
        for (int i = 0; i < 4; i++) {
            crc = (TABLE[(crc ^ (value >>> (8 * i))) & 0xff] ^ (crc >>> 8)) & 0xffff;
        }
        return crc;
    }
}
