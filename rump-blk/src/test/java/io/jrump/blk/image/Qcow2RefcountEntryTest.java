package io.jrump.blk.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Refcount entries of every width, laid out as qemu lays them out (qcow2-refcount.c). */
class Qcow2RefcountEntryTest {

    @Test
    void narrowEntriesFillEachByteFromItsLeastSignificantBit() {
        ByteBuffer b = ByteBuffer.allocate(4);
        Qcow2Header.putRefcount(b, 0, 1, 1);
        Qcow2Header.putRefcount(b, 3, 1, 1);
        Qcow2Header.putRefcount(b, 9, 1, 1);
        assertArrayEquals(new byte[] {0x09, 0x02, 0, 0}, b.array());
        ByteBuffer n = ByteBuffer.allocate(2);
        Qcow2Header.putRefcount(n, 1, 4, 0xa);
        Qcow2Header.putRefcount(n, 2, 4, 0x3);
        assertArrayEquals(new byte[] {(byte) 0xa0, 0x03}, n.array());
        ByteBuffer two = ByteBuffer.allocate(1);
        Qcow2Header.putRefcount(two, 2, 2, 2);
        assertArrayEquals(new byte[] {0x20}, two.array());
        assertEquals(2, Qcow2Header.refcountAt(two, 2, 2));
        assertEquals(0, Qcow2Header.refcountAt(two, 1, 2));
    }

    @Test
    void wideEntriesAreBigEndian() {
        ByteBuffer b = ByteBuffer.allocate(16);
        Qcow2Header.putRefcount(b, 1, 16, 0x1234);
        Qcow2Header.putRefcount(b, 1, 64, 0x0102030405060708L);
        assertArrayEquals(new byte[] {0, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, b.array());
        ByteBuffer w = ByteBuffer.allocate(8);
        Qcow2Header.putRefcount(w, 1, 32, 0xfffffffeL);
        assertEquals(0xfffffffeL, Qcow2Header.refcountAt(w, 1, 32));
    }

    @Test
    void everyWidthReadsBackWhatWasWrittenWithoutTouchingItsNeighbours() {
        Random rnd = new Random(1);
        for (int bits = 1; bits <= 64; bits *= 2) {
            ByteBuffer b = ByteBuffer.allocate(512);
            long entries = 512 * 8 / bits;
            long[] model = new long[(int) entries];
            long max = bits == 64 ? Long.MAX_VALUE : (1L << bits) - 1;
            for (int k = 0; k < 2000; k++) {
                int i = rnd.nextInt((int) entries);
                long v = bits == 64 ? rnd.nextLong() & Long.MAX_VALUE : rnd.nextLong() & max;
                Qcow2Header.putRefcount(b, i, bits, v);
                model[i] = v;
            }
            for (int i = 0; i < entries; i++) {
                assertEquals(model[i], Qcow2Header.refcountAt(b, i, bits), bits + "-bit entry " + i);
            }
        }
    }
}
