package io.jrump.net.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CubicTest {
    private static final int MSS = 1000;
    private static final long S = 1_000_000_000L;

    /** A CUBIC whose window was 100 segments at a fast retransmit, now through recovery at 70. */
    private static Cubic afterLossAt100() {
        Cubic c = new Cubic(MSS, 100 * MSS, true);
        for (int i = 0; i < 3; i++) {
            c.onDupAck(0, 100 * MSS, 100 * MSS, 0);
        }
        assertTrue(c.inRecovery());
        assertEquals(70 * MSS, c.ssthresh(), "beta 0.7");
        assertEquals(100.0, c.wMax());
        c.onAck(100 * MSS, 100 * MSS, 0, 0, 80 * MSS); // full ACK, plenty in flight
        assertEquals(70 * MSS, c.cwnd());
        return c;
    }

    /** One RTT of ACKs, one per segment of the current window, spread over the RTT. */
    private static long oneRtt(Cubic c, long now, long rtt) {
        long segs = c.cwnd() / MSS;
        for (long i = 0; i < segs; i++) {
            c.onAck(0, MSS, rtt, now + rtt * i / segs, c.cwnd());
        }
        return now + rtt;
    }

    @Test
    void kAndTheCubicFunctionFollowRfc9438() {
        Cubic c = afterLossAt100();
        long t0 = 10 * S;
        c.onAck(0, MSS, 100_000_000, t0, 70 * MSS); // the stage begins
        double k = Math.cbrt((100 - 70) / 0.4); // figure 2: cbrt((W_max - cwnd_epoch) / C)
        assertEquals(k, c.k(), 1e-12);
        assertEquals(4.2172, k, 1e-4);
        for (double t : new double[] {0, 1, 2.5, k, 6, 10}) {
            assertEquals(0.4 * Math.pow(t - k, 3) + 100, c.wCubic(t), 1e-9, "t=" + t);
        }
        assertEquals(70.0, c.wCubic(0), 1e-9);
        assertEquals(100.0, c.wCubic(k), 1e-9);
    }

    @Test
    void windowTracksTheCubicCurveOnALongRtt() {
        Cubic c = afterLossAt100();
        long rtt = 100_000_000; // 100 ms: W_cubic grows faster than the Reno estimate here
        long t0 = 10 * S;
        long now = t0;
        double k = Math.cbrt(75);
        // Up to 5 s: past K (4.22 s), before the Reno estimate (growing 0.529 segments per RTT) catches up.
        while (now - t0 < 5 * S) {
            now = oneRtt(c, now, rtt);
            double t = (now - t0) / 1e9;
            double w = (double) c.cwnd() / MSS;
            assertTrue(w >= c.wCubic(t - 0.1) - 1 && w <= c.wCubic(t + 0.1) + 1,
                    "t=" + t + " cwnd=" + w + " W(t)=" + c.wCubic(t));
            assertTrue(c.wEst() < c.wCubic(t), "not in the Reno-friendly region");
        }
        // Concave below W_max, plateau at W_max around K.
        assertTrue(k < 5);
        assertEquals(c.wCubic(5), (double) c.cwnd() / MSS, 2);
        assertTrue(c.cwnd() > 99 * MSS);
    }

    @Test
    void renoFriendlyRegionOnAShortRtt() {
        Cubic c = afterLossAt100();
        long rtt = 1_000_000; // 1 ms: Reno would outgrow the cubic curve
        long now = 10 * S;
        double west = 70;
        for (int r = 0; r < 20; r++) {
            now = oneRtt(c, now, rtt);
            west += Cubic.ALPHA; // a window's worth of ACKs: segments_acked / cwnd is about 1 per RTT
        }
        assertEquals(west, c.wEst(), 0.5);
        assertEquals(70 + 20 * 0.529, (double) c.cwnd() / MSS, 1.0, "cwnd follows W_est");
        assertTrue(c.wCubic(0.02) < c.wEst());
        // Once W_est reaches cwnd_prior (100), alpha becomes 1: one segment per RTT, like Reno.
        while (c.wEst() < 100) {
            now = oneRtt(c, now, rtt);
        }
        double before = c.wEst();
        now = oneRtt(c, now, rtt);
        assertEquals(1.0, c.wEst() - before, 0.05);
    }

    @Test
    void fastConvergenceReleasesBandwidth() {
        Cubic c = afterLossAt100(); // W_max 100, cwnd 70
        for (int i = 0; i < 3; i++) {
            c.onDupAck(100 * MSS, 200 * MSS, 70 * MSS, 20 * S);
        }
        assertEquals(70 * 0.85, c.wMax(), 1e-9, "cwnd below the last W_max: W_max = cwnd (1 + beta) / 2");
        assertEquals(49 * MSS, c.ssthresh());

        Cubic plain = new Cubic(MSS, 100 * MSS, false);
        for (int i = 0; i < 3; i++) {
            plain.onDupAck(0, 100 * MSS, 100 * MSS, 0);
        }
        plain.onAck(100 * MSS, 100 * MSS, 0, 0, 80 * MSS);
        for (int i = 0; i < 3; i++) {
            plain.onDupAck(100 * MSS, 200 * MSS, 70 * MSS, 20 * S);
        }
        assertEquals(70.0, plain.wMax(), 1e-9, "without fast convergence W_max = cwnd");
    }

    @Test
    void afterATimeoutTheStageStartsFlatFromItsOwnWindow() {
        Cubic c = new Cubic(MSS, 100 * MSS, true);
        c.onRetransmitTimeout(100 * MSS, 100 * MSS, 0);
        assertEquals(MSS, c.cwnd());
        assertEquals(70 * MSS, c.ssthresh());
        long now = S;
        while (c.inSlowStart()) {
            c.onAck(0, MSS, 50_000_000, now, c.cwnd());
            now += 1_000_000;
        }
        long epochWindow = c.cwnd();
        assertEquals(70 * MSS, epochWindow);
        c.onAck(0, MSS, 50_000_000, now, c.cwnd());
        assertEquals(0.0, c.k());
        assertEquals((double) epochWindow / MSS, c.wMax(), 1e-9);
    }

    @Test
    void growthPerAckNeverExceedsHalfTheWindowPerRtt() {
        Cubic c = afterLossAt100();
        long now = 10 * S;
        for (int r = 0; r < 200; r++) {
            long before = c.cwnd();
            now = oneRtt(c, now, 100_000_000);
            assertTrue(c.cwnd() <= before * 1.5 + MSS, "target is capped at 1.5 cwnd");
            assertTrue(c.cwnd() >= before, "no decrease without loss");
        }
    }
}
