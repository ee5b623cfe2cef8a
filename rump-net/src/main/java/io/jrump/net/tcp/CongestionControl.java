package io.jrump.net.tcp;

/**
 * A sender's congestion control: how many bytes it may have in flight ({@link #cwnd()}), and how that changes with
 * ACKs, duplicate ACKs and timeouts. The connection tells it what happened; it never sends anything itself, and it
 * answers with booleans when the connection must retransmit.
 *
 * <p>Loss recovery follows RFC 5681 section 3.2 with the NewReno modification of RFC 6582 for every implementation
 * (RFC 9438 leaves fast recovery to them): the third duplicate ACK starts fast retransmit if the ACK covers the
 * {@code recover} point; a partial ACK during recovery asks for the next hole to be retransmitted; a full ACK ends
 * recovery. Implementations differ in how the window grows and how much it shrinks.
 *
 * <p>Sizes are in bytes, sequence numbers as in {@link SeqNum}, time in the caller's nanoseconds.
 * Not thread-safe: owned by one connection on the event loop. Never blocks; broken preconditions throw
 * {@link IllegalArgumentException}.
 */
public interface CongestionControl {
    /** RFC 5681 DupThresh. */
    int DUP_THRESH = 3;

    /** The name Linux's {@code tcp_congestion_control} uses: "reno", "cubic". */
    String name();

    /** The sender maximum segment size the window is counted in. */
    int mss();

    /** The congestion window. */
    long cwnd();

    /** The slow-start threshold; {@link Long#MAX_VALUE} until the first loss. */
    long ssthresh();

    /** Whether fast recovery is in progress. */
    boolean inRecovery();

    /**
     * A cumulative ACK advanced snd.una to {@code ack}, acknowledging {@code ackedBytes} new bytes.
     *
     * @param rttNanos the smoothed RTT, or 0 if unknown (CUBIC uses it to look one RTT ahead)
     * @param inFlightBytes the bytes still outstanding after this ACK
     * @return true on a partial ACK during recovery (RFC 6582 3.2 step 3): the caller must retransmit the first
     *     unacknowledged segment now (and restart its retransmission timer if this is the first partial ACK)
     */
    boolean onAck(int ack, long ackedBytes, long rttNanos, long nowNanos, long inFlightBytes);

    /**
     * A duplicate ACK (RFC 5681's definition) for {@code ack}; {@code sndNxt} is the next sequence number to send.
     *
     * @return true when the caller must fast-retransmit the first unacknowledged segment now
     */
    boolean onDupAck(int ack, int sndNxt, long inFlightBytes, long nowNanos);

    /**
     * Enters fast recovery now, for a loss detected some other way (SACK scoreboard); {@link #onDupAck} calls this
     * itself on the third duplicate ACK. {@code recover} becomes {@code sndNxt}.
     */
    void onEnterRecovery(int sndNxt, long inFlightBytes, long nowNanos);

    /** Leaves fast recovery (a full ACK does this itself), deflating the window per RFC 6582 3.2 step 3. */
    void onExitRecovery(long inFlightBytes, long nowNanos);

    /**
     * The retransmission timer expired (RFC 5681 3.1): the window drops to one segment and recovery ends. A repeated
     * timeout without an ACK in between keeps ssthresh.
     */
    void onRetransmitTimeout(int sndNxt, long inFlightBytes, long nowNanos);
}
