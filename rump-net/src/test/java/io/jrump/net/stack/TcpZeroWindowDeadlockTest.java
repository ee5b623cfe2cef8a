package io.jrump.net.stack;

import static io.jrump.net.wire.TcpSegment.ACK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.wire.TcpRepr;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The exchange that deadlocked the echo of issue 12, scripted: the stack under test is the echo
 * server, the {@link ScriptedPeer} plays the client as the capture showed it. The server's window
 * is shut (its application is blocked sending, so it does not read) while its own send buffer
 * waits on the client's ACKs; the client then sends a full segment beyond the shut window — at
 * RCV.NXT, acknowledging everything — and from then on its ACKs carry a sequence number past the
 * server's RCV.NXT.
 *
 * <p>Before the fix the server dropped that segment unread (text into a zero window is not
 * acceptable), and every later one too, so it never saw that its data had arrived: its
 * application stayed blocked, its window stayed shut, and it answered each of the client's ACKs
 * with one of its own as fast as they came. Now the segment at RCV.NXT is processed for its ACK
 * and window (RFC 9293's zero-window allowance), which unblocks the server, and the answers to the
 * unacceptable ACKs are held to one per 500 ms.
 */
class TcpZeroWindowDeadlockTest {
    static final int BUFFER = 8000;

    @Test
    void theCapturedSequenceNoLongerDeadlocksTheServerAndTheAckStormIsHeldDown() throws Exception {
        ScriptedPeer peer = new ScriptedPeer(12);
        ScriptedPeer.Connection conn = peer.open(20000, BUFFER);
        Sockets s = peer.sockets();
        TcpConnection c = s.connectionOf(conn.fd);
        // The server sends: 20,000 bytes fill the client's window, and its send buffer holds more.
        s.setsockopt(conn.fd, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, 10_000);
        s.setNonBlocking(conn.fd, true);
        int serverUna = s.onLoop(() -> c.snd.una());
        int queued = s.send(conn.fd, ByteBuffer.wrap(new byte[40_000]), 0);
        assertEquals(20_000, queued, "its send buffer (SO_SNDBUF doubled) is full");
        int sent = 0;
        for (TcpRepr t : peer.run(5)) {
            sent += t.payload().readableBytes();
        }
        assertTrue(sent > 0);
        // The client fills the server's window without acknowledging anything: RCV.WND 0.
        for (int i = 0; i < BUFFER / 1000; i++) {
            peer.send(ScriptedPeer.segment(conn.peerNxt, serverUna, ACK, 0, 1000));
            conn.peerNxt += 1000;
        }
        peer.run(50);
        assertEquals(0, (long) s.onLoop(c.rcv::wnd), "the server's window is shut");

        // The client sends a full segment beyond the shut window, acknowledging all the server sent.
        int rcvNxt = conn.peerNxt;
        int serverNxt = s.onLoop(() -> c.snd.max());
        peer.send(ScriptedPeer.segment(rcvNxt, serverNxt, ACK, 65535, 1000));
        List<TcpRepr> answer = peer.run(5);
        assertEquals(serverNxt, (int) s.onLoop(() -> c.snd.una()),
                "RFC 9293's zero-window allowance took the ACK: the server learns its data arrived");
        assertEquals(65535, (long) s.onLoop(() -> c.snd.wnd()), "and the client's open window");
        assertTrue(answer.stream().anyMatch(t -> t.acknowledgmentNumber() == rcvNxt && t.window() == 0),
                "the text was not taken and the ACK says so: " + answer);
        assertTrue(answer.stream().anyMatch(t -> t.payload().readableBytes() > 0), "the server sends again at once");
        assertTrue(s.onLoop(c::sendSpace) > 0, "its application can write again, and so go back to reading");
        assertEquals(1L, s.onLoop(() -> c.drops.get("zero_window")));

        // From then on the client's ACKs carry SEQ = RCV.NXT + 1000: unacceptable at a zero window,
        // and answered at most once per 500 ms, however fast they come.
        int acked = s.onLoop(() -> c.snd.max());
        long answeredBefore = s.onLoop(() -> c.unacceptableAcks);
        for (int i = 0; i < 200; i++) { // 2 s of them, every 10 ms: the storm's fuel
            peer.send(ScriptedPeer.segment(rcvNxt + 1000, acked, ACK, 65535, 0));
            peer.run(10);
        }
        long answered = s.onLoop(() -> c.unacceptableAcks) - answeredBefore;
        assertTrue(answered <= 5, answered + " answers in 2 s to 200 unacceptable ACKs: one per 500 ms at most");
        assertTrue(s.onLoop(() -> c.unacceptableAcksLimited) >= 195);

        // The server's application reads: the window opens, and the client's retransmission is taken.
        ByteBuffer all = ByteBuffer.allocate(BUFFER);
        while (all.hasRemaining() && s.recv(conn.fd, all, Sockets.MSG_DONTWAIT).length() > 0) {
        }
        peer.run(5);
        peer.send(ScriptedPeer.segment(rcvNxt, acked, ACK, 65535, 1000));
        peer.run(50);
        assertEquals(rcvNxt + 1000, (int) s.onLoop(() -> c.rcv.nxt()), "the retransmitted segment is taken");
        assertEquals(TcpConnection.State.ESTABLISHED, s.onLoop(() -> c.state));
        String report = peer.stack.tcpReport("> ");
        assertTrue(report.contains("> ESTABLISHED ") && report.contains("drops={zero_window=")
                && report.contains("> counters {"), report);
    }
}
