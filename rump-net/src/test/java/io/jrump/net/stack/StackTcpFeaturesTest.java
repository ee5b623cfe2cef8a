package io.jrump.net.stack;

import static io.jrump.net.stack.StackSimTest.B;
import static io.jrump.net.stack.StackTcpTest.connect;
import static io.jrump.net.stack.StackTcpTest.transfer;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.jrump.net.socket.Readiness;
import io.jrump.net.stack.Sockets.SocketAddress;
import io.jrump.net.wire.TcpRepr;
import io.jrump.net.wire.TcpSegment;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * TCP's options and robustness between two kernels on a simulated link: timestamps and PAWS (RFC
 * 7323), SACK (RFC 2018/6675), keepalive, surviving a partition, SYN cookies (RFC 4987), SO_LINGER
 * and buffer sizes.
 */
class StackTcpFeaturesTest {
    private static final long MS = 1_000_000L;

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void timestampsAreNegotiatedAndTimeRoundTripsEvenAcrossRetransmissions() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(31, 1500);
        p.world.link("lan").setDelay(20 * MS, 0);
        int[] fds = connect(p, 80);
        TcpConnection c = p.a.sockets().connectionOf(fds[0]);
        TcpConnection s = p.b.sockets().connectionOf(fds[1]);
        assertTrue(p.a.sockets().onLoop(() -> c.tsOn && s.tsOn && c.sackOn && s.sackOn));
        assertEquals(1448, (int) p.a.sockets().onLoop(() -> c.mss), "1460 less the 12 bytes of timestamps");
        p.world.link("lan").setLoss(0.02);
        byte[] data = random(1 << 20, 31);
        assertArrayEquals(data, transfer(p.a.sockets(), fds[0], p.b.sockets(), fds[1], data));
        long srtt = p.a.sockets().onLoop(c.timers.rtt()::srttNanos);
        assertTrue(srtt >= 39 * MS && srtt <= 60 * MS, "SRTT " + srtt + " ns for a 40 ms round trip");
        assertTrue(p.a.stats().get("tcp.out.retransmitted") > 0);
        assertTrue(p.a.stats().get("tcp.rtt.timestamp_sample_after_retransmission") > 0,
                "ACKs of retransmitted data still gave samples");

        StackSimTest.Pair q = new StackSimTest.Pair(32, 1500);
        q.b.sysctl("net.ipv4.tcp_timestamps", 0);
        int[] fq = connect(q, 80);
        TcpConnection cq = q.a.sockets().connectionOf(fq[0]);
        assertFalse(q.a.sockets().onLoop(() -> cq.tsOn), "the peer declined");
        assertEquals(1460, (int) q.a.sockets().onLoop(() -> cq.mss));
    }

    @Test
    void pawsRejectsASegmentWithAnOldTimestampUnlessTsRecentIsOlderThan24Days() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(33, 1500);
        int[] fds = connect(p, 80);
        byte[] hello = "hello".getBytes();
        assertArrayEquals(hello, transfer(p.a.sockets(), fds[0], p.b.sockets(), fds[1], hello));
        TcpConnection s = p.b.sockets().connectionOf(fds[1]);
        Sockets sb = p.b.sockets();
        // An old duplicate: in the window, but its TSval is older than TS.Recent.
        long before = sb.onLoop(() -> {
            TcpRepr old = new TcpRepr(s.remotePort, s.localPort, s.rcv.nxt(), s.snd.nxt(), TcpSegment.ACK, 1000, 0, -1, -1,
                    false, new TcpRepr.Timestamps(s.tsRecent - 5000, 0), List.of(),
                    Unpooled.wrappedBuffer("stale".getBytes()));
            long r = s.received();
            s.input(old);
            return s.received() - r;
        });
        assertEquals(0, before, "PAWS dropped it");
        assertEquals(1, p.b.stats().get("tcp.drop.paws"));
        // 24 days on, TS.Recent is no longer valid: the same kind of segment is taken (RFC 7323 5.5).
        long after = sb.onLoop(() -> {
            s.tsRecentNanos -= TcpConnection.PAWS_IDLE_NANOS + 1;
            TcpRepr old = new TcpRepr(s.remotePort, s.localPort, s.rcv.nxt(), s.snd.nxt(), TcpSegment.ACK, 1000, 0, -1, -1,
                    false, new TcpRepr.Timestamps(s.tsRecent - 5000, 0), List.of(),
                    Unpooled.wrappedBuffer("fresh".getBytes()));
            long r = s.received();
            s.input(old);
            return s.received() - r;
        });
        assertEquals(5, after);
        assertEquals(1, p.b.stats().get("tcp.drop.paws"));
    }

    /**
     * Bytes retransmitted by A sending {@code data} over a 5% lossy link, with or without SACK. At 5% loss the
     * congestion window stays small, so few windows lose more than one segment and SACK saves only some 5-10%
     * here (most repairs come from timeouts, after which the go-back skips SACKed data).
     */
    private static long retransmittedBytes(boolean sack, long seed, byte[] data) throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(seed, 1500);
        if (!sack) {
            p.a.sysctl("net.ipv4.tcp_sack", 0);
        }
        int[] fds = connect(p, 80);
        assertEquals(sack, p.a.sockets().onLoop(() -> p.a.sockets().connectionOf(fds[0]).sackOn));
        p.world.link("lan").setLoss(0.05);
        assertArrayEquals(data, transfer(p.a.sockets(), fds[0], p.b.sockets(), fds[1], data));
        if (sack) {
            assertTrue(p.a.stats().get("tcp.sack.hole_retransmit") > 0, "holes were retransmitted");
        }
        return p.a.stats().get("tcp.out.retransmitted_bytes");
    }

    @Test
    void withSackFewerBytesAreRetransmittedAtFivePercentLoss() throws Exception {
        byte[] data = random(4 << 20, 34);
        long withSack = 0;
        long without = 0;
        for (long seed = 34; seed < 37; seed++) {
            withSack += retransmittedBytes(true, seed, data);
            without += retransmittedBytes(false, seed, data);
        }
        System.out.println("retransmitted bytes with SACK " + withSack + ", without " + without);
        assertTrue(withSack < without, "with SACK " + withSack + " bytes, without " + without);
    }

    @Test
    void keepaliveHasLinuxDefaultsAndDetectsADeadPeer() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(35, 1500);
        int[] fds = connect(p, 80);
        Sockets sa = p.a.sockets();
        assertEquals(0, sa.getsockopt(fds[0], Sockets.SOL_SOCKET, Sockets.SO_KEEPALIVE));
        assertEquals(7200, sa.getsockopt(fds[0], Sockets.IPPROTO_TCP, Sockets.TCP_KEEPIDLE));
        assertEquals(75, sa.getsockopt(fds[0], Sockets.IPPROTO_TCP, Sockets.TCP_KEEPINTVL));
        assertEquals(9, sa.getsockopt(fds[0], Sockets.IPPROTO_TCP, Sockets.TCP_KEEPCNT));
        sa.setsockopt(fds[0], Sockets.SOL_SOCKET, Sockets.SO_KEEPALIVE, 1);
        sa.setsockopt(fds[0], Sockets.IPPROTO_TCP, Sockets.TCP_KEEPIDLE, 10);
        sa.setsockopt(fds[0], Sockets.IPPROTO_TCP, Sockets.TCP_KEEPINTVL, 2);
        sa.setsockopt(fds[0], Sockets.IPPROTO_TCP, Sockets.TCP_KEEPCNT, 3);
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class,
                () -> sa.setsockopt(fds[0], Sockets.IPPROTO_TCP, Sockets.TCP_KEEPCNT, 0)).errno());
        // A live peer answers the probes: a minute idle changes nothing.
        p.world.runFor(Duration.ofSeconds(60));
        assertTrue(p.a.stats().get("tcp.keepalive.probe") >= 5);
        assertEquals(Errno.EAGAIN, assertThrows(ErrnoException.class,
                () -> sa.recv(fds[0], ByteBuffer.allocate(10), Sockets.MSG_DONTWAIT)).errno());
        // A dead one does not: 10 s idle, then 3 probes 2 s apart, then ETIMEDOUT.
        byte[] ping = {42};
        assertArrayEquals(ping, transfer(p.b.sockets(), fds[1], sa, fds[0], ping)); // heard from just now
        p.world.link("lan").partition(Set.of("a"));
        long start = p.world.now();
        ErrnoException e = assertThrows(ErrnoException.class, () -> sa.recv(fds[0], ByteBuffer.allocate(10), 0));
        assertEquals(Errno.ETIMEDOUT, e.errno());
        long took = p.world.now() - start;
        assertTrue(took >= 14_000 * MS && took <= 17_000 * MS, "timed out after " + took + " ns");
        assertEquals(1, p.a.stats().get("tcp.keepalive.timeout"));
    }

    @Test
    void aConnectionSurvivesATenSecondPartitionMidTransfer() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(36, 1500);
        int[] fds = connect(p, 80);
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        byte[] first = random(1 << 20, 36);
        assertArrayEquals(first, transfer(sa, fds[0], sb, fds[1], first));
        byte[] middle = random(200_000, 37);
        sa.send(fds[0], ByteBuffer.wrap(middle), 0); // queued, partly in flight
        p.world.link("lan").partition(Set.of("a"));
        p.world.runFor(Duration.ofSeconds(10));
        p.world.link("lan").heal();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(65536);
        while (got.size() < middle.length) {
            buf.clear();
            int n = sb.recv(fds[1], buf, 0).length();
            assertTrue(n > 0);
            got.write(buf.array(), 0, n);
        }
        assertArrayEquals(middle, got.toByteArray());
        assertTrue(p.a.stats().get("tcp.rto") >= 4, "it backed off through the partition");
        byte[] last = random(1 << 20, 38);
        assertArrayEquals(last, transfer(sa, fds[0], sb, fds[1], last));
        assertArrayEquals(last, transfer(sb, fds[1], sa, fds[0], last));
    }

    @Test
    void synCookiesLetManyConnectionsThroughABacklogOfOne() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(37, 1500);
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sb.bind(listener, new SocketAddress(Ipv4Address.ANY, 80));
        sb.listen(listener, 1);
        int n = 20;
        int[] clients = new int[n];
        for (int i = 0; i < n; i++) {
            clients[i] = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            sa.setNonBlocking(clients[i], true);
            int fd = clients[i];
            assertEquals(Errno.EINPROGRESS, assertThrows(ErrnoException.class,
                    () -> sa.connect(fd, new SocketAddress(B, 80))).errno());
        }
        int[] servers = new int[n];
        for (int i = 0; i < n; i++) {
            servers[i] = sb.accept(listener);
        }
        assertTrue(p.b.stats().get("tcp.syncookies.sent") > 0, "the backlog overflowed");
        assertTrue(p.b.stats().get("tcp.syncookies.ok") > 0, "cookies came back");
        Set<Integer> seen = new HashSet<>();
        int[] clientOf = new int[n];
        for (int i = 0; i < n; i++) {
            assertEquals(Readiness.POLLOUT, sa.poll(clients[i], Readiness.POLLOUT), "client " + i + " connected");
            sa.setNonBlocking(clients[i], false);
            sa.send(clients[i], ByteBuffer.wrap(new byte[] {(byte) i}), 0);
        }
        for (int i = 0; i < n; i++) {
            ByteBuffer one = ByteBuffer.allocate(1);
            assertEquals(1, sb.recv(servers[i], one, 0).length());
            seen.add((int) one.get(0));
            clientOf[i] = clients[one.get(0)];
        }
        assertEquals(n, seen.size(), "every connection carried its byte");
        // A connection made from a cookie carries bulk data both ways (MSS from the cookie, no window scaling).
        int k = n - 1;
        TcpConnection c = sb.connectionOf(servers[k]);
        assertEquals(0, (int) sb.onLoop(() -> c.rcv.scale()), "made from a cookie");
        byte[] data = random(300_000, 37);
        assertArrayEquals(data, transfer(sa, clientOf[k], sb, servers[k], data));
        assertArrayEquals(data, transfer(sb, servers[k], sa, clientOf[k], data));
    }

    @Test
    void lingerZeroResetsAndBufferSizesAreDoubledAndBoundTheWindow() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(38, 1500);
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sb.setsockopt(listener, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, 16384);
        assertEquals(32768, sb.getsockopt(listener, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF), "Linux doubles it");
        sb.bind(listener, new SocketAddress(Ipv4Address.ANY, 80));
        sb.listen(listener, 4);
        int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sa.setsockopt(client, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, 50_000);
        assertEquals(100_000, sa.getsockopt(client, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF));
        sa.connect(client, new SocketAddress(B, 80));
        int server = sb.accept(listener);
        assertEquals(32768, sb.getsockopt(server, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF), "inherited");
        // The server does not read: the client can queue its send buffer and no more.
        sa.setNonBlocking(client, true);
        byte[] data = random(1 << 20, 38);
        int queued = sa.send(client, ByteBuffer.wrap(data), 0);
        p.world.runFor(Duration.ofSeconds(2));
        queued += sa.send(client, ByteBuffer.wrap(data, queued, data.length - queued), 0);
        TcpConnection s = sb.connectionOf(server);
        assertTrue(sb.onLoop(() -> s.received()) <= 32768, "the receiver holds no more than SO_RCVBUF");
        assertTrue(queued >= 100_000 + 32768 - 1448 && queued <= 100_000 + 32768, queued + " queued: about the send"
                + " buffer plus the receiver's");
        sa.setNonBlocking(client, false);
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(65536);
        while (got.size() < queued) {
            buf.clear();
            int n = sb.recv(server, buf, 0).length();
            got.write(buf.array(), 0, n);
        }
        assertArrayEquals(java.util.Arrays.copyOf(data, queued), got.toByteArray());
        // SO_LINGER 0: close sends a RST, and the peer's recv says so.
        sb.setsockopt(server, Sockets.SOL_SOCKET, Sockets.SO_LINGER, 0);
        sb.close(server);
        assertEquals(Errno.ECONNRESET, assertThrows(ErrnoException.class,
                () -> sa.recv(client, ByteBuffer.allocate(10), 0)).errno());
    }

    @Test
    void lingerWithATimeBlocksCloseUntilEverythingIsAcknowledgedOrTheTimeIsUp() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(39, 1500);
        p.world.link("lan").setDelay(10 * MS, 0);
        int[] fds = connect(p, 80);
        Sockets sa = p.a.sockets();
        TcpConnection c = sa.connectionOf(fds[0]);
        sa.setsockopt(fds[0], Sockets.SOL_SOCKET, Sockets.SO_LINGER, 5);
        assertEquals(5, sa.getsockopt(fds[0], Sockets.SOL_SOCKET, Sockets.SO_LINGER));
        sa.send(fds[0], ByteBuffer.wrap(random(200_000, 39)), 0);
        long start = p.world.now();
        sa.close(fds[0]);
        assertTrue(p.world.now() - start >= 20 * MS, "close waited for the ACKs");
        assertEquals(TcpConnection.State.FIN_WAIT_2, sa.onLoop(() -> c.state));
        // A dead peer: close gives up after the linger time, and the connection goes on trying.
        StackSimTest.Pair q = new StackSimTest.Pair(40, 1500);
        int[] fq = connect(q, 80);
        Sockets qa = q.a.sockets();
        TcpConnection cq = qa.connectionOf(fq[0]);
        qa.setsockopt(fq[0], Sockets.SOL_SOCKET, Sockets.SO_LINGER, 2);
        q.world.link("lan").partition(Set.of("a"));
        qa.send(fq[0], ByteBuffer.wrap(random(10_000, 40)), 0);
        long t0 = q.world.now();
        qa.close(fq[0]);
        long waited = q.world.now() - t0;
        assertTrue(waited >= 2_000 * MS && waited < 2_100 * MS, "waited " + waited + " ns");
        assertEquals(TcpConnection.State.FIN_WAIT_1, qa.onLoop(() -> cq.state));
    }

    /**
     * Streams {@code data} from A to B as fast as they go; returns the virtual nanoseconds taken.
     * Sends are non-blocking while B has bytes on their way; when B has read all that was sent,
     * a send of up to 64 KiB blocks instead (a blocking recv then would wait forever: the sender's buffer may be
     * full of bytes B has but not yet acknowledged, which only the delayed ACK frees).
     */
    private static long stream(StackSimTest.Pair p, int[] fds, byte[] data) throws Exception {
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        int sent = 0;
        long start = p.world.now();
        while (got.size() < data.length) {
            if (sent < data.length) {
                boolean inFlight = got.size() < sent;
                sa.setNonBlocking(fds[0], inFlight);
                int n = inFlight ? data.length - sent : Math.min(data.length - sent, 64 << 10);
                try {
                    sent += sa.send(fds[0], ByteBuffer.wrap(data, sent, n), 0);
                } catch (ErrnoException e) {
                    assertEquals(Errno.EAGAIN, e.errno());
                }
            }
            buf.clear();
            got.write(buf.array(), 0, sb.recv(fds[1], buf, 0).length());
        }
        assertArrayEquals(data, got.toByteArray());
        return p.world.now() - start;
    }

    @Test
    void theReceiveBufferGrowsWithTheFlowUnlessSoRcvbufFixesIt() throws Exception {
        byte[] data = random(32 << 20, 41);
        long[] took = new long[2];
        int[] buffer = new int[2];
        for (int i = 0; i < 2; i++) {
            StackSimTest.Pair p = new StackSimTest.Pair(41, 1500);
            p.world.link("lan").setDelay(10 * MS, 0);
            Sockets sb = p.b.sockets();
            int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            if (i == 1) {
                sb.setsockopt(listener, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, 128 << 10);
            }
            sb.bind(listener, new SocketAddress(Ipv4Address.ANY, 80));
            sb.listen(listener, 4);
            Sockets sa = p.a.sockets();
            int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            sa.setsockopt(client, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, 4 << 20);
            sa.connect(client, new SocketAddress(B, 80));
            int server = sb.accept(listener);
            took[i] = stream(p, new int[] {client, server}, data);
            buffer[i] = sb.getsockopt(server, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF);
        }
        assertTrue(buffer[0] > TcpConnection.DEFAULT_BUFFER && buffer[0] <= TcpConnection.AUTOTUNE_MAX_BUFFER,
                "autotuned to " + buffer[0]);
        assertEquals(256 << 10, buffer[1], "fixed by SO_RCVBUF");
        assertTrue(took[0] * 2 < took[1], "autotuned " + took[0] + " ns, fixed " + took[1] + " ns");
    }

    @Test
    void theSendBufferGrowsWithTheWindowUnlessSoSndbufFixesIt() throws Exception {
        byte[] data = random(16 << 20, 43);
        long[] took = new long[2];
        int[] buffer = new int[2];
        for (int i = 0; i < 2; i++) {
            StackSimTest.Pair p = new StackSimTest.Pair(43, 1500);
            p.world.link("lan").setDelay(10 * MS, 0);
            Sockets sb = p.b.sockets();
            int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            sb.bind(listener, new SocketAddress(Ipv4Address.ANY, 80));
            sb.listen(listener, 4);
            Sockets sa = p.a.sockets();
            int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            if (i == 1) {
                sa.setsockopt(client, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, 128 << 10);
            }
            sa.connect(client, new SocketAddress(B, 80));
            int server = sb.accept(listener);
            took[i] = stream(p, new int[] {client, server}, data);
            buffer[i] = sa.getsockopt(client, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF);
        }
        assertTrue(buffer[0] > TcpConnection.DEFAULT_BUFFER && buffer[0] <= TcpConnection.AUTOTUNE_MAX_SEND_BUFFER,
                "autotuned to " + buffer[0]);
        assertEquals(256 << 10, buffer[1], "fixed by SO_SNDBUF");
        assertTrue(took[0] * 2 < took[1], "autotuned " + took[0] + " ns, fixed " + took[1] + " ns");
    }
}
