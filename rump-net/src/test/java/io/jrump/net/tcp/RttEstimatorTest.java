package io.jrump.net.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RttEstimatorTest {
    private static final long MS = 1_000_000L;

    @Test
    void startsAtOneSecond() {
        RttEstimator r = new RttEstimator();
        assertEquals(1000 * MS, r.rtoNanos());
        assertFalse(r.hasSample());
    }

    @Test
    void followsTheRfc6298FormulasOnAWorkedExample() {
        RttEstimator r = new RttEstimator();
        // First sample R = 100 ms: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR = 300 ms.
        assertTrue(r.onSample(100 * MS, false));
        assertEquals(100 * MS, r.srttNanos());
        assertEquals(50 * MS, r.rttvarNanos());
        assertEquals(300 * MS, r.rtoNanos());
        // R = 200 ms: RTTVAR = 3/4*50 + 1/4*|100-200| = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5; RTO = 362.5.
        r.onSample(200 * MS, false);
        assertEquals(62_500_000L, r.rttvarNanos());
        assertEquals(112_500_000L, r.srttNanos());
        assertEquals(362_500_000L, r.rtoNanos());
        // R = 100 ms: RTTVAR = 3/4*62.5 + 1/4*12.5 = 50; SRTT = 7/8*112.5 + 1/8*100 = 110.9375; RTO = 310.9375.
        r.onSample(100 * MS, false);
        assertEquals(50 * MS, r.rttvarNanos());
        assertEquals(110_937_500L, r.srttNanos());
        assertEquals(310_937_500L, r.rtoNanos());
    }

    @Test
    void clampsToTheMinimumAndUsesTheGranularity() {
        RttEstimator r = new RttEstimator();
        r.onSample(10 * MS, false);
        assertEquals(200 * MS, r.rtoNanos(), "30 ms raised to the 200 ms minimum");
        RttEstimator coarse = new RttEstimator(1000 * MS, 1, 60_000 * MS, 500 * MS);
        coarse.onSample(100 * MS, false); // 4*RTTVAR = 200 ms < G = 500 ms
        assertEquals(600 * MS, coarse.rtoNanos());
    }

    @Test
    void ignoresSamplesFromRetransmittedSegments() {
        RttEstimator r = new RttEstimator();
        r.onSample(100 * MS, false);
        r.backoff();
        assertFalse(r.onSample(5000 * MS, true));
        assertEquals(100 * MS, r.srttNanos());
        assertEquals(600 * MS, r.rtoNanos(), "Karn: the backed-off RTO stays");
        assertEquals(1, r.backoffs());
    }

    @Test
    void backsOffExponentiallyUpToTheMaximumAndResetsOnANewSample() {
        RttEstimator r = new RttEstimator();
        r.onSample(100 * MS, false);
        long expected = 300 * MS;
        for (int i = 1; i <= 20; i++) {
            r.backoff();
            expected = Math.min(expected * 2, RttEstimator.DEFAULT_MAX_RTO_NANOS);
            assertEquals(expected, r.rtoNanos(), "after " + i + " backoffs");
        }
        assertEquals(RttEstimator.DEFAULT_MAX_RTO_NANOS, r.rtoNanos());
        r.onSample(100 * MS, false);
        assertEquals(0, r.backoffs());
        assertEquals(100 * MS + 4 * 37_500_000L, r.rtoNanos());
    }

    @Test
    void staysWithinBoundsForRandomSamples() {
        Random rnd = new Random(6298);
        RttEstimator r = new RttEstimator();
        for (int i = 0; i < 10_000; i++) {
            if (rnd.nextInt(10) == 0) {
                r.backoff();
            } else {
                r.onSample(1 + (long) (rnd.nextDouble() * 10_000 * MS), rnd.nextInt(5) == 0);
            }
            assertTrue(r.rtoNanos() >= r.minRtoNanos() && r.rtoNanos() <= r.maxRtoNanos(), r.toString());
        }
    }

    @Test
    void goesBackToThreeSecondsAfterALostSynWithoutSamples() {
        RttEstimator r = new RttEstimator();
        r.backoff();
        r.afterHandshakeRetransmit();
        assertEquals(3000 * MS, r.rtoNanos());
    }

    @Test
    void refusesAMaximumBelowSixtySeconds() {
        assertThrows(IllegalArgumentException.class, () -> new RttEstimator(1000 * MS, 200 * MS, 59_000 * MS, 0));
    }
}
