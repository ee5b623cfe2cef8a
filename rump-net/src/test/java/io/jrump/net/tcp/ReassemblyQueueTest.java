package io.jrump.net.tcp;

import io.jrump.net.wire.TcpRepr.SackBlock;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ReassemblyQueueTest {
    /** The stream's byte at offset {@code i}: varied enough that a misplaced byte shows. */
    private static byte content(long i) {
        return (byte) (i * 131 + (i >>> 8) * 7 + 3);
    }

    private static byte[] slice(long from, int len) {
        byte[] b = new byte[len];
        for (int i = 0; i < len; i++) {
            b[i] = content(from + i);
        }
        return b;
    }

    @Test
    void holdsOutOfOrderDataUntilTheGapFills() {
        ReassemblyQueue q = new ReassemblyQueue(1000, 1 << 20, 16);
        assertEquals(0, q.offer(1010, slice(10, 10)).length);
        assertEquals(0, q.offer(1030, slice(30, 5)).length);
        assertEquals(2, q.rangeCount());
        assertEquals(15, q.bufferedBytes());
        assertEquals(List.of(new SackBlock(1030, 1035), new SackBlock(1010, 1020)), q.sackBlocks(4),
                "most recent first");
        assertArrayEquals(slice(0, 20), q.offer(1000, slice(0, 12)), "fills the first gap, overlapping held data");
        assertEquals(1020, q.rcvNxt());
        assertEquals(List.of(new SackBlock(1030, 1035)), q.sackBlocks(4));
        assertEquals(0, q.offer(1005, slice(5, 10)).length, "old data");
        assertArrayEquals(slice(20, 15), q.offer(1020, slice(20, 10)));
        assertEquals(1035, q.rcvNxt());
        assertTrue(q.isEmpty());
        assertEquals(List.of(), q.sackBlocks(4));
    }

    @Test
    void sackBlocksPutTheTriggeringSegmentFirstAndRepeatOthers() {
        ReassemblyQueue q = new ReassemblyQueue(0, 1 << 20, 16);
        q.offer(100, slice(100, 10));
        q.offer(200, slice(200, 10));
        q.offer(300, slice(300, 10));
        q.offer(400, slice(400, 10));
        q.offer(500, slice(500, 10));
        assertEquals(List.of(new SackBlock(500, 510), new SackBlock(400, 410), new SackBlock(300, 310)),
                q.sackBlocks(3));
        q.offer(205, slice(205, 20)); // extends the 200 block: it comes first, whole
        assertEquals(List.of(new SackBlock(200, 225), new SackBlock(500, 510), new SackBlock(400, 410),
                new SackBlock(300, 310)), q.sackBlocks(4));
    }

    @Test
    void worksAcrossSequenceWraparound() {
        int start = 0xffff_fff0;
        ReassemblyQueue q = new ReassemblyQueue(start, 1 << 20, 16);
        q.offer(start + 20, slice(20, 20));
        assertEquals(List.of(new SackBlock(start + 20, start + 40)), q.sackBlocks(4));
        assertArrayEquals(slice(0, 40), q.offer(start, slice(0, 25)));
        assertEquals(start + 40, q.rcvNxt());
        assertEquals(0x18, q.rcvNxt());
    }

    @Test
    void dropsFromTheTopToStayWithinItsBounds() {
        ReassemblyQueue q = new ReassemblyQueue(0, 100, 2);
        q.offer(1000, slice(1000, 60));
        q.offer(500, slice(500, 60)); // 120 bytes: the top range is trimmed by 20
        assertEquals(100, q.bufferedBytes());
        assertEquals(20, q.droppedBytes());
        assertEquals(List.of(new SackBlock(500, 560), new SackBlock(1000, 1040)), q.sackBlocks(4));
        q.offer(100, slice(100, 10)); // a third range: the highest goes
        assertEquals(2, q.rangeCount());
        assertEquals(70, q.bufferedBytes());
        assertEquals(60, q.droppedBytes());
        q.offer(2000, slice(2000, 10)); // above everything: itself dropped
        assertEquals(70, q.bufferedBytes());
        assertEquals(70, q.droppedBytes());
        assertArrayEquals(slice(0, 110), q.offer(0, slice(0, 100)));
    }

    @Test
    void deliversExactlyTheModelsInOrderPrefixWhenUnbounded() {
        for (long seed = 1; seed <= 30; seed++) {
            run(seed, 1 << 20, 1 << 16, true);
        }
    }

    @Test
    void neverExceedsItsBoundsAndNeverCorruptsData() {
        long dropped = 0;
        for (long seed = 100; seed <= 160; seed++) {
            dropped += run(seed, 200 + (int) (seed % 5) * 700, 1 + (int) (seed % 6), false);
        }
        assertTrue(dropped > 0, "the bounds were exercised");
    }

    /** Random segments (overlapping, duplicated, reordered) of an N-byte stream near the wrap, against a BitSet. */
    private static long run(long seed, long maxBytes, int maxRanges, boolean unbounded) {
        Random rnd = new Random(seed);
        int n = 5000 + rnd.nextInt(20_000);
        int isn = -rnd.nextInt(n); // the stream crosses 2^32 somewhere inside
        ReassemblyQueue q = new ReassemblyQueue(isn, maxBytes, maxRanges);
        BitSet received = new BitSet(n);
        long delivered = 0;
        String ctx = "seed " + seed;
        for (int step = 0; step < 2000 && delivered < n; step++) {
            long from;
            int pick = rnd.nextInt(10);
            if (pick < 2) {
                from = delivered; // in order
            } else if (pick < 4) {
                from = Math.max(0, delivered - rnd.nextInt(3000)); // overlaps old data
            } else {
                from = delivered + rnd.nextInt(Math.max(1, Math.min(n - (int) delivered, 6000)));
            }
            int len = (int) Math.min(n - from, 1 + rnd.nextInt(1460));
            if (len <= 0) {
                continue;
            }
            byte[] out = q.offer(isn + (int) from, slice(from, len));
            received.set((int) from, (int) from + len);
            assertArrayEquals(slice(delivered, out.length), out, ctx + " step " + step);
            delivered += out.length;
            assertEquals(isn + (int) delivered, q.rcvNxt(), ctx);
            int prefix = received.nextClearBit(0);
            if (unbounded) {
                assertEquals(prefix, delivered, ctx + " step " + step);
                assertEquals(0, q.droppedBytes());
            } else {
                assertTrue(delivered <= prefix, ctx);
            }
            assertTrue(q.bufferedBytes() <= maxBytes, ctx + ": " + q);
            assertTrue(q.rangeCount() <= maxRanges, ctx + ": " + q);
            checkBlocks(q, received, isn, ctx);
        }
        // Whatever was dropped, the sender's retransmissions in order complete the stream.
        while (delivered < n) {
            int len = (int) Math.min(n - delivered, 1460);
            byte[] out = q.offer(isn + (int) delivered, slice(delivered, len));
            assertArrayEquals(slice(delivered, out.length), out, ctx);
            assertTrue(out.length >= len, ctx);
            delivered += out.length;
        }
        assertEquals(n, delivered, ctx);
        assertTrue(q.isEmpty(), ctx);
        return q.droppedBytes();
    }

    /** Every SACK block: non-empty, above RCV.NXT, received by the model, disjoint; together they are the queue. */
    private static void checkBlocks(ReassemblyQueue q, BitSet received, int isn, String ctx) {
        List<SackBlock> all = q.sackBlocks(Integer.MAX_VALUE);
        assertEquals(q.rangeCount(), all.size(), ctx);
        long total = 0;
        BitSet seen = new BitSet();
        for (SackBlock b : all) {
            assertTrue(SeqNum.gt(b.left(), q.rcvNxt()), ctx + " block " + b + " not beyond rcv.nxt");
            assertTrue(SeqNum.lt(b.left(), b.right()), ctx);
            int lo = SeqNum.diff(b.left(), isn);
            int hi = SeqNum.diff(b.right(), isn);
            assertTrue(received.nextClearBit(lo) >= hi, ctx + " block " + b + " holds unreceived data");
            assertTrue(seen.get(lo, hi).isEmpty(), ctx + " overlapping blocks");
            seen.set(lo, hi);
            total += hi - lo;
        }
        assertEquals(q.bufferedBytes(), total, ctx);
        assertTrue(q.sackBlocks(3).size() <= 3);
    }
}
