package io.jrump.net.stack;

import static io.jrump.net.wire.TcpSegment.ACK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.wire.TcpRepr;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Segment acceptance as RFC 9293 3.10.7.4 states it, one row per case, driven by a
 * {@link ScriptedPeer}. The stack under test has sent 3,000 bytes the peer has not acknowledged
 * (SND.UNA = U, SND.NXT = U + 3000, the peer's window 20,000) and offers an 8,000-byte buffer:
 * with the window OPEN the peer has sent 1,000 bytes into it (RCV.WND 7,000), with it ZERO it has
 * filled it. Then the peer sends one segment — no text or 10 bytes; its sequence number BEFORE the
 * window (RCV.NXT - 500), STRADDLING its left edge (RCV.NXT - 5), AT RCV.NXT, INSIDE it
 * (RCV.NXT + 100) or AFTER it (past RCV.NXT + RCV.WND); its ACK TOO_OLD (below SND.UNA -
 * MAX.SND.WND, RFC 5961 5.2), OLD (SND.UNA - 100), at SND.UNA, PARTIAL (SND.UNA + 1000), at
 * SND.NXT, or ABOVE it; its window 30,000 — and the row says what must follow within 60 ms:
 *
 * <ul>
 *   <li>the reply: NONE, or one ACK (no text, ACK = the new RCV.NXT, SEQ = SND.NXT, which the
 *       peer can accept);</li>
 *   <li>how far RCV.NXT moved, where SND.UNA went, whether the segment's window was taken (NEW)
 *       or not (OLD), whether the retransmission timer is still ARMED or STOPPED;</li>
 *   <li>the drop counted on the connection, by reason, or none.</li>
 * </ul>
 *
 * <p>The rules the table encodes: an unacceptable segment is answered with an ACK and dropped; an
 * ACK of unsent data or one too old (RFC 5961) likewise; an old ACK is ignored but the text is
 * processed; a window is taken from an ACK at or above SND.UNA; with RCV.WND zero, a segment the
 * table refuses is still processed for a valid ACK and its window ("special allowance should be
 * made to accept valid ACKs, URGs, and RSTs"), its text dropped and an ACK sent back (a ZERO row
 * with a zero_window drop).
 */
class TcpSegmentAcceptanceTest {
    static final int BUFFER = 8000;
    static final int IN_FLIGHT = 3000;
    static final int OLD_WINDOW = 20000;
    static final int NEW_WINDOW = 30000;

    @ParameterizedTest(name = "RCV.WND {0}, SEG.LEN {1}, SEQ {2}, ACK {3} -> reply {4}")
    @CsvSource({
        "OPEN,  0, BEFORE  , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN,  0, BEFORE  , OLD    , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN,  0, BEFORE  , UNA    , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN,  0, BEFORE  , PARTIAL, ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN,  0, BEFORE  , NXT    , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN,  0, BEFORE  , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN,  0, AT      , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , ack_too_old",
        "OPEN,  0, AT      , OLD    , NONE,  0, SAME   , OLD, ARMED  , -",
        "OPEN,  0, AT      , UNA    , NONE,  0, SAME   , NEW, ARMED  , -",
        "OPEN,  0, AT      , PARTIAL, NONE,  0, PARTIAL, NEW, ARMED  , -",
        "OPEN,  0, AT      , NXT    , NONE,  0, NXT    , NEW, STOPPED, -",
        "OPEN,  0, AT      , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , ack_unsent",
        "OPEN,  0, INSIDE  , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , ack_too_old",
        "OPEN,  0, INSIDE  , OLD    , NONE,  0, SAME   , OLD, ARMED  , -",
        "OPEN,  0, INSIDE  , UNA    , NONE,  0, SAME   , NEW, ARMED  , -",
        "OPEN,  0, INSIDE  , PARTIAL, NONE,  0, PARTIAL, NEW, ARMED  , -",
        "OPEN,  0, INSIDE  , NXT    , NONE,  0, NXT    , NEW, STOPPED, -",
        "OPEN,  0, INSIDE  , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , ack_unsent",
        "OPEN,  0, AFTER   , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN,  0, AFTER   , OLD    , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN,  0, AFTER   , UNA    , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN,  0, AFTER   , PARTIAL, ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN,  0, AFTER   , NXT    , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN,  0, AFTER   , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN, 10, BEFORE  , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN, 10, BEFORE  , OLD    , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN, 10, BEFORE  , UNA    , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN, 10, BEFORE  , PARTIAL, ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN, 10, BEFORE  , NXT    , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN, 10, BEFORE  , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN, 10, STRADDLE, TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , ack_too_old",
        "OPEN, 10, STRADDLE, OLD    , ACK ,  5, SAME   , OLD, ARMED  , -",
        "OPEN, 10, STRADDLE, UNA    , ACK ,  5, SAME   , NEW, ARMED  , -",
        "OPEN, 10, STRADDLE, PARTIAL, ACK ,  5, PARTIAL, NEW, ARMED  , -",
        "OPEN, 10, STRADDLE, NXT    , ACK ,  5, NXT    , NEW, STOPPED, -",
        "OPEN, 10, STRADDLE, ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , ack_unsent",
        "OPEN, 10, AT      , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , ack_too_old",
        "OPEN, 10, AT      , OLD    , ACK , 10, SAME   , OLD, ARMED  , -",
        "OPEN, 10, AT      , UNA    , ACK , 10, SAME   , NEW, ARMED  , -",
        "OPEN, 10, AT      , PARTIAL, ACK , 10, PARTIAL, NEW, ARMED  , -",
        "OPEN, 10, AT      , NXT    , ACK , 10, NXT    , NEW, STOPPED, -",
        "OPEN, 10, AT      , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , ack_unsent",
        "OPEN, 10, INSIDE  , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , ack_too_old",
        "OPEN, 10, INSIDE  , OLD    , ACK ,  0, SAME   , OLD, ARMED  , -",
        "OPEN, 10, INSIDE  , UNA    , ACK ,  0, SAME   , NEW, ARMED  , -",
        "OPEN, 10, INSIDE  , PARTIAL, ACK ,  0, PARTIAL, NEW, ARMED  , -",
        "OPEN, 10, INSIDE  , NXT    , ACK ,  0, NXT    , NEW, STOPPED, -",
        "OPEN, 10, INSIDE  , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , ack_unsent",
        "OPEN, 10, AFTER   , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN, 10, AFTER   , OLD    , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN, 10, AFTER   , UNA    , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN, 10, AFTER   , PARTIAL, ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN, 10, AFTER   , NXT    , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "OPEN, 10, AFTER   , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , out_of_window",
        "ZERO,  0, BEFORE  , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , ack_too_old",
        "ZERO,  0, BEFORE  , OLD    , ACK ,  0, SAME   , OLD, ARMED  , zero_window",
        "ZERO,  0, BEFORE  , UNA    , ACK ,  0, SAME   , NEW, ARMED  , zero_window",
        "ZERO,  0, BEFORE  , PARTIAL, ACK ,  0, PARTIAL, NEW, ARMED  , zero_window",
        "ZERO,  0, BEFORE  , NXT    , ACK ,  0, NXT    , NEW, STOPPED, zero_window",
        "ZERO,  0, BEFORE  , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , ack_unsent",
        "ZERO,  0, AT      , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , ack_too_old",
        "ZERO,  0, AT      , OLD    , NONE,  0, SAME   , OLD, ARMED  , -",
        "ZERO,  0, AT      , UNA    , NONE,  0, SAME   , NEW, ARMED  , -",
        "ZERO,  0, AT      , PARTIAL, NONE,  0, PARTIAL, NEW, ARMED  , -",
        "ZERO,  0, AT      , NXT    , NONE,  0, NXT    , NEW, STOPPED, -",
        "ZERO,  0, AT      , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , ack_unsent",
        "ZERO,  0, AFTER   , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , ack_too_old",
        "ZERO,  0, AFTER   , OLD    , ACK ,  0, SAME   , OLD, ARMED  , zero_window",
        "ZERO,  0, AFTER   , UNA    , ACK ,  0, SAME   , NEW, ARMED  , zero_window",
        "ZERO,  0, AFTER   , PARTIAL, ACK ,  0, PARTIAL, NEW, ARMED  , zero_window",
        "ZERO,  0, AFTER   , NXT    , ACK ,  0, NXT    , NEW, STOPPED, zero_window",
        "ZERO,  0, AFTER   , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , ack_unsent",
        "ZERO, 10, BEFORE  , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , ack_too_old",
        "ZERO, 10, BEFORE  , OLD    , ACK ,  0, SAME   , OLD, ARMED  , zero_window",
        "ZERO, 10, BEFORE  , UNA    , ACK ,  0, SAME   , NEW, ARMED  , zero_window",
        "ZERO, 10, BEFORE  , PARTIAL, ACK ,  0, PARTIAL, NEW, ARMED  , zero_window",
        "ZERO, 10, BEFORE  , NXT    , ACK ,  0, NXT    , NEW, STOPPED, zero_window",
        "ZERO, 10, BEFORE  , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , ack_unsent",
        "ZERO, 10, STRADDLE, TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , ack_too_old",
        "ZERO, 10, STRADDLE, OLD    , ACK ,  0, SAME   , OLD, ARMED  , zero_window",
        "ZERO, 10, STRADDLE, UNA    , ACK ,  0, SAME   , NEW, ARMED  , zero_window",
        "ZERO, 10, STRADDLE, PARTIAL, ACK ,  0, PARTIAL, NEW, ARMED  , zero_window",
        "ZERO, 10, STRADDLE, NXT    , ACK ,  0, NXT    , NEW, STOPPED, zero_window",
        "ZERO, 10, STRADDLE, ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , ack_unsent",
        "ZERO, 10, AT      , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , ack_too_old",
        "ZERO, 10, AT      , OLD    , ACK ,  0, SAME   , OLD, ARMED  , zero_window",
        "ZERO, 10, AT      , UNA    , ACK ,  0, SAME   , NEW, ARMED  , zero_window",
        "ZERO, 10, AT      , PARTIAL, ACK ,  0, PARTIAL, NEW, ARMED  , zero_window",
        "ZERO, 10, AT      , NXT    , ACK ,  0, NXT    , NEW, STOPPED, zero_window",
        "ZERO, 10, AT      , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , ack_unsent",
        "ZERO, 10, AFTER   , TOO_OLD, ACK ,  0, SAME   , OLD, ARMED  , ack_too_old",
        "ZERO, 10, AFTER   , OLD    , ACK ,  0, SAME   , OLD, ARMED  , zero_window",
        "ZERO, 10, AFTER   , UNA    , ACK ,  0, SAME   , NEW, ARMED  , zero_window",
        "ZERO, 10, AFTER   , PARTIAL, ACK ,  0, PARTIAL, NEW, ARMED  , zero_window",
        "ZERO, 10, AFTER   , NXT    , ACK ,  0, NXT    , NEW, STOPPED, zero_window",
        "ZERO, 10, AFTER   , ABOVE  , ACK ,  0, SAME   , OLD, ARMED  , ack_unsent",
    })
    void aSegmentHasTheEffectRfc9293Gives(String rcvWnd, int len, String seqAt, String ackAt, String reply,
            int rcvNxtAdvance, String sndUnaAfter, String windowTaken, String retransmitTimer, String dropReason)
            throws Exception {
        ScriptedPeer peer = new ScriptedPeer(9293);
        ScriptedPeer.Connection conn = peer.open(OLD_WINDOW, BUFFER);
        Sockets s = peer.sockets();
        TcpConnection c = s.connectionOf(conn.fd);
        s.send(conn.fd, ByteBuffer.wrap(new byte[IN_FLIGHT]), 0);
        int una = s.onLoop(() -> c.snd.una());
        assertEquals(IN_FLIGHT, count(peer.run(1)), "the stack sent its 3000 bytes");
        int fill = rcvWnd.equals("ZERO") ? BUFFER : 1000;
        for (int sent = 0; sent < fill; sent += 1000) {
            peer.send(ScriptedPeer.segment(conn.peerNxt, una, ACK, OLD_WINDOW, 1000));
            conn.peerNxt += 1000;
        }
        peer.run(50); // the stack's (delayed) ACKs
        int rcvNxt = s.onLoop(() -> c.rcv.nxt());
        long window = s.onLoop(c.rcv::wnd);
        assertEquals(rcvWnd.equals("ZERO") ? 0 : BUFFER - 1000, window, "RCV.WND before the segment");
        assertEquals(conn.peerNxt, rcvNxt);

        int seq = switch (seqAt) {
            case "BEFORE" -> rcvNxt - 500;
            case "STRADDLE" -> rcvNxt - 5;
            case "AT" -> rcvNxt;
            case "INSIDE" -> rcvNxt + 100;
            case "AFTER" -> rcvNxt + (int) window + 100;
            default -> throw new AssertionError(seqAt);
        };
        int ack = switch (ackAt) {
            case "TOO_OLD" -> una - OLD_WINDOW - 10000;
            case "OLD" -> una - 100;
            case "UNA" -> una;
            case "PARTIAL" -> una + 1000;
            case "NXT" -> una + IN_FLIGHT;
            case "ABOVE" -> una + IN_FLIGHT + 1000;
            default -> throw new AssertionError(ackAt);
        };
        peer.send(ScriptedPeer.segment(seq, ack, ACK, NEW_WINDOW, len));
        List<TcpRepr> replies = peer.run(60);

        String what = rcvWnd + " " + len + " " + seqAt + " " + ackAt + ": ";
        if (reply.equals("NONE")) {
            assertEquals(List.of(), replies, what + "no reply");
        } else {
            TcpRepr r = ScriptedPeer.only(replies);
            assertEquals(ACK, r.flags(), what + "a plain ACK: " + r);
            assertEquals(0, r.payload().readableBytes(), what + r);
            assertEquals(rcvNxt + rcvNxtAdvance, r.acknowledgmentNumber(), what + "ACK = RCV.NXT");
            assertEquals(una + IN_FLIGHT, r.sequenceNumber(), what + "SEQ = SND.NXT, acceptable to the peer");
        }
        assertEquals(rcvNxt + rcvNxtAdvance, (int) s.onLoop(() -> c.rcv.nxt()), what + "RCV.NXT");
        int expectedUna = switch (sndUnaAfter) {
            case "SAME" -> una;
            case "PARTIAL" -> una + 1000;
            case "NXT" -> una + IN_FLIGHT;
            default -> throw new AssertionError(sndUnaAfter);
        };
        assertEquals(expectedUna, (int) s.onLoop(() -> c.snd.una()), what + "SND.UNA");
        assertEquals(windowTaken.equals("NEW") ? NEW_WINDOW : OLD_WINDOW, (long) s.onLoop(() -> c.snd.wnd()),
                what + "SND.WND");
        assertEquals(retransmitTimer.equals("ARMED"), s.onLoop(c.timers::retransmitPending),
                what + "retransmission timer");
        Map<String, Long> drops = s.onLoop(() -> Map.copyOf(c.drops));
        assertEquals(dropReason.equals("-") ? Map.of() : Map.of(dropReason, 1L), drops, what + "drops");
        assertTrue(s.onLoop(() -> c.state) == TcpConnection.State.ESTABLISHED, what + "still established");
    }

    private static int count(List<TcpRepr> segments) {
        return segments.stream().mapToInt(t -> t.payload().readableBytes()).sum();
    }
}
