package io.jrump.fs.ext;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Crc32c against the CRC's definition, bit by bit, for any seed, offset and length. */
class Crc32cTest {
    private static int bitwise(int crc, ByteBuffer b, int offset, int length) {
        for (int i = 0; i < length; i++) {
            crc ^= b.get(offset + i) & 0xff;
            for (int k = 0; k < 8; k++) {
                crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82F63B78 : crc >>> 1;
            }
        }
        return crc;
    }

    @Test
    void agreesWithTheDefinitionForAnySeedOffsetAndLength() {
        Random r = new Random(18);
        byte[] data = new byte[9000];
        r.nextBytes(data);
        for (int i = 0; i < 2000; i++) {
            int seed = i % 5 == 0 ? (i % 2 == 0 ? 0 : ~0) : r.nextInt();
            int offset = r.nextInt(500);
            int length = i % 3 == 0 ? r.nextInt(100) : r.nextInt(data.length - offset);
            ByteBuffer b = i % 2 == 0 ? ByteBuffer.wrap(data) : ByteBuffer.allocateDirect(data.length).put(data).clear();
            assertEquals(bitwise(seed, b, offset, length), Crc32c.update(seed, b, offset, length),
                    "seed " + seed + " offset " + offset + " length " + length);
            assertEquals(0, b.position(), "the buffer's position is left alone");
        }
    }

    @Test
    void theStandardCheckValue() {
        ByteBuffer b = ByteBuffer.wrap("123456789".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(0xE3069283, ~Crc32c.update(~0, b, 0, 9));
        assertEquals(Crc32c.update(7, ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, 0xdeadbeef), 0, 4),
                Crc32c.updateInt(7, 0xdeadbeef));
    }
}
