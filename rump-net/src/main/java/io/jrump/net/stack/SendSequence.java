package io.jrump.net.stack;

import io.jrump.net.tcp.SeqNum;

/**
 * The send sequence variables of one connection (RFC 9293 3.3.1): ISS, SND.UNA, SND.NXT, SND.WND
 * and the segment that last set it (SND.WL1, SND.WL2), with the peer's window shift (RFC 7323).
 * Beside them what RFC 9293 leaves implicit: SND.MAX, the highest sequence number sent, which a
 * retransmission timeout does not wind back with SND.NXT; the largest window the peer has offered
 * (RFC 1122 4.2.3.4's Max(SND.WND)); and where our FIN sits once sent.
 *
 * <p>Invariants, in sequence space: SND.UNA ≤ SND.NXT ≤ SND.MAX, checked whenever one of them
 * moves; SND.UNA and SND.MAX never move back; 0 ≤ SND.WND ≤ the largest window offered; the shift
 * is 0 to 14. Event loop only; not thread-safe.
 */
final class SendSequence {
    private int iss;
    private int una;
    private int nxt;
    private int max;
    private long wnd;
    private long maxWnd;
    private int wl1;
    private int wl2;
    private int scale;
    private boolean finSent;
    private int finSeq;

    /** ISS chosen: nothing sent yet, SND.UNA = SND.NXT = SND.MAX = ISS. */
    void open(int iss) {
        this.iss = iss;
        una = iss;
        nxt = iss;
        max = iss;
    }

    /** A connection from a SYN cookie: the handshake's last ACK acknowledged {@code ack}, our ISS + 1. */
    void openFromCookie(int ack) {
        iss = ack - 1;
        una = ack;
        nxt = ack;
        max = ack;
    }

    int iss() {
        return iss;
    }

    int una() {
        return una;
    }

    int nxt() {
        return nxt;
    }

    int max() {
        return max;
    }

    /** SND.WND, scaled. */
    long wnd() {
        return wnd;
    }

    /** The largest window the peer has offered. */
    long maxWnd() {
        return maxWnd;
    }

    /** The peer's window shift. */
    int scale() {
        return scale;
    }

    void scale(int shift) {
        if (shift < 0 || shift > 14) {
            throw new IllegalArgumentException("send window shift " + shift);
        }
        scale = shift;
    }

    /** Our SYN went out: it takes ISS, so SND.NXT = ISS + 1. */
    void synSent() {
        nxt = iss + 1;
        max = SeqNum.max(max, nxt);
        check();
    }

    /** {@code n} more sequence numbers sent from SND.NXT (data, or the FIN's one). */
    void sent(int n) {
        nxt = SeqNum.add(nxt, n);
        max = SeqNum.max(max, nxt);
        check();
    }

    /** Our FIN takes SND.NXT; the caller sends it, then counts its sequence number with {@link #sent}. */
    void finAt() {
        finSeq = nxt;
        finSent = true;
    }

    boolean finSent() {
        return finSent;
    }

    /** The FIN's sequence number; meaningful only once {@link #finSent()}. */
    int finSeq() {
        return finSeq;
    }

    /** Whether an acknowledgment of {@code ack} covers our FIN. */
    boolean finAcked(int ack) {
        return finSent && SeqNum.ge(ack, finSeq + 1);
    }

    /**
     * A new acknowledgment: SND.UNA moves up to {@code ack}, and SND.NXT with it where a timeout had
     * wound it back below.
     */
    void acknowledge(int ack) {
        if (SeqNum.lt(ack, una) || SeqNum.gt(ack, max)) {
            throw new IllegalStateException("ACK " + Integer.toUnsignedString(ack) + " outside " + this);
        }
        una = ack;
        if (SeqNum.lt(nxt, una)) {
            nxt = una;
        }
        check();
    }

    /** Go back after a retransmission timeout: everything past SND.UNA counts as unsent. */
    void goBack() {
        nxt = una;
    }

    /** A retransmission from SND.UNA reached {@code end}: SND.NXT is at least there. */
    void retransmittedTo(int end) {
        nxt = SeqNum.max(nxt, end);
        check();
    }

    /** SND.NXT skips bytes the peer has SACKed, up to {@code seq}. */
    void skipTo(int seq) {
        nxt = seq;
        check();
    }

    /** Bytes sent and not yet acknowledged, from SND.UNA to SND.NXT. */
    long inFlight() {
        return Math.max(0, SeqNum.diff(nxt, una));
    }

    /** Whether everything sent is acknowledged: SND.UNA = SND.MAX. */
    boolean allAcknowledged() {
        return una == max;
    }

    /** Whether {@code ack} acknowledges something never sent. */
    boolean acksUnsent(int ack) {
        return SeqNum.gt(ack, max);
    }

    /** RFC 5961 5.2: {@code ack} lies further below SND.UNA than any window the peer has offered. */
    boolean ackTooOld(int ack) {
        return SeqNum.lt(ack, SeqNum.add(una, (int) -Math.min(maxWnd, Integer.MAX_VALUE)));
    }

    /**
     * How much of {@code n} bytes from {@code seq} lies inside the peer's window. RFC 9293 3.8.6.2.2:
     * when the peer shrank its window, retransmit the old data between SND.UNA and SND.UNA+SND.WND;
     * a zero window is probed, never sent into.
     */
    int withinWindow(int seq, int n) {
        long room = Math.min(wnd, Integer.MAX_VALUE) - SeqNum.diff(seq, una);
        return (int) Math.max(0, Math.min(n, room));
    }

    /** The peer's window from a segment that does not move SND.WL1/WL2: a SYN's, never scaled. */
    void window(long window) {
        if (window < 0) {
            throw new IllegalArgumentException("send window " + window);
        }
        wnd = window;
        maxWnd = Math.max(maxWnd, window);
    }

    /** The window update of RFC 9293 3.10.7.4: SND.WND from the segment, SND.WL1 = SEG.SEQ, SND.WL2 = SEG.ACK. */
    void updateWindow(long window, int seq, int ack) {
        window(window);
        wl1 = seq;
        wl2 = ack;
    }

    /** RFC 9293's test for a newer window: SND.WL1 < SEG.SEQ, or SND.WL1 = SEG.SEQ and SND.WL2 ≤ SEG.ACK. */
    boolean newerWindow(int seq, int ack) {
        return SeqNum.lt(wl1, seq) || wl1 == seq && SeqNum.le(wl2, ack);
    }

    private void check() {
        if (SeqNum.gt(una, nxt) || SeqNum.gt(nxt, max)) {
            throw new IllegalStateException("send sequence out of order: " + this);
        }
    }

    @Override
    public String toString() {
        return "SND.UNA=" + Integer.toUnsignedString(una) + " SND.NXT=" + Integer.toUnsignedString(nxt)
                + " SND.MAX=" + Integer.toUnsignedString(max) + " SND.WND=" + wnd;
    }
}
