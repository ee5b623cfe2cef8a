package io.jrump.net.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ReceiveSequenceTest {
    private static final int IRS = 0x7fff_fff0;

    private static ReceiveSequence offering(int window) {
        ReceiveSequence rcv = new ReceiveSequence();
        rcv.open(IRS);
        rcv.synOffered(window, true);
        return rcv;
    }

    @Test
    void theSynAckOffersTheWindowFromRcvNxt() {
        ReceiveSequence rcv = offering(1000);
        assertEquals(IRS + 1, rcv.nxt());
        assertEquals(1000, rcv.wnd());
    }

    @Test
    void acceptabilityFollowsRfc9293sTable() {
        ReceiveSequence rcv = offering(1000);
        int nxt = rcv.nxt();
        assertTrue(rcv.acceptable(nxt, 0));
        assertTrue(rcv.acceptable(nxt + 999, 0));
        assertFalse(rcv.acceptable(nxt + 1000, 0));
        assertFalse(rcv.acceptable(nxt - 1, 0));
        assertTrue(rcv.acceptable(nxt - 5, 10), "a segment straddling RCV.NXT");
        assertTrue(rcv.acceptable(nxt + 999, 10), "a segment straddling the right edge");
        assertFalse(rcv.acceptable(nxt + 1000, 10));
        assertFalse(rcv.acceptable(nxt - 10, 10));
    }

    @Test
    void aZeroWindowAcceptsOnlyAnEmptySegmentAtRcvNxt() {
        ReceiveSequence rcv = offering(0);
        assertTrue(rcv.acceptable(rcv.nxt(), 0));
        assertFalse(rcv.acceptable(rcv.nxt() + 1, 0));
        assertFalse(rcv.acceptable(rcv.nxt(), 1));
    }

    @Test
    void theRightEdgeNeverMovesBack() {
        ReceiveSequence rcv = offering(1000);
        rcv.advanceTo(rcv.nxt() + 600);
        assertEquals(400, rcv.wnd());
        rcv.advertised(100); // a smaller window would retract the edge: it stays
        assertEquals(400, rcv.wnd());
        rcv.advertised(2000);
        assertEquals(2000, rcv.wnd());
    }

    @Test
    void rcvNxtNeverMovesBack() {
        ReceiveSequence rcv = offering(1000);
        rcv.advanceTo(rcv.nxt() + 10);
        int nxt = rcv.nxt();
        assertThrows(IllegalStateException.class, () -> rcv.advanceTo(nxt - 1));
    }

    @Test
    void aFinTakenAtAZeroWindowLeavesTheWindowZero() {
        ReceiveSequence rcv = offering(0);
        rcv.finTaken();
        assertEquals(IRS + 2, rcv.nxt());
        assertEquals(0, rcv.wnd());
    }

    @Test
    void theWindowFieldGrowsOnlyByAUsefulAmountAndIsRoundedDownToTheShift() {
        ReceiveSequence rcv = offering(1000);
        assertEquals(1000, rcv.windowField(1500, 536), "500 more is not worth offering");
        assertEquals(1600, rcv.windowField(1600, 536));
        rcv.scale(7);
        assertEquals(1000 >> 7, rcv.windowField(1200, 536));
    }

    @Test
    void lastAckSentIsRcvNxtWhenTheAckLeft() {
        ReceiveSequence rcv = offering(1000);
        rcv.ackSent();
        rcv.advanceTo(rcv.nxt() + 100);
        assertEquals(IRS + 1, rcv.lastAckSent());
    }
}
