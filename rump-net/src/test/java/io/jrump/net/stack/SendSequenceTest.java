package io.jrump.net.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SendSequenceTest {
    private static final int ISS = 0xffff_fff0; // the sequence space wraps 16 bytes in

    private static SendSequence sentOneThousand() {
        SendSequence snd = new SendSequence();
        snd.open(ISS);
        snd.synSent();
        snd.acknowledge(ISS + 1);
        snd.sent(1000);
        return snd;
    }

    @Test
    void aSynTakesOneSequenceNumberAndItsAckIsNotData() {
        SendSequence snd = new SendSequence();
        snd.open(ISS);
        assertEquals(0, snd.inFlight());
        snd.synSent();
        assertEquals(ISS + 1, snd.nxt());
        assertEquals(ISS + 1, snd.max());
        snd.acknowledge(ISS + 1);
        assertTrue(snd.allAcknowledged());
    }

    @Test
    void aTimeoutWindsSndNxtBackButNotSndMax() {
        SendSequence snd = sentOneThousand();
        snd.goBack();
        assertEquals(snd.una(), snd.nxt());
        assertEquals(ISS + 1001, snd.max());
        snd.retransmittedTo(ISS + 501);
        assertEquals(ISS + 501, snd.nxt());
        snd.acknowledge(ISS + 801); // SND.NXT goes with SND.UNA where it lay below
        assertEquals(ISS + 801, snd.nxt());
        assertEquals(200, snd.max() - snd.una());
    }

    @Test
    void anAckBeyondSndMaxOrBelowSndUnaIsABug() {
        SendSequence snd = sentOneThousand();
        assertTrue(snd.acksUnsent(ISS + 1002));
        assertThrows(IllegalStateException.class, () -> snd.acknowledge(ISS + 1002));
        snd.acknowledge(ISS + 11);
        assertThrows(IllegalStateException.class, () -> snd.acknowledge(ISS + 10));
    }

    @Test
    void sndNxtNeverPassesSndMax() {
        SendSequence snd = sentOneThousand();
        assertThrows(IllegalStateException.class, () -> snd.skipTo(ISS + 1002));
        assertThrows(IllegalStateException.class, () -> snd.retransmittedTo(ISS + 1002));
    }

    @Test
    void onlyTheOldDataInsideTheWindowMayBeSent() {
        SendSequence snd = sentOneThousand();
        snd.window(300);
        assertEquals(300, snd.withinWindow(snd.una(), 1000));
        assertEquals(100, snd.withinWindow(snd.una() + 200, 1000));
        assertEquals(0, snd.withinWindow(snd.una() + 400, 1000));
        snd.window(0);
        assertEquals(0, snd.withinWindow(snd.una(), 1000), "a zero window is probed, never sent into");
        assertEquals(300, snd.maxWnd(), "the largest window offered is kept");
    }

    @Test
    void aWindowIsTakenOnlyFromANewerSegment() {
        SendSequence snd = sentOneThousand();
        snd.updateWindow(5000, 100, ISS + 1);
        assertTrue(snd.newerWindow(101, ISS + 1));
        assertTrue(snd.newerWindow(100, ISS + 1));
        assertFalse(snd.newerWindow(100, ISS));
        assertFalse(snd.newerWindow(99, ISS + 1001));
    }

    @Test
    void anAckTooFarBelowSndUnaIsRecognised() {
        SendSequence snd = sentOneThousand();
        snd.acknowledge(ISS + 1001);
        snd.window(500); // RFC 5961 5.2: MAX.SND.WND below SND.UNA is still plausible
        assertFalse(snd.ackTooOld(ISS + 501));
        assertTrue(snd.ackTooOld(ISS + 500));
    }

    @Test
    void theFinTakesOneSequenceNumberAndIsAckedPastIt() {
        SendSequence snd = sentOneThousand();
        snd.finAt();
        snd.sent(1);
        assertEquals(ISS + 1001, snd.finSeq());
        assertFalse(snd.finAcked(ISS + 1001));
        assertTrue(snd.finAcked(ISS + 1002));
    }

    @Test
    void theShiftIsAtMostFourteen() {
        assertThrows(IllegalArgumentException.class, () -> new SendSequence().scale(15));
    }
}
