package io.jrump.net.tcp;

/**
 * CUBIC (RFC 9438), without HyStart++: after a congestion event the window follows
 * <pre>
 *   W_cubic(t) = C (t - K)^3 + W_max,   K = cbrt((W_max - cwnd_epoch) / C)          (RFC 9438 figures 1, 2)
 * </pre>
 * in segments, {@code t} being the seconds since the current congestion-avoidance stage began. Each ACK moves cwnd
 * towards {@code target = W_cubic(t + RTT)}, clamped to [cwnd, 1.5 cwnd], by {@code (target - cwnd) / cwnd} per
 * acknowledged segment (4.4, 4.5). Alongside, a Reno estimate
 * {@code W_est += alpha_cubic * segments_acked / cwnd}, with {@code alpha_cubic = 3 (1 - beta) / (1 + beta)} until
 * W_est reaches cwnd_prior and 1 after, keeps CUBIC at least as fast as Reno: when {@code W_cubic(t) < W_est} the
 * window is W_est (the Reno-friendly region, 4.3).
 *
 * <p>On a congestion event (4.6, 4.7): {@code ssthresh = cwnd * beta} (beta = 0.7), and W_max becomes cwnd, or with
 * fast convergence, when cwnd is below the previous W_max, {@code cwnd * (1 + beta) / 2}. After a timeout (4.8) the
 * first congestion-avoidance stage uses K = 0 and W_max = its starting window. Before any loss, leaving slow start
 * does the same. Slow start and fast recovery are the standard ones of {@link AbstractCongestionControl}.
 *
 * <p>Not thread-safe; see {@link CongestionControl}.
 */
public final class Cubic extends AbstractCongestionControl {
    public static final double C = 0.4;
    public static final double BETA = 0.7;
    /** 3 (1 - beta) / (1 + beta), about 0.529: AIMD(alpha, 0.7) has Reno's AIMD(1, 0.5) average throughput. */
    public static final double ALPHA = 3 * (1 - BETA) / (1 + BETA);

    private final boolean fastConvergence;

    /** W_max in segments; 0 before the first congestion event. */
    private double wMax;
    /** cwnd just before the last reduction, in segments. */
    private double cwndPrior;
    private double k;
    private long epochStart;
    private boolean inEpoch;
    /** The next stage starts from K = 0, W_max = cwnd_epoch (after a timeout, or before any loss). */
    private boolean flatStart = true;
    private double wEst;
    /** Fractions of a byte of window growth not yet added to cwnd. */
    private double carry;

    /** With RFC 6928's initial window ({@link #initialWindow(int)}) and fast convergence on. */
    public Cubic(int mss) {
        this(mss, initialWindow(mss), true);
    }

    public Cubic(int mss, long initialWindowBytes, boolean fastConvergence) {
        super(mss, initialWindowBytes);
        this.fastConvergence = fastConvergence;
    }

    @Override
    public String name() {
        return "cubic";
    }

    /** W_cubic(t) in segments for the current stage, {@code t} in seconds since it began. */
    public double wCubic(double t) {
        double d = t - k;
        return C * d * d * d + wMax;
    }

    /** K in seconds for the current stage. */
    public double k() {
        return k;
    }

    /** W_max in segments. */
    public double wMax() {
        return wMax;
    }

    /** The Reno-friendly estimate W_est, in segments. */
    public double wEst() {
        return wEst;
    }

    @Override
    protected long ssthreshAfterLoss(long inFlightBytes, long nowNanos, boolean timeout) {
        double w = (double) cwnd / mss;
        cwndPrior = w;
        wMax = fastConvergence && w < wMax ? w * (1 + BETA) / 2 : w;
        inEpoch = false;
        carry = 0;
        flatStart = timeout;
        return Math.max((long) (cwnd * BETA), 2L * mss);
    }

    @Override
    protected long slowStart(long ackedBytes) {
        inEpoch = false; // a new congestion-avoidance stage starts when slow start ends
        return super.slowStart(ackedBytes);
    }

    @Override
    protected void afterRecovery(long nowNanos) {
        inEpoch = false;
    }

    @Override
    protected void congestionAvoidance(long ackedBytes, long rttNanos, long nowNanos) {
        double w = (double) cwnd / mss;
        if (!inEpoch) {
            inEpoch = true;
            epochStart = nowNanos;
            if (flatStart || wMax <= w) {
                wMax = w;
                k = 0;
            } else {
                k = Math.cbrt((wMax - w) / C);
            }
            flatStart = false;
            wEst = w;
            carry = 0;
        }
        double t = (nowNanos - epochStart) / 1e9;
        double segmentsAcked = (double) ackedBytes / mss;
        wEst += (wEst >= cwndPrior ? 1.0 : ALPHA) * segmentsAcked / w;
        if (wCubic(t) < wEst) {
            // Reno-friendly region: be at least as aggressive as Reno would be.
            long est = (long) (wEst * mss);
            if (est > cwnd) {
                cwnd = est;
            }
            return;
        }
        double target = Math.min(Math.max(wCubic(t + Math.max(0, rttNanos) / 1e9), w), 1.5 * w);
        carry += (target - w) / w * ackedBytes;
        long whole = (long) carry;
        cwnd += whole;
        carry -= whole;
    }
}
