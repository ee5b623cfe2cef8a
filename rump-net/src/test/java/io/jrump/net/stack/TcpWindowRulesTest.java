package io.jrump.net.stack;

import static io.jrump.net.wire.TcpSegment.ACK;
import static io.jrump.net.wire.TcpSegment.RST;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.tcp.SeqNum;
import io.jrump.net.wire.TcpRepr;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The window rules around segment acceptance, each driven by a {@link ScriptedPeer}: zero-window
 * probing (zero-length probes at SND.UNA - 1, which take no sequence space, on a persist timer
 * that backs off), a peer that shrinks its window (RFC 9293 3.8.6.2.2: cope — retransmit only up
 * to the new edge, probe a window shrunk to zero, never time out for it), sender- and
 * receiver-side silly window syndrome avoidance, a right edge that never moves left, window
 * updates a blocked sender must not miss, the rate limit on replies to unacceptable segments, and
 * PAWS (RFC 7323 5).
 */
class TcpWindowRulesTest {
    private static int payload(List<TcpRepr> segments) {
        return segments.stream().mapToInt(t -> t.payload().readableBytes()).sum();
    }

    private static List<TcpRepr> withData(List<TcpRepr> segments) {
        return segments.stream().filter(t -> t.payload().readableBytes() > 0).toList();
    }

    /** A peer with the stack's 3,000 bytes in flight, not acknowledged; returns SND.UNA. */
    private static int inFlight(ScriptedPeer peer, ScriptedPeer.Connection conn, int bytes) throws Exception {
        Sockets s = peer.sockets();
        TcpConnection c = s.connectionOf(conn.fd);
        int una = s.onLoop(() -> c.snd.una());
        s.send(conn.fd, ByteBuffer.wrap(new byte[bytes]), 0);
        assertEquals(bytes, payload(peer.run(1)));
        return una;
    }

    @Test
    void aZeroWindowIsProbedWithZeroLengthProbesThatBackOffAndDataFlowsWhenItOpens() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(1);
        ScriptedPeer.Connection conn = peer.open(20000, 0);
        Sockets s = peer.sockets();
        TcpConnection c = s.connectionOf(conn.fd);
        int una = inFlight(peer, conn, 3000);
        // The peer takes the 3,000 bytes and shuts its window; the application queues 5,000 more.
        peer.send(ScriptedPeer.segment(conn.peerNxt, una + 3000, ACK, 0, 0));
        peer.run(1);
        s.send(conn.fd, ByteBuffer.wrap(new byte[5000]), 0);
        List<Long> probeTimes = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            List<TcpRepr> out = List.of();
            while (out.isEmpty()) {
                out = peer.run(10);
            }
            TcpRepr probe = ScriptedPeer.only(out);
            assertEquals(0, probe.payload().readableBytes(), "a zero-length probe, no data into the window: " + probe);
            assertEquals(una + 3000 - 1, probe.sequenceNumber(), "at SND.UNA - 1: it takes no sequence space");
            probeTimes.add(peer.world.now());
            peer.send(ScriptedPeer.segment(conn.peerNxt, una + 3000, ACK, 0, 0)); // answered: still shut
        }
        for (int i = 2; i < probeTimes.size(); i++) {
            long before = probeTimes.get(i - 1) - probeTimes.get(i - 2);
            long now = probeTimes.get(i) - probeTimes.get(i - 1);
            assertTrue(now >= before * 19 / 10 || now >= 119_000_000_000L, "the persist timer backs off: " + probeTimes);
        }
        assertEquals(8, (long) s.onLoop(() -> c.probesSent));
        assertEquals(TcpConnection.State.ESTABLISHED, s.onLoop(() -> c.state), "answered probes keep the connection");
        // The window opens in the answer to a probe: data flows at once, the probes stop.
        List<TcpRepr> out = List.of();
        while (out.isEmpty()) {
            out = peer.run(10);
        }
        peer.send(ScriptedPeer.segment(conn.peerNxt, una + 3000, ACK, 20000, 0));
        assertEquals(5000, payload(peer.run(5)), "the queued data went out as soon as the window opened");
        assertEquals(false, s.onLoop(c.timers::persistPending));
    }

    @Test
    void aWindowShrunkToZeroUnderDataInFlightIsProbedNeverRetransmittedIntoAndNeverTimesOut() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(2);
        ScriptedPeer.Connection conn = peer.open(20000, 0);
        Sockets s = peer.sockets();
        TcpConnection c = s.connectionOf(conn.fd);
        int una = inFlight(peer, conn, 3000);
        // The peer takes only the first 1,000 bytes and shuts its window: 2,000 now lie beyond it.
        peer.send(ScriptedPeer.segment(conn.peerNxt, una + 1000, ACK, 0, 0));
        for (int minute = 0; minute < 10; minute++) {
            List<TcpRepr> out = peer.run(60_000);
            assertEquals(List.of(), withData(out), "nothing sent into a zero window");
            for (TcpRepr t : out) {
                // Probes (SND.UNA - 1, no sequence space) and ACKs (SND.MAX, never a number wound back).
                assertTrue(t.sequenceNumber() == una + 1000 - 1 || t.sequenceNumber() == una + 3000, t.toString());
                peer.send(ScriptedPeer.segment(conn.peerNxt, una + 1000, ACK, 0, 0));
            }
        }
        assertEquals(TcpConnection.State.ESTABLISHED, s.onLoop(() -> c.state), "a shrunk window is no reason to give up");
        assertTrue(s.onLoop(() -> c.probesSent) >= 5, "probed: " + s.onLoop(() -> c.probesSent));
        assertEquals(0, peer.stack.stats().get("tcp.timeout"));
        peer.send(ScriptedPeer.segment(conn.peerNxt, una + 1000, ACK, 20000, 0));
        List<TcpRepr> resent = withData(peer.run(5));
        assertEquals(2000, payload(resent), "the 2,000 bytes are sent again once the window opens");
        assertEquals(una + 1000, resent.get(0).sequenceNumber());
    }

    @Test
    void aWindowShrunkPartlyIsRetransmittedOnlyUpToItsNewEdge() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(3);
        ScriptedPeer.Connection conn = peer.open(20000, 0);
        int una = inFlight(peer, conn, 3000);
        peer.send(ScriptedPeer.segment(conn.peerNxt, una, ACK, 500, 0)); // nothing acknowledged, 500 bytes of window
        List<TcpRepr> out = List.of();
        while (withData(out).isEmpty()) {
            out = peer.run(50);
        }
        TcpRepr rxt = ScriptedPeer.only(withData(out));
        assertEquals(una, rxt.sequenceNumber());
        assertEquals(500, rxt.payload().readableBytes(), "the retransmission stops at SND.UNA + SND.WND");
    }

    @Test
    void senderSideSwsAvoidanceWaitsForAUsefulWindowThenThePersistTimerOverrides() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(4);
        ScriptedPeer.Connection conn = peer.open(20000, 0);
        Sockets s = peer.sockets();
        int una = inFlight(peer, conn, 3000);
        // All acknowledged, 300 bytes of window: less than an MSS and less than half the largest window.
        peer.send(ScriptedPeer.segment(conn.peerNxt, una + 3000, ACK, 300, 0));
        peer.run(1);
        s.send(conn.fd, ByteBuffer.wrap(new byte[5000]), 0);
        assertEquals(List.of(), withData(peer.run(100)), "no silly small segment (RFC 1122 4.2.3.4)");
        List<TcpRepr> out = List.of();
        while (withData(out).isEmpty()) {
            out = peer.run(50);
        }
        assertEquals(300, payload(out), "the persist timer's override sends what fits");
        assertEquals(1, peer.stack.stats().get("tcp.persist.sws_override"));
    }

    @Test
    void receiverSideSwsAvoidanceOpensAShutWindowOnlyByAUsefulAmount() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(5);
        ScriptedPeer.Connection conn = peer.open(20000, 8000);
        Sockets s = peer.sockets();
        TcpConnection c = s.connectionOf(conn.fd);
        for (int i = 0; i < 8; i++) {
            peer.send(ScriptedPeer.segment(conn.peerNxt, conn.peerRcvNxt, ACK, 20000, 1000));
            conn.peerNxt += 1000;
        }
        peer.run(50);
        assertEquals(0, (long) s.onLoop(c.rcv::wnd), "the window is shut");
        s.recv(conn.fd, ByteBuffer.allocate(100), 0);
        assertEquals(List.of(), peer.run(50), "100 bytes read: no window update");
        peer.send(ScriptedPeer.segment(conn.peerNxt - 1, conn.peerRcvNxt, ACK, 20000, 0)); // a probe
        TcpRepr answer = ScriptedPeer.only(peer.run(5));
        assertEquals(0, answer.window(), "the probe is answered, the window still shut: " + answer);
        s.recv(conn.fd, ByteBuffer.allocate(900), 0);
        TcpRepr update = ScriptedPeer.only(peer.run(5));
        assertEquals(1000, update.window(), "an MSS free: the window opens, and the sender is told at once");
    }

    @Test
    void underScalingTheFieldRetractsTheEdgeByLessThanAUnitAndDataUpToTheOldEdgeIsTaken() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(6);
        ScriptedPeer.Connection conn = peer.open(20000, 64 * 1024, 0, false);
        Sockets s = peer.sockets();
        TcpConnection c = s.connectionOf(conn.fd);
        assertEquals(7, conn.stackScale, "the stack scales its window by 2^7");
        int edge = conn.peerNxt + conn.window; // the furthest edge offered; the SYN-ACK's window is never scaled
        int[] sizes = {1000, 333, 1000, 77, 1000, 999, 1, 1000, 500};
        java.util.Random r = new java.util.Random(6);
        long taken = 0;
        for (int round = 0; round < 400; round++) {
            // Send what the furthest edge offered allows, as a sender may (RFC 7323 appendix F).
            int n = Math.min(sizes[round % sizes.length], SeqNum.diff(edge, conn.peerNxt));
            if (n > 0) {
                peer.send(ScriptedPeer.segment(conn.peerNxt, conn.peerRcvNxt, ACK, 20000, n));
                conn.peerNxt += n;
                taken += n;
            }
            if (r.nextInt(4) == 0) {
                s.recv(conn.fd, ByteBuffer.allocate(1 + r.nextInt(3000)), Sockets.MSG_DONTWAIT);
            }
            for (TcpRepr t : peer.run(1)) {
                int right = t.acknowledgmentNumber() + (t.window() << conn.stackScale);
                assertTrue(SeqNum.diff(edge, right) < 128, "retracted by a unit or more: " + t);
                if (SeqNum.gt(right, edge)) {
                    edge = right;
                }
            }
            assertTrue(s.onLoop(() -> c.received()) <= 64 * 1024, "never more than the buffer is held");
        }
        assertEquals(0, peer.stack.stats().get("tcp.drop.out_of_window"), "every byte sent within an offered edge was taken");
        assertEquals(conn.peerNxt, (int) s.onLoop(() -> c.rcv.nxt()));
        assertTrue(taken > 200_000, taken + " bytes crossed");
    }

    @Test
    void tinySegmentsCannotOpenTheWindowPastTheBuffer() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(10);
        ScriptedPeer.Connection conn = peer.open(20000, 16 * 1024, 0, false);
        Sockets s = peer.sockets();
        TcpConnection c = s.connectionOf(conn.fd);
        int edge = conn.peerNxt + conn.window;
        for (int i = 0; i < 20_000 && SeqNum.lt(conn.peerNxt, edge); i++) { // 3 bytes at a time, nobody reading
            int n = Math.min(3, SeqNum.diff(edge, conn.peerNxt));
            peer.send(ScriptedPeer.segment(conn.peerNxt, conn.peerRcvNxt, ACK, 20000, n));
            conn.peerNxt += n;
            for (TcpRepr t : peer.run(1)) {
                int right = t.acknowledgmentNumber() + (t.window() << conn.stackScale);
                if (SeqNum.gt(right, edge)) {
                    edge = right;
                }
            }
        }
        assertEquals(0, (long) s.onLoop(c.rcv::wnd), "the window closed");
        assertTrue(s.onLoop(() -> c.received()) <= 16 * 1024, s.onLoop(() -> c.received()) + " bytes held");
    }

    @Test
    void aWindowUpdateUnderAnOlderSequenceNumberIsTakenWhenItsAckMovesSndUna() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(7);
        ScriptedPeer.Connection conn = peer.open(20000, 0);
        Sockets s = peer.sockets();
        TcpConnection c = s.connectionOf(conn.fd);
        int una = inFlight(peer, conn, 3000);
        peer.send(ScriptedPeer.segment(conn.peerNxt, una, ACK, 20000, 1000)); // SND.WL1 = this segment's SEQ
        conn.peerNxt += 1000;
        peer.run(50);
        // The peer went back: its retransmission starts before SND.WL1 and ends past RCV.NXT.
        peer.send(ScriptedPeer.segment(conn.peerNxt - 1300, una + 3000, ACK, 1000, 1400));
        peer.run(1);
        assertEquals(una + 3000, (int) s.onLoop(() -> c.snd.una()));
        assertEquals(1000, (long) s.onLoop(() -> c.snd.wnd()),
                "the window came with the ACK that moved SND.UNA, so it is taken (RFC 9293's SND.WL1 test alone would"
                        + " keep 20,000 and put the right edge 3,000 bytes past the peer's)");
    }

    @Test
    void repliesToUnacceptableSegmentsWithoutDataAreRateLimitedDataSegmentsAlwaysAnswered() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(8);
        ScriptedPeer.Connection conn = peer.open(20000, 0);
        Sockets s = peer.sockets();
        TcpConnection c = s.connectionOf(conn.fd);
        for (int i = 0; i < 20; i++) { // pure ACKs far past the window: what an ACK storm is made of
            peer.send(ScriptedPeer.segment(conn.peerNxt + 10_000_000, conn.peerRcvNxt, ACK, 20000, 0));
            peer.run(5);
        }
        assertEquals(1, (long) s.onLoop(() -> c.unacceptableAcks), "one answer per 500 ms");
        assertEquals(19, (long) s.onLoop(() -> c.unacceptableAcksLimited));
        peer.run(500);
        peer.send(ScriptedPeer.segment(conn.peerNxt + 10_000_000, conn.peerRcvNxt, ACK, 20000, 0));
        assertEquals(1, peer.run(5).size(), "answered again after 500 ms");
        for (int i = 0; i < 5; i++) { // old data: its sender must learn RCV.NXT each time
            peer.send(ScriptedPeer.segment(conn.peerNxt - 100, conn.peerRcvNxt, ACK, 20000, 50));
        }
        List<TcpRepr> answers = peer.run(5);
        assertEquals(5, answers.size(), "every unacceptable data segment is answered");
        for (TcpRepr a : answers) {
            assertEquals(conn.peerNxt, a.acknowledgmentNumber());
        }
    }

    @Test
    void pawsDropsAnOldTimestampAnswersItAndStillTakesAnRst() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(9);
        ScriptedPeer.Connection conn = peer.open(20000, 0, -1, true);
        Sockets s = peer.sockets();
        TcpConnection c = s.connectionOf(conn.fd);
        peer.run(100);
        peer.send(peer.segment(conn, conn.peerNxt, conn.peerRcvNxt, ACK, 20000, 100));
        conn.peerNxt += 100;
        peer.run(50);
        int recent = s.onLoop(() -> c.tsRecent);
        assertEquals(peer.tsNow() - 50, recent, "TS.Recent is the last in-order segment's TSval");
        // An otherwise acceptable segment whose TSval is older than TS.Recent (RFC 7323 5.3 R1).
        TcpRepr fresh = peer.segment(conn, conn.peerNxt, conn.peerRcvNxt, ACK, 20000, 100);
        TcpRepr stale = new TcpRepr(fresh.sourcePort(), fresh.destinationPort(), fresh.sequenceNumber(),
                fresh.acknowledgmentNumber(), ACK, 20000, 0, -1, -1, false, new TcpRepr.Timestamps(recent - 1, 0),
                List.of(), fresh.payload());
        peer.send(stale);
        TcpRepr answer = ScriptedPeer.only(peer.run(5));
        assertEquals(conn.peerNxt, answer.acknowledgmentNumber(), "not acceptable: ACKed, its data not taken");
        assertEquals(1L, s.onLoop(() -> c.drops.get("paws")));
        // A segment without the option once it was agreed: silently dropped (RFC 7323 3.2).
        peer.send(ScriptedPeer.segment(conn.peerNxt, conn.peerRcvNxt, ACK, 20000, 100));
        assertEquals(List.of(), peer.run(60));
        assertEquals(1L, s.onLoop(() -> c.drops.get("no_timestamp")));
        // PAWS does not apply to a RST (R1 names "the RST bit is not set").
        peer.send(new TcpRepr(ScriptedPeer.PEER_PORT, ScriptedPeer.PORT, conn.peerNxt, 0, RST, 0, 0, -1, -1, false,
                new TcpRepr.Timestamps(recent - 1000, 0), List.of(), io.netty.buffer.Unpooled.EMPTY_BUFFER));
        peer.run(1);
        assertEquals(TcpConnection.State.CLOSED, s.onLoop(() -> c.state), "the RST was taken");
    }

    @Test
    void aConnectionThatTimesOutResetsAtTheHighestSequenceItSent() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(21);
        ScriptedPeer.Connection conn = peer.open(20000, 0);
        Sockets s = peer.sockets();
        TcpConnection c = s.connectionOf(conn.fd);
        s.setNonBlocking(conn.fd, true);
        assertEquals(5000, s.send(conn.fd, ByteBuffer.wrap(new byte[5000]), 0));
        int sndMax = conn.peerRcvNxt + 5000;
        // The peer never acknowledges: retransmissions back off to the 120 s cap, then the stack gives up.
        List<TcpRepr> sent = peer.run(30 * 60 * 1000);
        TcpRepr last = sent.get(sent.size() - 1);
        assertTrue(last.hasFlags(RST), "the stack gave up with a RST: " + last);
        assertEquals(sndMax, last.sequenceNumber(), "at SND.MAX, not at a SND.NXT the timeout wound back (RFC 5961 "
                + "takes a RST only at the peer's RCV.NXT, which has seen all that was sent): " + last);
        assertEquals(sndMax, (int) s.onLoop(() -> c.snd.max()));
    }
}
