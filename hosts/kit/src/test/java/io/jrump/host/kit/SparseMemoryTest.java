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

    /** Copies share pages until one side writes or zeros: then each side sees only its own changes, either way round. */
    @Test
    void copiesAreCopyOnWriteInBothDirections() {
        int size = 4 * SparseMemory.PAGE;
        java.util.Random rnd = new java.util.Random(7);
        SparseMemory[] mems = new SparseMemory[4];
        byte[][] models = new byte[4][size];
        mems[0] = new SparseMemory();
        byte[] fill = new byte[size];
        rnd.nextBytes(fill);
        mems[0].write(0, ByteBuffer.wrap(fill));
        models[0] = fill.clone();
        mems[1] = mems[0].copy();
        models[1] = models[0].clone();
        mems[2] = mems[1].copy(); // a copy of a copy shares the same pages three ways
        models[2] = models[0].clone();
        assertEquals(size, mems[2].allocatedBytes());
        for (int step = 0; step < 600; step++) {
            int who = rnd.nextInt(3);
            if (step == 300) {
                mems[3] = mems[who].copy();
                models[3] = models[who].clone();
            }
            if (mems[3] != null && rnd.nextInt(4) == 0) {
                who = 3;
            }
            int off = rnd.nextInt(size);
            int len = rnd.nextInt(Math.min(size - off, SparseMemory.PAGE + 100) + 1);
            if (rnd.nextBoolean()) {
                byte[] data = new byte[len];
                rnd.nextBytes(data);
                mems[who].write(off, ByteBuffer.wrap(data));
                System.arraycopy(data, 0, models[who], off, len);
            } else {
                mems[who].zero(off, len);
                java.util.Arrays.fill(models[who], off, off + len, (byte) 0);
            }
            for (int k = 0; k < 4; k++) {
                if (mems[k] != null) {
                    assertArrayEquals(models[k], read(mems[k], 0, size), "memory " + k + " after step " + step);
                }
            }
        }
    }
}
