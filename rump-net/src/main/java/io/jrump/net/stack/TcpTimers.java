package io.jrump.net.stack;

import io.jrump.kernel.Callout;
import io.jrump.net.tcp.RttEstimator;
import io.jrump.net.tcp.SeqNum;

/**
 * One connection's timers and what sets their intervals: the RFC 6298 retransmission timer with
 * its estimator, backoff and the segment being timed (Karn: none while a retransmission is
 * outstanding); the persist timer (RFC 9293 3.8.6.1) with its backoff and unanswered probes; the
 * delayed ACK (RFC 1122 4.2.3.2); keepalive (RFC 1122 4.2.3.6) with the time the peer was last
 * heard and the probes since; the TIME-WAIT timer, which also bounds FIN-WAIT-2 for a connection
 * nobody holds (a connection is in one of those states at a time, so they share one callout); and
 * SO_LINGER's wait.
 *
 * <p>Invariants: every count is never negative and counts only since its reset — retransmissions
 * since SND.UNA last advanced (or the handshake completed), unanswered probes since the peer's last
 * acceptable ACK, persist backoff since the window last let data out, keepalive probes since the
 * peer was last heard. The persist interval is the RTO doubled per backoff step, never beyond the
 * largest RTO. The timers fire on the kernel's event loop; not thread-safe.
 */
final class TcpTimers {
    static final long TIME_WAIT_NANOS = 60_000_000_000L; // 2·MSL with Linux's MSL of 30 s
    /** How long a connection the application closed may wait in FIN_WAIT_2: Linux's tcp_fin_timeout. */
    static final long FIN_WAIT_2_ORPHAN_NANOS = 60_000_000_000L;
    static final long DELAYED_ACK_NANOS = 40_000_000L;

    private final RttEstimator rtt = new RttEstimator();
    private final Callout retransmit;
    private final Callout persist; // armed only while nothing is in flight and queued data waits for window
    private final Callout delayedAck;
    /** Whether the delayed-ACK timer, when it fires, has an ACK to send. */
    private boolean ackOwed;
    private final Callout timeWait;
    private final Callout keepalive;
    private final Callout linger;
    private int retransmissions;
    private int persistProbes; // zero-window probes the peer has not answered
    private int persistBackoff; // probes since the window last let data out: the interval doubles with each
    private long lastHeardNanos;
    private int keepaliveProbes;
    private boolean timing; // a segment is being timed for an RTT sample
    private int timedEnd;
    private long timedSentNanos;
    private boolean retransmittedSinceAck; // for counting timestamp samples Karn would have refused

    TcpTimers(Tcp tcp) {
        lastHeardNanos = tcp.now();
        retransmit = tcp.newCallout("tcp-rto");
        persist = tcp.newCallout("tcp-persist");
        delayedAck = tcp.newCallout("tcp-delack");
        timeWait = tcp.newCallout("tcp-timewait");
        keepalive = tcp.newCallout("tcp-keepalive");
        linger = tcp.newCallout("tcp-linger");
    }

    RttEstimator rtt() {
        return rtt;
    }

    // ---- retransmission (RFC 6298) ---------------------------------------------------------------

    void armRetransmit(Runnable onTimeout) {
        retransmit.schedule(rtt.rtoNanos(), onTimeout);
    }

    void stopRetransmit() {
        retransmit.stop();
    }

    boolean retransmitPending() {
        return retransmit.isPending();
    }

    /** Timeouts since SND.UNA last advanced. */
    int retransmissions() {
        return retransmissions;
    }

    /** The retransmission timer fired: returns the timeouts now counted. */
    int retransmissionTimedOut() {
        return ++retransmissions;
    }

    /** RFC 6298 5.5: the RTO doubles; and Karn: nothing sent before now times a round trip. */
    void backOff() {
        rtt.backoff();
        timing = false;
    }

    /** SND.UNA advanced: the peer is making progress. */
    void progress() {
        retransmissions = 0;
    }

    /** The handshake completed: RFC 6298 5.7's RTO after a retransmitted SYN, and the count afresh. */
    void handshakeCompleted() {
        retransmit.stop();
        if (retransmissions > 0) {
            rtt.afterHandshakeRetransmit();
        }
        retransmissions = 0;
    }

    // ---- round-trip timing (RFC 6298 3, Karn) -----------------------------------------------------

    boolean timing() {
        return timing;
    }

    /** New data up to {@code end} went out at {@code now}, and no segment is being timed: time this one. */
    void startTiming(int end, long now) {
        timing = true;
        timedEnd = end;
        timedSentNanos = now;
    }

    /** Stop timing: a sample came from elsewhere, or a retransmission makes this one ambiguous. */
    void stopTiming() {
        timing = false;
    }

    /** Whether {@code ack} covers the segment being timed. */
    boolean timedSegmentAcked(int ack) {
        return timing && SeqNum.ge(ack, timedEnd);
    }

    /** The timed segment was acknowledged at {@code now}: one RTT sample. */
    void sampleTimedSegment(long now) {
        rtt.onSample(now - timedSentNanos, false);
        timing = false;
    }

    void retransmitted() {
        retransmittedSinceAck = true;
    }

    boolean retransmittedSinceAck() {
        return retransmittedSinceAck;
    }

    /** New data acknowledged. */
    void acked() {
        retransmittedSinceAck = false;
    }

    // ---- persist (RFC 9293 3.8.6.1) ---------------------------------------------------------------

    /** Arms the persist timer, unless it is armed: the RTO doubled per probe since data last went out. */
    void armPersist(Runnable onTimeout) {
        if (!persist.isPending()) {
            long backedOff = rtt.rtoNanos() << Math.min(persistBackoff, 20);
            persist.schedule(Math.min(RttEstimator.DEFAULT_MAX_RTO_NANOS, backedOff), onTimeout);
        }
    }

    boolean persistPending() {
        return persist.isPending();
    }

    int persistBackoff() {
        return persistBackoff;
    }

    /** The persist timer fired with the peer silent: returns the probes now unanswered. */
    int persistProbeUnanswered() {
        return ++persistProbes;
    }

    /** A zero-window probe went out: the next interval is twice as long. */
    void probeSent() {
        persistBackoff++;
    }

    /** An acceptable ACK: the peer is there. */
    void peerAnswered() {
        persistProbes = 0;
    }

    /** Data went out: no probing needed, and the backoff starts afresh. */
    void windowLetDataOut() {
        persist.stop();
        persistBackoff = 0;
    }

    // ---- delayed ACK (RFC 1122 4.2.3.2) -----------------------------------------------------------

    /**
     * Delays an ACK, unless one is delayed already. The ACK goes out when the timer fires if it is
     * still owed then; an ACK sent before only clears the debt (as BSD's TF_DELACK flag), leaving
     * the timer set. Stopping and setting the timer again for every other segment of a bulk
     * transfer cost a host timer each; an ACK that comes sooner than the delay is allowed.
     */
    void delayAck(Runnable sendAck) {
        ackOwed = true;
        if (!delayedAck.isPending()) {
            delayedAck.schedule(DELAYED_ACK_NANOS, () -> {
                if (ackOwed) {
                    sendAck.run();
                }
            });
        }
    }

    /** An ACK went out: none is owed any more. */
    void stopDelayedAck() {
        ackOwed = false;
    }

    // ---- TIME-WAIT and FIN-WAIT-2 -----------------------------------------------------------------

    void armTimeWait(Runnable onExpiry) {
        timeWait.schedule(TIME_WAIT_NANOS, onExpiry);
    }

    void armFinWait2(Runnable onExpiry) {
        timeWait.schedule(FIN_WAIT_2_ORPHAN_NANOS, onExpiry);
    }

    // ---- keepalive (RFC 1122 4.2.3.6) -------------------------------------------------------------

    void armKeepalive(long nanos, Runnable onTimeout) {
        keepalive.schedule(nanos, onTimeout);
    }

    void stopKeepalive() {
        keepalive.stop();
    }

    long lastHeardNanos() {
        return lastHeardNanos;
    }

    /** The connection became idle from {@code now} on, as if the peer had just been heard. */
    void idleFrom(long now) {
        lastHeardNanos = now;
    }

    /** An acceptable segment from the peer at {@code now}: it is alive. */
    void heard(long now) {
        lastHeardNanos = now;
        keepaliveProbes = 0;
    }

    int keepaliveProbes() {
        return keepaliveProbes;
    }

    void keepaliveProbeSent() {
        keepaliveProbes++;
    }

    // ---- SO_LINGER --------------------------------------------------------------------------------

    void armLinger(long nanos, Runnable onExpiry) {
        linger.schedule(nanos, onExpiry);
    }

    void stopLinger() {
        linger.stop();
    }

    /** The connection is closed: every timer but the linger's, which the close itself ends. */
    void stopAll() {
        retransmit.stop();
        persist.stop();
        delayedAck.stop();
        ackOwed = false;
        timeWait.stop();
        keepalive.stop();
    }

    /**
     * The timers armed, as {@code name(left ms[,backoff])} separated by commas, or "-": the
     * retransmission timer with the timeouts so far, the persist timer with its backoff.
     */
    String describe(long now) {
        StringBuilder out = new StringBuilder();
        describe(out, "rto", retransmit, now, "x" + retransmissions);
        describe(out, "persist", persist, now, "x" + persistBackoff);
        if (ackOwed) {
            describe(out, "delack", delayedAck, now, null);
        }
        describe(out, "keepalive", keepalive, now, null);
        describe(out, "timewait", timeWait, now, null);
        return out.isEmpty() ? "-" : out.toString();
    }

    private static void describe(StringBuilder out, String name, Callout timer, long now, String backoff) {
        if (timer.isPending()) {
            out.append(out.isEmpty() ? "" : ",").append(name).append('(')
                    .append(Math.max(0, timer.deadlineNanos() - now) / 1_000_000).append("ms")
                    .append(backoff != null ? "," + backoff : "").append(')');
        }
    }
}
