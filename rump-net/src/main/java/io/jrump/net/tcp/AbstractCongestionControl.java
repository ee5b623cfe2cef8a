package io.jrump.net.tcp;

/**
 * What NewReno and CUBIC share: slow start by byte counting, and RFC 5681/6582 fast retransmit and
 * fast recovery around a {@code recover} point. Subclasses say how much the window shrinks on a congestion event
 * ({@link #ssthreshAfterLoss}) and how it grows in congestion avoidance ({@link #congestionAvoidance}).
 *
 * <p>Not thread-safe: owned by one connection on the event loop. Never blocks; invalid arguments (a non-positive
 * MSS or acknowledged amount) throw {@link IllegalArgumentException}.
 */
public abstract class AbstractCongestionControl implements CongestionControl {
    /** RFC 6928: an initial window of up to 10 segments. */
    public static final int DEFAULT_INITIAL_SEGMENTS = 10;
    protected final int mss;
    protected long cwnd;
    protected long ssthresh = Long.MAX_VALUE;

    private boolean inRecovery;
    private boolean haveRecover;
    private int recover;
    private int dupAcks;
    private boolean timedOutSinceAck;

    /** RFC 6928 section 2: {@code IW = min(10 * MSS, max(2 * MSS, 14600))} bytes. */
    public static long initialWindow(int mss) {
        return Math.min((long) DEFAULT_INITIAL_SEGMENTS * mss, Math.max(2L * mss, 14_600));
    }

    protected AbstractCongestionControl(int mss, long initialWindowBytes) {
        if (mss <= 0) {
            throw new IllegalArgumentException("MSS " + mss);
        }
        if (initialWindowBytes < mss) {
            throw new IllegalArgumentException("initial window " + initialWindowBytes + " below one MSS " + mss);
        }
        this.mss = mss;
        this.cwnd = initialWindowBytes;
    }

    @Override
    public int mss() {
        return mss;
    }

    @Override
    public long cwnd() {
        return cwnd;
    }

    @Override
    public long ssthresh() {
        return ssthresh;
    }

    @Override
    public boolean inRecovery() {
        return inRecovery;
    }

    /** The recover point: snd.nxt when recovery (or the last timeout) began; valid once one has happened. */
    public int recover() {
        return recover;
    }

    /** Duplicate ACKs counted since the last new ACK. */
    public int dupAcks() {
        return dupAcks;
    }

    /** Whether {@code cwnd < ssthresh}, RFC 5681's slow-start test. */
    public boolean inSlowStart() {
        return cwnd < ssthresh;
    }

    @Override
    public boolean onAck(int ack, long ackedBytes, long rttNanos, long nowNanos, long inFlightBytes) {
        if (ackedBytes <= 0) {
            throw new IllegalArgumentException("an ACK of new data acknowledges " + ackedBytes + " bytes");
        }
        dupAcks = 0;
        timedOutSinceAck = false;
        if (inRecovery) {
            if (SeqNum.ge(ack, recover)) {
                onExitRecovery(inFlightBytes, nowNanos); // full ACK
                return false;
            }
            // Partial ACK (RFC 6582 3.2 step 3): deflate by the newly acknowledged amount, add back one segment
            // if at least one was acknowledged, so about ssthresh stays in flight once the hole is refilled.
            cwnd = Math.max(mss, cwnd - ackedBytes + (ackedBytes >= mss ? mss : 0));
            return true;
        }
        long rest = cwnd < ssthresh ? slowStart(ackedBytes) : ackedBytes;
        if (rest > 0) {
            congestionAvoidance(rest, rttNanos, nowNanos);
        }
        return false;
    }

    @Override
    public boolean onDupAck(int ack, int sndNxt, long inFlightBytes, long nowNanos) {
        dupAcks++;
        if (inRecovery) {
            cwnd += mss; // RFC 5681 3.2 step 4: each further duplicate means a segment left the network
            return false;
        }
        if (dupAcks == DUP_THRESH) {
            // RFC 6582 3.2 step 1: only if this ACK covers recover, so one window's losses cause one reduction.
            if (haveRecover && SeqNum.lt(ack, recover)) {
                return false;
            }
            onEnterRecovery(sndNxt, inFlightBytes, nowNanos);
            return true;
        }
        return false;
    }

    @Override
    public void onEnterRecovery(int sndNxt, long inFlightBytes, long nowNanos) {
        haveRecover = true;
        recover = sndNxt;
        inRecovery = true;
        ssthresh = ssthreshAfterLoss(inFlightBytes, nowNanos, false);
        cwnd = ssthresh + (long) DUP_THRESH * mss; // RFC 5681 3.2 step 3: inflate by the segments that left
    }

    @Override
    public void onExitRecovery(long inFlightBytes, long nowNanos) {
        if (!inRecovery) {
            return;
        }
        inRecovery = false;
        // RFC 6582 3.2 step 3, full ACK, option (1): no more than one segment's burst beyond what is in flight.
        cwnd = Math.min(ssthresh, Math.max(inFlightBytes, mss) + mss);
        afterRecovery(nowNanos);
    }

    @Override
    public void onRetransmitTimeout(int sndNxt, long inFlightBytes, long nowNanos) {
        if (!timedOutSinceAck) {
            ssthresh = ssthreshAfterLoss(inFlightBytes, nowNanos, true);
        }
        timedOutSinceAck = true;
        cwnd = mss; // RFC 5681 3.1: the loss window LW is one segment
        inRecovery = false;
        dupAcks = 0;
        haveRecover = true;
        recover = sndNxt; // RFC 6582 3.2 step 4
    }

    /**
     * Slow start, as Linux's tcp_slow_start: grow by every byte acknowledged up to ssthresh, and
     * return what is left over for congestion avoidance. RFC 3465's limit of L = 2 segments per
     * ACK is not applied: the ACK of a large (TSO or GRO) segment stands for dozens of segments,
     * and with the limit the window would grow by two of them. Bursts stay bounded by the window
     * itself, which at most doubles per round trip.
     */
    protected long slowStart(long ackedBytes) {
        long grown = Math.min(cwnd + ackedBytes, ssthresh);
        long rest = ackedBytes - (grown - cwnd);
        cwnd = grown;
        return rest;
    }

    /**
     * The new ssthresh on a congestion event; the subclass also records whatever it needs (CUBIC's W_max). Called
     * with the window still at its pre-loss value. {@code timeout} says whether this is an RTO.
     */
    protected abstract long ssthreshAfterLoss(long inFlightBytes, long nowNanos, boolean timeout);

    /** Grows {@link #cwnd} for an ACK of {@code ackedBytes} in congestion avoidance. */
    protected abstract void congestionAvoidance(long ackedBytes, long rttNanos, long nowNanos);

    /** A hook run after fast recovery ends. */
    protected void afterRecovery(long nowNanos) {
    }

    @Override
    public String toString() {
        return name() + " cwnd=" + cwnd + " ssthresh=" + (ssthresh == Long.MAX_VALUE ? "inf" : ssthresh)
                + (inRecovery ? " recovering to " + SeqNum.toUnsigned(recover) : "");
    }
}
