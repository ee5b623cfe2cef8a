package io.jrump.net.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class SeqNumTest {
    @Test
    void comparisonsHoldAcrossWraparound() {
        int a = 0xffff_fff0;
        int b = SeqNum.add(a, 0x20); // 0x10 after the wrap
        assertEquals(0x10, b);
        assertTrue(SeqNum.lt(a, b));
        assertTrue(SeqNum.le(a, b));
        assertTrue(SeqNum.gt(b, a));
        assertTrue(SeqNum.ge(b, a));
        assertFalse(SeqNum.lt(b, a));
        assertEquals(0x20, SeqNum.diff(b, a));
        assertEquals(-0x20, SeqNum.diff(a, b));
        assertEquals(b, SeqNum.max(a, b));
        assertEquals(a, SeqNum.min(a, b));
        assertTrue(SeqNum.between(a, 0xffff_ffff, b));
        assertTrue(SeqNum.between(a, 0, b));
        assertTrue(SeqNum.between(a, a, b));
        assertFalse(SeqNum.between(a, b, b));
        assertFalse(SeqNum.between(a, a - 1, b));
        assertFalse(SeqNum.between(a, a, a), "an empty range holds nothing");
    }

    @Test
    void randomPairsAgreeWithUnwrappedArithmetic() {
        Random rnd = new Random(0x5e9);
        for (int i = 0; i < 100_000; i++) {
            long base = rnd.nextLong() & 0xffff_ffffL;
            long x = base + rnd.nextInt(1 << 30); // 64-bit model values, less than 2^31 apart
            long y = base + rnd.nextInt(1 << 30);
            int a = (int) x;
            int b = (int) y;
            assertEquals(x < y, SeqNum.lt(a, b));
            assertEquals(x <= y, SeqNum.le(a, b));
            assertEquals(x > y, SeqNum.gt(a, b));
            assertEquals(x >= y, SeqNum.ge(a, b));
            assertEquals(x - y, SeqNum.diff(a, b));
            assertEquals((int) Math.max(x, y), SeqNum.max(a, b));
            assertEquals((int) Math.min(x, y), SeqNum.min(a, b));
            long z = base + rnd.nextInt(1 << 30);
            long lo = Math.min(x, z);
            long hi = Math.max(x, z);
            assertEquals(lo <= y && y < hi, SeqNum.between((int) lo, b, (int) hi));
            long n = rnd.nextInt();
            assertEquals((int) (x + n), SeqNum.add(a, n));
            assertEquals(SeqNum.lt(a, b), SeqNum.lt(SeqNum.add(a, n), SeqNum.add(b, n)), "translation invariant");
        }
    }
}
