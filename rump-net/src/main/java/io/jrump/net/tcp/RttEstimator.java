package io.jrump.net.tcp;

/**
 * The retransmission timeout of RFC 6298, in nanoseconds.
 * <ul>
 *   <li>Before any sample, RTO is the initial 1 s (section 2.1).</li>
 *   <li>The first sample R sets SRTT = R, RTTVAR = R/2 (2.2); later ones set
 *       RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R| and then SRTT = 7/8 SRTT + 1/8 R (2.3). In both cases
 *       RTO = SRTT + max(G, 4 RTTVAR), G being the clock granularity.</li>
 *   <li>RTO is clamped to [minimum, maximum]. RFC 6298 (2.4) asks for a 1 s minimum; like Linux the default here is
 *       200 ms, configurable. The maximum must be at least 60 s (2.5); the default is Linux's 120 s.</li>
 *   <li>Karn's algorithm (section 3): the caller says whether the acknowledged segment was retransmitted, and such
 *       samples are ignored. RTTs measured from the timestamp option (RFC 7323 section 4) are unambiguous and may be
 *       given for any segment: pass {@code retransmitted = false} for them.</li>
 *   <li>On a retransmission timeout the caller calls {@link #backoff()}, which doubles RTO up to the maximum (5.5);
 *       the next valid sample recomputes RTO from SRTT and RTTVAR, ending the backoff.</li>
 * </ul>
 * RFC 7323 appendix G suggests scaling the gains down when several samples arrive per RTT; this class uses the
 * plain RFC 6298 gains, which is what Linux does too.
 *
 * <p>Not thread-safe: owned by one connection on the event loop. Never blocks; bounds that break RFC 6298 throw
 * {@link IllegalArgumentException} from the constructor.
 */
public final class RttEstimator {
    public static final long INITIAL_RTO_NANOS = 1_000_000_000L;
    public static final long DEFAULT_MIN_RTO_NANOS = 200_000_000L;
    public static final long DEFAULT_MAX_RTO_NANOS = 120_000_000_000L;
    /** The clock granularity G: the hypercall clock has nanoseconds, but timers fire on a millisecond-ish loop. */
    public static final long DEFAULT_GRANULARITY_NANOS = 1_000_000L;

    private final long minRto;
    private final long maxRto;
    private final long granularity;
    private final long initialRto;

    private boolean haveSample;
    private long srtt;
    private long rttvar;
    private long rto;
    private int backoffs;

    /** The defaults: 1 s initial, 200 ms minimum, 120 s maximum, 1 ms granularity. */
    public RttEstimator() {
        this(INITIAL_RTO_NANOS, DEFAULT_MIN_RTO_NANOS, DEFAULT_MAX_RTO_NANOS, DEFAULT_GRANULARITY_NANOS);
    }

    public RttEstimator(long initialRtoNanos, long minRtoNanos, long maxRtoNanos, long granularityNanos) {
        if (minRtoNanos <= 0 || maxRtoNanos < 60_000_000_000L || minRtoNanos > maxRtoNanos) {
            throw new IllegalArgumentException("RTO bounds [" + minRtoNanos + ", " + maxRtoNanos
                    + "] ns: need 0 < min <= max and max >= 60 s (RFC 6298 2.5)");
        }
        if (initialRtoNanos < minRtoNanos || initialRtoNanos > maxRtoNanos || granularityNanos < 0) {
            throw new IllegalArgumentException("initial RTO " + initialRtoNanos + " ns outside the bounds");
        }
        this.minRto = minRtoNanos;
        this.maxRto = maxRtoNanos;
        this.granularity = granularityNanos;
        this.initialRto = initialRtoNanos;
        this.rto = initialRtoNanos;
    }

    /**
     * Feeds one RTT measurement. Returns false, changing nothing, when the sample is ignored: from a retransmitted
     * segment (Karn), or not positive.
     */
    public boolean onSample(long rttNanos, boolean retransmitted) {
        if (retransmitted || rttNanos <= 0) {
            return false;
        }
        if (!haveSample) {
            srtt = rttNanos;
            rttvar = rttNanos / 2;
            haveSample = true;
        } else {
            // RTTVAR first: it uses the SRTT from before this sample (RFC 6298 2.3).
            rttvar = (3 * rttvar + Math.abs(srtt - rttNanos)) / 4;
            srtt = (7 * srtt + rttNanos) / 8;
        }
        backoffs = 0;
        rto = clamp(srtt + Math.max(granularity, 4 * rttvar));
        return true;
    }

    /** The retransmission timer expired: double RTO, up to the maximum (RFC 6298 5.5). */
    public void backoff() {
        backoffs++;
        rto = Math.min(maxRto, rto > maxRto / 2 ? maxRto : rto * 2);
    }

    /**
     * RFC 6298 5.7: if the SYN or SYN-ACK was retransmitted and no sample was taken, RTO goes back to 3 s once the
     * connection is established (unless it is already larger).
     */
    public void afterHandshakeRetransmit() {
        if (!haveSample) {
            rto = clamp(Math.max(rto, 3_000_000_000L));
        }
    }

    public long rtoNanos() {
        return rto;
    }

    /** SRTT, or 0 before the first sample. */
    public long srttNanos() {
        return srtt;
    }

    /** RTTVAR, or 0 before the first sample. */
    public long rttvarNanos() {
        return rttvar;
    }

    public boolean hasSample() {
        return haveSample;
    }

    /** How many times {@link #backoff()} ran since the last valid sample. */
    public int backoffs() {
        return backoffs;
    }

    public long minRtoNanos() {
        return minRto;
    }

    public long maxRtoNanos() {
        return maxRto;
    }

    public long initialRtoNanos() {
        return initialRto;
    }

    private long clamp(long v) {
        return Math.max(minRto, Math.min(maxRto, v));
    }

    @Override
    public String toString() {
        return "RTT srtt=" + srtt / 1000 + "us rttvar=" + rttvar / 1000 + "us rto=" + rto / 1000 + "us backoffs="
                + backoffs;
    }
}
