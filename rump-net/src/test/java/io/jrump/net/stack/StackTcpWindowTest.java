package io.jrump.net.stack;

import static io.jrump.net.stack.StackTcpTest.connect;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Flow control at the window's edges: a reader that empties a full buffer must say so at once
 * (the bug that stalled `rump net bench` on the JVM host: autotuning grew the buffer inside the
 * read, so the window update was never sent and the sender, with nothing in flight, waited
 * forever), a lost window update is repaired by the persist timer, and a peer that keeps its
 * window shut is probed for as long as it answers.
 */
class StackTcpWindowTest {
    private static final long MS = 1_000_000L;

    /** Sends without blocking until the send buffer is full too; returns what was accepted. */
    private static byte[] fill(Sockets s, int fd, long seed) throws ErrnoException {
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        Random r = new Random(seed);
        byte[] chunk = new byte[16 << 10];
        while (true) {
            r.nextBytes(chunk);
            ByteBuffer b = ByteBuffer.wrap(chunk);
            try {
                s.send(fd, b, Sockets.MSG_DONTWAIT);
            } catch (ErrnoException e) {
                assertEquals(Errno.EAGAIN, e.errno());
            }
            sent.write(chunk, 0, b.position());
            if (b.hasRemaining()) {
                return sent.toByteArray();
            }
        }
    }

    /** Reads everything there is now, without blocking. */
    private static void drain(Sockets s, int fd, ByteArrayOutputStream into) throws ErrnoException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        while (true) {
            buf.clear();
            try {
                into.write(buf.array(), 0, s.recv(fd, buf, Sockets.MSG_DONTWAIT).length());
            } catch (ErrnoException e) {
                assertEquals(Errno.EAGAIN, e.errno());
                return;
            }
        }
    }

    /** Blocking reads until the end of the stream. */
    private static void readToEnd(Sockets s, int fd, ByteArrayOutputStream into) throws ErrnoException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 16);
        int n;
        while ((n = s.recv(fd, buf.clear(), 0).length()) > 0) {
            into.write(buf.array(), 0, n);
        }
    }

    /** A pair whose receiver's buffer is full and whose sender has less than a segment of window left. */
    private static int[] shutWindow(StackSimTest.Pair p, ByteArrayOutputStream sent) throws Exception {
        p.world.link("lan").setDelay(MS, 0);
        int[] fds = connect(p, 80);
        sent.write(fill(p.a.sockets(), fds[0], 1));
        p.world.runFor(Duration.ofMillis(100));
        TcpConnection c = p.a.sockets().connectionOf(fds[0]);
        TcpConnection s = p.b.sockets().connectionOf(fds[1]);
        assertTrue(p.a.sockets().onLoop(() -> c.snd.wnd() - c.inFlight() < c.mss), "the receiver's buffer is full: "
                + p.a.sockets().onLoop(() -> c.snd.wnd() + " " + c.inFlight() + " " + c.sendQueued()) + " / "
                + p.b.sockets().onLoop(() -> s.received() + " " + s.rcv.wnd() + " " + s.receiveBufferLimit));
        assertTrue(p.b.sockets().onLoop(s::receiveWindow) < p.b.sockets().onLoop(() -> s.mss));
        return fds;
    }

    @Test
    void aReaderThatEmptiesAFullBufferOpensTheWindowAtOnce() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(61, 1500);
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        int[] fds = shutWindow(p, sent);
        TcpConnection c = p.a.sockets().connectionOf(fds[0]);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        drain(p.b.sockets(), fds[1], got);
        long dataBefore = p.a.stats().get("tcp.out.data");
        p.world.runFor(Duration.ofMillis(3)); // a round trip and a little
        assertTrue(p.a.sockets().onLoop(() -> c.snd.wnd()) > 1 << 16, "the window update arrived within a round trip");
        assertTrue(p.a.stats().get("tcp.out.data") > dataBefore, "and the sender sent again");
        assertEquals(0, p.a.stats().get("tcp.persist.probe"), "without needing a probe");

        sent.write(fill(p.a.sockets(), fds[0], 2)); // top the send buffer up, then close and read to the end
        p.a.sockets().shutdown(fds[0], Sockets.SHUT_WR);
        readToEnd(p.b.sockets(), fds[1], got);
        assertArrayEquals(sent.toByteArray(), got.toByteArray());
    }

    @Test
    void aLostWindowUpdateIsRepairedByThePersistTimer() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(62, 1500);
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        int[] fds = shutWindow(p, sent);
        TcpConnection c = p.a.sockets().connectionOf(fds[0]);
        p.world.link("lan").partition(Set.of("a")); // the window update will be lost
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        drain(p.b.sockets(), fds[1], got);
        p.world.runFor(Duration.ofMillis(5));
        p.world.link("lan").heal();
        assertTrue(p.a.sockets().onLoop(() -> c.snd.wnd()) < p.a.sockets().onLoop(() -> c.mss),
                "the sender never heard of the open window");
        assertTrue(p.world.runUntil(() -> p.a.stats().get("tcp.persist.probe") > 0, Duration.ofSeconds(5)),
                "the persist timer probed");
        p.world.runFor(Duration.ofMillis(5));
        assertTrue(p.a.sockets().onLoop(() -> c.snd.wnd()) > 1 << 16, "the probe's answer carried the open window");
        p.a.sockets().shutdown(fds[0], Sockets.SHUT_WR);
        readToEnd(p.b.sockets(), fds[1], got);
        assertArrayEquals(sent.toByteArray(), got.toByteArray());
    }

    @Test
    void aPeerThatKeepsItsWindowShutIsProbedWithBackoffForAsLongAsItAnswers() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(63, 1500);
        int[] fds = shutWindow(p, new ByteArrayOutputStream());
        TcpConnection c = p.a.sockets().connectionOf(fds[0]);
        p.world.runFor(Duration.ofMinutes(30));
        long probes = p.a.stats().get("tcp.persist.probe");
        // Backed off to the 120 s cap: about 7 doublings from 200 ms, then one probe per 2 minutes.
        assertTrue(probes >= 15 && probes <= 30, probes + " probes in 30 minutes");
        assertEquals(TcpConnection.State.ESTABLISHED, p.a.sockets().onLoop(() -> c.state), "answered probes keep it");
        assertEquals(0, p.a.stats().get("tcp.rto"), "probing is not retransmission");

        p.world.link("lan").partition(Set.of("a")); // now nobody answers
        assertTrue(p.world.runUntil(() -> {
            try {
                return p.a.sockets().onLoop(() -> c.state) == TcpConnection.State.CLOSED;
            } catch (ErrnoException e) {
                throw new AssertionError(e);
            }
        }, Duration.ofHours(1)), "unanswered probes time the connection out");
        assertEquals(1, p.a.stats().get("tcp.timeout"));
    }
}
