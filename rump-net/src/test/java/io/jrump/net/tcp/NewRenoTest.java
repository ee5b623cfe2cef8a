package io.jrump.net.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Window values below are worked out by hand from RFC 5681, RFC 3465 (no L limit, as Linux) and RFC 6582, with MSS 1000. */
class NewRenoTest {
    private static final int MSS = 1000;

    @Test
    void startsWithTenSegmentsAndAnInfiniteThreshold() {
        NewReno r = new NewReno(MSS);
        assertEquals(10_000, r.cwnd());
        assertEquals(Long.MAX_VALUE, r.ssthresh());
        assertEquals("reno", r.name());
        assertEquals(4000, new NewReno(MSS, 4000).cwnd());
    }

    @Test
    void initialWindowFollowsRfc6928() {
        assertEquals(10_000, AbstractCongestionControl.initialWindow(1000));
        assertEquals(14_600, AbstractCongestionControl.initialWindow(1460));
        assertEquals(14_600, new Cubic(1460).cwnd());
        assertEquals(17_920, AbstractCongestionControl.initialWindow(8960), "2 MSS for jumbo frames");
        assertEquals(5360, AbstractCongestionControl.initialWindow(536));
    }

    @Test
    void recoveryCanBeEnteredAndLeftExplicitly() {
        NewReno r = new NewReno(MSS);
        r.onEnterRecovery(30_000, 16_000, 0); // say the SACK scoreboard found the loss
        assertTrue(r.inRecovery());
        assertEquals(8000, r.ssthresh());
        assertEquals(11_000, r.cwnd());
        r.onExitRecovery(4000, 0);
        assertFalse(r.inRecovery());
        assertEquals(5000, r.cwnd());
        r.onExitRecovery(4000, 0);
        assertEquals(5000, r.cwnd(), "leaving twice changes nothing");
    }

    @Test
    void slowStartCountsEveryByteAcknowledgedUpToSsthresh() {
        NewReno r = new NewReno(MSS);
        r.onAck(1000, 1000, 0, 0, 9000);
        assertEquals(11_000, r.cwnd());
        r.onAck(3000, 2000, 0, 0, 9000);
        assertEquals(13_000, r.cwnd());
        r.onAck(48_000, 45_000, 0, 0, 9000); // the ACK of a TSO segment counts all it covers
        assertEquals(58_000, r.cwnd());
        r.onAck(48_500, 500, 0, 0, 9000);
        assertEquals(58_500, r.cwnd());
        NewReno capped = new NewReno(MSS);
        capped.onRetransmitTimeout(0, 20_000, 0); // ssthresh 10000, cwnd 1000
        capped.onAck(0, 45_000, 0, 0, 0);
        assertEquals(11_000, capped.cwnd(), "slow start stops at ssthresh; the 36000 bytes past it add one MSS in CA");
    }

    @Test
    void congestionAvoidanceAddsOneSegmentPerWindowAcknowledged() {
        NewReno r = new NewReno(MSS);
        r.onRetransmitTimeout(0, 20_000, 0); // ssthresh = 10000, cwnd = 1000
        for (int i = 0; i < 9; i++) {
            r.onAck(0, 1000, 0, 0, 0);
        }
        assertEquals(10_000, r.cwnd());
        assertFalse(r.inSlowStart());
        for (int i = 0; i < 9; i++) {
            r.onAck(0, 1000, 0, 0, 0);
        }
        assertEquals(10_000, r.cwnd(), "9000 of 10000 bytes acknowledged");
        r.onAck(0, 1000, 0, 0, 0);
        assertEquals(11_000, r.cwnd());
        for (int i = 0; i < 11; i++) {
            r.onAck(0, 1000, 0, 0, 0);
        }
        assertEquals(12_000, r.cwnd());
    }

    @Test
    void fastRecoveryWithPartialAcks() {
        NewReno r = new NewReno(MSS);
        r.onAck(1000, 2000, 0, 0, 0);
        r.onAck(1000, 2000, 0, 0, 0);
        r.onAck(1000, 1000, 0, 0, 0);
        assertEquals(15_000, r.cwnd());
        int una = 1000;
        int nxt = 21_000;
        assertFalse(r.onDupAck(una, nxt, 20_000, 0));
        assertFalse(r.onDupAck(una, nxt, 20_000, 0));
        assertTrue(r.onDupAck(una, nxt, 20_000, 0), "third duplicate: fast retransmit");
        assertTrue(r.inRecovery());
        assertEquals(10_000, r.ssthresh(), "FlightSize / 2");
        assertEquals(13_000, r.cwnd(), "ssthresh + 3 SMSS");
        assertEquals(nxt, r.recover());
        assertFalse(r.onDupAck(una, nxt, 20_000, 0));
        assertFalse(r.onDupAck(una, nxt, 20_000, 0));
        assertEquals(15_000, r.cwnd(), "one SMSS per further duplicate");
        assertTrue(r.onAck(4000, 3000, 0, 0, 17_000), "partial ACK: retransmit the next hole");
        assertEquals(13_000, r.cwnd(), "15000 - 3000 acknowledged + 1000");
        assertTrue(r.onAck(4500, 500, 0, 0, 16_500));
        assertEquals(12_500, r.cwnd(), "less than one SMSS acknowledged: nothing added back");
        assertTrue(r.inRecovery());
        assertFalse(r.onAck(nxt, 16_500, 0, 0, 8000), "full ACK");
        assertFalse(r.inRecovery());
        assertEquals(9000, r.cwnd(), "min(ssthresh, FlightSize + SMSS)");
        r.onAck(nxt + 2000, 2000, 0, 0, 8000);
        assertEquals(10_000, r.cwnd(), "below ssthresh: slow start again, up to ssthresh; the rest counts toward CA");
    }

    @Test
    void fullAckMayLeaveTheWindowAtSsthresh() {
        NewReno r = new NewReno(MSS);
        for (int i = 0; i < 3; i++) {
            r.onDupAck(0, 10_000, 10_000, 0);
        }
        assertEquals(5000, r.ssthresh());
        r.onAck(10_000, 10_000, 0, 0, 40_000);
        assertEquals(5000, r.cwnd());
    }

    @Test
    void timeoutDropsToOneSegmentAndRepeatedTimeoutsKeepSsthresh() {
        NewReno r = new NewReno(MSS);
        r.onRetransmitTimeout(50_000, 12_000, 0);
        assertEquals(1000, r.cwnd());
        assertEquals(6000, r.ssthresh());
        r.onRetransmitTimeout(50_000, 12_000, 0);
        assertEquals(6000, r.ssthresh(), "the same segment timed out again: ssthresh held");
        r.onRetransmitTimeout(50_000, 1000, 0);
        assertEquals(6000, r.ssthresh());
        r.onAck(31_000, 1000, 0, 0, 0);
        assertEquals(2000, r.cwnd());
        // Duplicates below recover after a timeout do not start another fast retransmit (RFC 6582 3.2 step 1).
        for (int i = 0; i < 3; i++) {
            assertFalse(r.onDupAck(31_000, 50_000, 2000, 0));
        }
        assertEquals(2000, r.cwnd());
        assertFalse(r.inRecovery());
        // A later timeout with a small flight uses 2 SMSS as the floor.
        r.onRetransmitTimeout(50_000, 1000, 0);
        assertEquals(2000, r.ssthresh());
    }

    @Test
    void recoverWorksAcrossSequenceWraparound() {
        NewReno r = new NewReno(MSS);
        int una = 0xffff_f000;
        int nxt = una + 20_000;
        for (int i = 0; i < 3; i++) {
            r.onDupAck(una, nxt, 20_000, 0);
        }
        assertTrue(r.onAck(una + 5000, 5000, 0, 0, 15_000), "partial ACK past the wrap");
        assertFalse(r.onAck(nxt, 15_000, 0, 0, 0));
        assertFalse(r.inRecovery());
    }
}
