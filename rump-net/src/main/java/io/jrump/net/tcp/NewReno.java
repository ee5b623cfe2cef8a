package io.jrump.net.tcp;

/**
 * NewReno (RFC 5681 with RFC 6582): slow start counting every byte acknowledged (as Linux does),
 * congestion avoidance that adds one MSS once a full window of bytes has been acknowledged (RFC
 * 5681 3.1's byte-counting variant), and on loss {@code ssthresh = max(FlightSize / 2, 2 * SMSS)}
 * (RFC 5681 equation 4).
 *
 * <p>Not thread-safe; see {@link CongestionControl}.
 */
public final class NewReno extends AbstractCongestionControl {
    private long bytesAcked;

    /** With RFC 6928's initial window, {@link #initialWindow(int)}. */
    public NewReno(int mss) {
        this(mss, initialWindow(mss));
    }

    public NewReno(int mss, long initialWindowBytes) {
        super(mss, initialWindowBytes);
    }

    @Override
    public String name() {
        return "reno";
    }

    @Override
    protected long ssthreshAfterLoss(long inFlightBytes, long nowNanos, boolean timeout) {
        bytesAcked = 0;
        return Math.max(inFlightBytes / 2, 2L * mss);
    }

    @Override
    protected void congestionAvoidance(long ackedBytes, long rttNanos, long nowNanos) {
        bytesAcked += ackedBytes;
        if (bytesAcked >= cwnd) {
            bytesAcked -= cwnd;
            cwnd += mss;
        }
    }
}
