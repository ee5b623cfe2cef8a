package io.jrump.net.tcp;

import io.jrump.net.wire.TcpRepr.SackBlock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SackScoreboardTest {
    @Test
    void recordsValidBlocksAndFindsHoles() {
        SackScoreboard s = new SackScoreboard(1000);
        int nxt = 11_000;
        assertEquals(2, s.onSack(List.of(new SackBlock(3000, 4000), new SackBlock(6000, 7000)), nxt));
        assertEquals(2000, s.sackedBytes());
        assertEquals(new SackBlock(1000, 3000), s.nextHole());
        assertEquals(new SackBlock(4000, 6000), s.nextHole(3000), "HighRxt inside a SACKed range skips it");
        assertEquals(new SackBlock(4500, 6000), s.nextHole(4500));
        assertNull(s.nextHole(6000), "nothing SACKed above: not a known hole");
        assertEquals(7000, s.highSacked());
        assertTrue(s.isSacked(3000));
        assertFalse(s.isSacked(4000));
        assertTrue(s.add(4000, 6000, nxt), "fills the hole, merging both neighbours");
        assertEquals(1, s.rangeCount());
        assertEquals(4000, s.sackedBytes());
    }

    @Test
    void ignoresBlocksOutsideTheWindow() {
        SackScoreboard s = new SackScoreboard(1000);
        int nxt = 5000;
        assertFalse(s.add(500, 900, nxt), "a D-SACK below snd.una");
        assertFalse(s.add(900, 1200, nxt), "straddles snd.una");
        assertFalse(s.add(4000, 5001, nxt), "beyond snd.nxt");
        assertFalse(s.add(2000, 2000, nxt), "empty");
        assertFalse(s.add(3000, 2000, nxt), "reversed");
        assertEquals(5, s.ignoredBlocks());
        assertEquals(0, s.sackedBytes());
        assertTrue(s.add(1000, 5000, nxt), "the whole window is fine");
    }

    @Test
    void advancingSndUnaForgetsWhatIsBelow() {
        SackScoreboard s = new SackScoreboard(0);
        s.add(2000, 3000, 10_000);
        s.add(5000, 6000, 10_000);
        s.advance(2500);
        assertEquals(1500, s.sackedBytes());
        assertEquals(new SackBlock(3000, 5000), s.nextHole());
        s.advance(1000); // an old ACK changes nothing
        assertEquals(2500, s.sndUna());
        s.advance(6000);
        assertEquals(0, s.sackedBytes());
        assertNull(s.nextHole());
        assertEquals(6000, s.highSacked());
    }

    @Test
    void boundsTheNumberOfRanges() {
        SackScoreboard s = new SackScoreboard(0, 2);
        assertTrue(s.add(100, 200, 1000));
        assertTrue(s.add(300, 400, 1000));
        assertFalse(s.add(500, 600, 1000));
        assertTrue(s.add(150, 350, 1000), "merging is always allowed");
        assertEquals(1, s.rangeCount());
    }

    @Test
    void agreesWithABitSetModelAcrossWraparound() {
        int holesSeen = 0;
        for (long seed = 1; seed <= 20; seed++) {
            Random rnd = new Random(seed);
            int isn = -rnd.nextInt(50_000);
            SackScoreboard s = new SackScoreboard(isn);
            BitSet model = new BitSet();
            int una = 0;
            int nxt = 0;
            for (int step = 0; step < 3000; step++) {
                switch (rnd.nextInt(4)) {
                    case 0 -> nxt += rnd.nextInt(3000); // sent more
                    case 1 -> { // a cumulative ACK
                        int newUna = una + rnd.nextInt(Math.max(1, nxt - una + 1));
                        s.advance(isn + newUna);
                        una = Math.max(una, newUna);
                    }
                    default -> { // a SACK block, sometimes invalid
                        int left = una - 500 + rnd.nextInt(Math.max(1, nxt - una + 1000));
                        int right = left + rnd.nextInt(2000) - 100;
                        boolean valid = left >= una && right <= nxt && left < right;
                        assertEquals(valid, s.add(isn + left, isn + right, isn + nxt), "seed " + seed);
                        if (valid) {
                            model.set(left, right);
                        }
                    }
                }
                model.clear(0, una);
                assertEquals(model.cardinality(), s.sackedBytes(), "seed " + seed + " step " + step);
                int holeStart = model.isEmpty() ? -1 : model.nextClearBit(una);
                SackBlock hole = s.nextHole();
                if (holeStart < 0 || model.nextSetBit(holeStart) < 0) {
                    assertNull(hole, "seed " + seed);
                } else {
                    holesSeen++;
                    assertEquals(new SackBlock(isn + holeStart, isn + model.nextSetBit(holeStart)), hole,
                            "seed " + seed + " step " + step);
                }
                int probe = una + rnd.nextInt(Math.max(1, nxt - una + 1));
                assertEquals(model.get(probe), s.isSacked(isn + probe), "seed " + seed);
            }
        }
        assertTrue(holesSeen > 1000, "holes were exercised: " + holesSeen);
    }
}
