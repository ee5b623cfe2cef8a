package io.jrump.net.stack;

import io.jrump.net.tcp.SeqNum;

/**
 * The receive sequence variables of one connection (RFC 9293 3.3.1): IRS, RCV.NXT and RCV.WND, with
 * our window shift (RFC 7323) and RFC 7323's Last.ACK.sent. RCV.WND is not stored: it is what is
 * left up to the furthest right edge offered, and segments are judged against that edge, not
 * against the buffer space, which may have grown since without the peer knowing.
 *
 * <p>Invariants: RCV.NXT never moves back; once the peer's SYN is acknowledged, the right edge
 * offered never moves back either (RFC 9293 3.8.6.2.2: the window is not shrunk), and RCV.WND is
 * never negative (a FIN taken at a zero window puts RCV.NXT one past the edge; RCV.WND is then 0);
 * the shift is 0 to 14. Event loop only; not thread-safe.
 */
final class ReceiveSequence {
    private int irs;
    private int nxt;
    private int edge; // the furthest right edge offered (RCV.NXT + window): where the peer may send up to
    private int synWindow; // the (unscaled) window our SYN offered, until the SYN-ACK tells us RCV.NXT
    private int scale;
    private int lastAckSent;

    /** The peer's SYN arrived with sequence number {@code irs}: RCV.NXT = IRS + 1. */
    void open(int irs) {
        this.irs = irs;
        nxt = irs + 1;
    }

    /**
     * A connection from a SYN cookie: the handshake's last ACK came at {@code seq}, the peer's ISN + 1,
     * and the cookie's SYN-ACK offered {@code window}.
     */
    void openFromCookie(int seq, int window) {
        irs = seq - 1;
        nxt = seq;
        edge = SeqNum.add(nxt, window);
    }

    int irs() {
        return irs;
    }

    int nxt() {
        return nxt;
    }

    /** Our window shift, if the peer agreed to scaling. */
    int scale() {
        return scale;
    }

    void scale(int shift) {
        if (shift < 0 || shift > 14) {
            throw new IllegalArgumentException("receive window shift " + shift);
        }
        scale = shift;
    }

    /** RCV.WND: the window offered, from RCV.NXT to the furthest right edge sent. */
    long wnd() {
        return Math.max(0, SeqNum.diff(edge, nxt));
    }

    /** Our SYN offers {@code window} (a SYN's window is never scaled); a SYN-ACK also sets the edge from it. */
    void synOffered(int window, boolean synAck) {
        synWindow = window;
        if (synAck) {
            edge = SeqNum.add(nxt, synWindow);
        }
    }

    /** The peer's SYN-ACK told us RCV.NXT: the edge is where our SYN's window put it. */
    void synWindowTaken() {
        edge = SeqNum.add(nxt, synWindow);
    }

    /** Whether a segment of {@code len} at {@code seq} is acceptable: RFC 9293 3.10.7.4's table, exactly. */
    boolean acceptable(int seq, int len) {
        long wnd = wnd();
        if (len == 0) {
            return wnd == 0 ? seq == nxt : SeqNum.le(nxt, seq) && SeqNum.lt(seq, SeqNum.add(nxt, wnd));
        }
        if (wnd == 0) {
            return false;
        }
        int last = seq + len - 1;
        return (SeqNum.le(nxt, seq) && SeqNum.lt(seq, SeqNum.add(nxt, wnd)))
                || (SeqNum.le(nxt, last) && SeqNum.lt(last, SeqNum.add(nxt, wnd)));
    }

    /** In-order bytes taken: RCV.NXT moves up to {@code seq}. */
    void advanceTo(int seq) {
        if (SeqNum.lt(seq, nxt)) {
            throw new IllegalStateException("RCV.NXT back from " + Integer.toUnsignedString(nxt) + " to "
                    + Integer.toUnsignedString(seq));
        }
        nxt = seq;
    }

    /** The peer's FIN taken: it takes one sequence number. */
    void finTaken() {
        nxt = nxt + 1;
    }

    /**
     * The window field to send. The right edge stays where it was offered and moves right only when
     * {@code free} buffer space exceeds it by {@code useful} bytes (receiver-side SWS avoidance, RFC
     * 1122 4.2.3.3). With a shift, the field is rounded down: it may retract the edge by less than a
     * unit, and {@link #wnd()} still judges by the edge offered before (RFC 7323 appendix F).
     */
    int windowField(long free, long useful) {
        long offered = wnd();
        long window = free - offered >= useful ? free : offered;
        return (int) Math.min(65535, window >> scale);
    }

    /** A segment goes out with window field {@code window}: the edge moves right if that offers more, never back. */
    void advertised(int window) {
        int offered = SeqNum.add(nxt, window << scale);
        if (SeqNum.gt(offered, edge)) {
            edge = offered;
        }
    }

    /** An ACK goes out: RFC 7323's Last.ACK.sent = RCV.NXT. */
    void ackSent() {
        lastAckSent = nxt;
    }

    /** RFC 7323's Last.ACK.sent: the RCV.NXT of the last ACK sent. */
    int lastAckSent() {
        return lastAckSent;
    }

    @Override
    public String toString() {
        return "RCV.NXT=" + Integer.toUnsignedString(nxt) + " RCV.WND=" + wnd();
    }
}
