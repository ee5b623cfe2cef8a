package io.jrump.host.kit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SparseMemoryTest {
    private static byte[] read(SparseMemory m, long off, int len) {
        ByteBuffer b = ByteBuffer.allocate(len);
        m.read(off, b);
        return b.array();
    }

    @Test
    void randomWritesZeroesAndReadsMatchAByteArrayModel() {
        int size = 5 * SparseMemory.PAGE + 123;
        byte[] model = new byte[size];
        SparseMemory m = new SparseMemory();
        Random rnd = new Random(11);
        for (int i = 0; i < 2000; i++) {
            int off = rnd.nextInt(size);
            int len = rnd.nextInt(Math.min(size - off, 3 * SparseMemory.PAGE) + 1);
            switch (rnd.nextInt(3)) {
                case 0 -> {
                    byte[] data = new byte[len];
                    rnd.nextBytes(data);
                    m.write(off, ByteBuffer.wrap(data));
                    System.arraycopy(data, 0, model, off, len);
                }
                case 1 -> {
                    m.zero(off, len);
                    Arrays.fill(model, off, off + len, (byte) 0);
                }
                default -> assertArrayEquals(Arrays.copyOfRange(model, off, off + len), read(m, off, len));
            }
        }
        assertArrayEquals(model, read(m, 0, size));
    }

    @Test
    void zerosAndUnwrittenRangesCostNoPages() {
        SparseMemory m = new SparseMemory();
        m.write(10L << 40, ByteBuffer.allocate(3 * SparseMemory.PAGE));
        assertEquals(0, m.allocatedBytes());
        m.write(7, ByteBuffer.wrap(new byte[] {1}));
        assertEquals(SparseMemory.PAGE, m.allocatedBytes());
        m.zero(0, SparseMemory.PAGE);
        assertEquals(0, m.allocatedBytes());
    }

    @Test
    void buffersKeepTheirPositionsAndCopiesAreIndependent() {
        SparseMemory m = new SparseMemory();
        ByteBuffer src = ByteBuffer.wrap(new byte[] {9, 8, 7, 6}).position(1);
        m.write(100, src);
        assertEquals(1, src.position());
        SparseMemory c = m.copy();
        m.write(100, ByteBuffer.wrap(new byte[] {0, 0, 0}));
        assertArrayEquals(new byte[] {8, 7, 6}, read(c, 100, 3));
        ByteBuffer dst = ByteBuffer.allocate(8).position(2);
        c.read(99, dst);
        assertEquals(2, dst.position());
        assertArrayEquals(new byte[] {0, 0, 0, 8, 7, 6, 0, 0}, dst.array());
    }
}
