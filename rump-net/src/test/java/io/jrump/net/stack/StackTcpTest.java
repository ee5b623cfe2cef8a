package io.jrump.net.stack;

import static io.jrump.net.stack.StackSimTest.B;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.Sockets.SocketAddress;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** TCP between two kernels on a simulated link, clean and lossy. */
class StackTcpTest {
    /** Client on A, server on B, connected; returns {client fd, server's accepted fd}. */
    static int[] connect(StackSimTest.Pair p, int port) throws ErrnoException {
        Sockets sb = p.b.sockets();
        int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sb.bind(listener, new SocketAddress(Ipv4Address.ANY, port));
        sb.listen(listener, 16);
        Sockets sa = p.a.sockets();
        int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sa.connect(client, new SocketAddress(B, port));
        int server = sb.accept(listener);
        return new int[] {client, server};
    }

    /** Sends {@code data} from one end and reads it at the other, in turns (one thread drives both kernels). */
    static byte[] transfer(Sockets from, int fromFd, Sockets to, int toFd, byte[] data) throws ErrnoException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        for (int off = 0; off < data.length; ) {
            int n = Math.min(64 * 1024, data.length - off);
            from.send(fromFd, ByteBuffer.wrap(data, off, n), 0);
            off += n;
            while (got.size() < off) {
                buf.clear();
                Sockets.Received r = to.recv(toFd, buf, 0);
                assertTrue(r.length() > 0, "the stream ended early at " + got.size());
                got.write(buf.array(), 0, r.length());
            }
        }
        return got.toByteArray();
    }

    @Test
    void aConnectionCarriesBytesBothWaysAndClosesCleanly() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(11, 1500);
        int[] fds = connect(p, 80);
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        byte[] up = new byte[3 << 20];
        new Random(1).nextBytes(up);
        assertArrayEquals(up, transfer(sa, fds[0], sb, fds[1], up));
        byte[] down = new byte[1 << 20];
        new Random(2).nextBytes(down);
        assertArrayEquals(down, transfer(sb, fds[1], sa, fds[0], down));
        sa.shutdown(fds[0], Sockets.SHUT_WR);
        assertEquals(0, sb.recv(fds[1], ByteBuffer.allocate(10), 0).length(), "end of stream after the FIN");
        sb.send(fds[1], ByteBuffer.wrap("bye".getBytes()), 0);
        ByteBuffer bye = ByteBuffer.allocate(10);
        assertEquals(3, sa.recv(fds[0], bye, 0).length(), "half-closed: the other way still works");
        sb.close(fds[1]);
        assertEquals(0, sa.recv(fds[0], ByteBuffer.allocate(10), 0).length());
        sa.close(fds[0]);
        p.world.runFor(Duration.ofSeconds(120)); // past TIME_WAIT
        assertEquals(0, p.a.sockets().tcpConnections());
        assertEquals(0, p.b.sockets().tcpConnections());
    }

    /**
     * The client closes first, so each of its ports stays in TIME_WAIT after its socket is gone. A
     * new connect(2) to the same server must not pick such a port: 800 random starts in the 28,232
     * ephemeral ports meet one many times over (the birthday bound), and each did fail with
     * EADDRINUSE before connect(2) skipped the four-tuples still held. Every other client binds
     * port 0 first, which must skip ports a connection still uses, as Linux's bind(2) does.
     */
    @Test
    void connectSkipsEphemeralPortsStillInTimeWait() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(14, 1500);
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sb.bind(listener, new SocketAddress(Ipv4Address.ANY, 80));
        sb.listen(listener, 16);
        java.util.Set<Integer> ports = new java.util.HashSet<>();
        for (int i = 0; i < 800; i++) {
            int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            if (i % 2 == 1) {
                sa.bind(client, new SocketAddress(Ipv4Address.ANY, 0));
            }
            sa.connect(client, new SocketAddress(B, 80));
            ports.add(sa.getsockname(client).port());
            int server = sb.accept(listener);
            sa.close(client);
            assertEquals(0, sb.recv(server, ByteBuffer.allocate(1), 0).length());
            sb.close(server);
        }
        assertEquals(800, ports.size(), "no port was given twice while its four-tuple lingered");
        assertTrue(sa.tcpConnections() > 700, "the client's ends are in TIME_WAIT: " + sa.tcpConnections());
    }

    @Test
    void aClosedPortRefusesAndAnAbsentNeighbourIsUnreachableInSeconds() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(12, 1500);
        Sockets sa = p.a.sockets();
        int fd = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        assertEquals(Errno.ECONNREFUSED, assertThrows(ErrnoException.class,
                () -> sa.connect(fd, new SocketAddress(B, 9))).errno());
        // Nobody answers ARP for it: as Linux, EHOSTUNREACH once ARP gives up (3 requests, 1 s
        // apart), not ETIMEDOUT after a minute of SYN retransmissions.
        int fd2 = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        long start = p.world.now();
        assertEquals(Errno.EHOSTUNREACH, assertThrows(ErrnoException.class,
                () -> sa.connect(fd2, new SocketAddress(Ipv4Address.parse("198.18.0.99"), 80))).errno());
        assertTrue(p.world.now() - start < 5_000_000_000L, "in " + (p.world.now() - start) + " ns");
        int udp = sa.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
        sa.connect(udp, new SocketAddress(Ipv4Address.parse("198.18.0.98"), 9));
        sa.send(udp, java.nio.ByteBuffer.wrap(new byte[] {1}), 0);
        assertEquals(Errno.EHOSTUNREACH, assertThrows(ErrnoException.class,
                () -> sa.recv(udp, java.nio.ByteBuffer.allocate(4), 0)).errno());
    }

    @ParameterizedTest
    @CsvSource({"0.01, 0.0, 21", "0.05, 0.1, 22", "0.02, 0.2, 23"})
    void bytesArriveExactlyOverALossyReorderingLink(double loss, double reorder, long seed) throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(seed, 1500);
        int[] fds = connect(p, 80);
        p.world.link("lan").setLoss(loss);
        p.world.link("lan").setReorder(reorder);
        p.world.link("lan").setDuplicate(0.01);
        byte[] data = new byte[2 << 20];
        new Random(seed).nextBytes(data);
        byte[] got = transfer(p.a.sockets(), fds[0], p.b.sockets(), fds[1], data);
        assertTrue(Arrays.equals(data, got), "byte-exact after loss " + loss + ", reorder " + reorder);
        assertTrue(p.a.stats().get("tcp.out.retransmitted") > 0, "there were losses to repair");
    }

    /** A capture of a lossy, reordered TCP transfer (with SACK and timestamps) is clean to tshark. */
    @Test
    void aCaptureOfALossyTransferIsCleanToTshark(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(31, 1500);
        java.nio.file.Path file = dir.resolve("tcp.pcap");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
             io.jrump.net.pcap.PcapWriter pcap = io.jrump.net.pcap.PcapWriter.open(ch)) {
            p.a.capture("lan", pcap);
            int[] fds = connect(p, 40000); // not a port tshark decodes as HTTP: the payload is random
            p.world.link("lan").setLoss(0.03);
            p.world.link("lan").setReorder(0.05);
            byte[] data = new byte[1 << 20];
            new Random(31).nextBytes(data);
            assertArrayEquals(data, transfer(p.a.sockets(), fds[0], p.b.sockets(), fds[1], data));
            p.a.sockets().close(fds[0]);
            p.b.sockets().close(fds[1]);
            p.world.runFor(Duration.ofSeconds(2));
            p.a.capture("lan", null);
        }
        Process t = new ProcessBuilder("tshark", "-r", file.toString(), "-o", "ip.check_checksum:TRUE", "-o",
                "tcp.check_checksum:TRUE", "-Y", "_ws.malformed || _ws.expert.severity >= error"
                        + " || ip.checksum.status == \"Bad\" || tcp.checksum.status == \"Bad\"")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(t.getInputStream().readAllBytes());
        assertTrue(t.waitFor(120, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, t.exitValue(), out);
        assertEquals("", out.strip(), "tshark flags these frames");
    }

    @Test
    void soRcvlowatHoldsABlockingRecvUntilThatMuchHasArrived() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(41, 1500);
        int[] fds = connect(p, 7000);
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        sb.setsockopt(fds[1], Sockets.SOL_SOCKET, Sockets.SO_RCVLOWAT, 10_000);
        assertEquals(10_000, sb.getsockopt(fds[1], Sockets.SOL_SOCKET, Sockets.SO_RCVLOWAT));
        sa.send(fds[0], ByteBuffer.wrap(new byte[6000]), 0);
        p.world.runFor(Duration.ofMillis(100));
        assertEquals(0, sb.poll(fds[1], io.jrump.net.socket.Readiness.POLLIN), "below the low-water mark: not readable");
        assertEquals(6000, sb.recv(fds[1], ByteBuffer.allocate(20_000), Sockets.MSG_DONTWAIT).length(),
                "a non-blocking recv takes what is there");
        sa.send(fds[0], ByteBuffer.wrap(new byte[9000]), 0);
        sa.send(fds[0], ByteBuffer.wrap(new byte[3000]), 0);
        Sockets.Received r = sb.recv(fds[1], ByteBuffer.allocate(20_000), 0);
        assertTrue(r.length() >= 10_000, "a blocking recv waited for 10,000 bytes, got " + r.length());
    }

    @Test
    void getsocknameAndGetpeernameNameBothEndsOfAConnection() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(71, 1500);
        int[] fds = connect(p, 80);
        Sockets.SocketAddress client = p.a.sockets().getsockname(fds[0]);
        assertEquals(client, p.b.sockets().getpeername(fds[1]));
        assertEquals(new Sockets.SocketAddress(StackSimTest.B, 80), p.a.sockets().getpeername(fds[0]));
        assertEquals(new Sockets.SocketAddress(StackSimTest.B, 80), p.b.sockets().getsockname(fds[1]));
        int unconnected = p.a.sockets().socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        assertEquals(io.jrump.hypercall.Errno.ENOTCONN,
                assertThrows(io.jrump.hypercall.ErrnoException.class, () -> p.a.sockets().getpeername(unconnected)).errno());
    }
}
