package io.jrump.net.stack;

import static io.jrump.net.stack.StackTcpTest.connect;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * TCP_CONGESTION and net.ipv4.tcp_congestion_control, as on Linux: the algorithm a connection
 * uses is its socket's choice, else the stack's default (cubic); each carries a lossy transfer
 * byte-exact, and the connection reports the one it runs.
 */
class TcpCongestionControlTest {
    @ParameterizedTest(name = "{0} chosen by {1}")
    @CsvSource({"reno, socket", "cubic, socket", "reno, sysctl", "cubic, sysctl"})
    void eachAlgorithmCarriesALossyTransferByteExact(String algorithm, String chosenBy) throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(algorithm.hashCode() + chosenBy.hashCode(), 1500);
        if (chosenBy.equals("sysctl")) {
            p.a.sysctl("net.ipv4.tcp_congestion_control", algorithm);
        }
        int[] fds = connect(p, 80);
        Sockets sa = p.a.sockets();
        if (chosenBy.equals("socket")) {
            sa.setsockopt(fds[0], Sockets.IPPROTO_TCP, Sockets.TCP_CONGESTION, algorithm);
        }
        assertEquals(algorithm, sa.getsockoptString(fds[0], Sockets.IPPROTO_TCP, Sockets.TCP_CONGESTION));
        TcpConnection c = sa.connectionOf(fds[0]);
        assertEquals(algorithm, sa.onLoop(() -> c.cc.name()), "the connection runs it");
        assertTrue(p.a.tcpConnections().get(0).toString().contains(" " + algorithm + " "));
        p.world.link("lan").setLoss(0.02);
        byte[] data = new byte[2 << 20];
        new Random(7).nextBytes(data);
        assertArrayEquals(data, StackTcpTest.transfer(sa, fds[0], p.b.sockets(), fds[1], data));
        assertTrue(p.a.stats().get("tcp.fast_retransmit") > 0, "losses went through the algorithm's recovery");
        assertEquals(algorithm, sa.onLoop(() -> c.cc.name()));
    }

    @Test
    void theDefaultIsCubicAndUnknownNamesAreRefusedWithEnoent() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(5, 1500);
        assertEquals("cubic", p.a.sysctlString("net.ipv4.tcp_congestion_control"));
        assertEquals("reno cubic", p.a.sysctlString("net.ipv4.tcp_available_congestion_control"));
        Sockets sa = p.a.sockets();
        int fd = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        assertEquals("cubic", sa.getsockoptString(fd, Sockets.IPPROTO_TCP, Sockets.TCP_CONGESTION));
        assertEquals(Errno.ENOENT, assertThrows(ErrnoException.class,
                () -> sa.setsockopt(fd, Sockets.IPPROTO_TCP, Sockets.TCP_CONGESTION, "bbr")).errno());
        assertEquals(Errno.ENOENT, assertThrows(ErrnoException.class,
                () -> p.a.sysctl("net.ipv4.tcp_congestion_control", "vegas")).errno());
        assertEquals(Errno.ENOPROTOOPT, assertThrows(ErrnoException.class,
                () -> sa.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, "big")).errno());
        assertEquals("cubic", p.a.sysctlString("net.ipv4.tcp_congestion_control"), "a refused name changes nothing");
    }

    @Test
    void switchingAnOpenConnectionKeepsItsWindow() throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(6, 1500);
        int[] fds = connect(p, 80);
        Sockets sa = p.a.sockets();
        byte[] data = new byte[1 << 20];
        StackTcpTest.transfer(sa, fds[0], p.b.sockets(), fds[1], data);
        TcpConnection c = sa.connectionOf(fds[0]);
        long cwnd = sa.onLoop(() -> c.cc.cwnd());
        sa.setsockopt(fds[0], Sockets.IPPROTO_TCP, Sockets.TCP_CONGESTION, "reno");
        assertEquals("reno", sa.onLoop(() -> c.cc.name()));
        assertEquals(cwnd, (long) sa.onLoop(() -> c.cc.cwnd()), "the new algorithm starts from the current window");
        assertArrayEquals(data, StackTcpTest.transfer(sa, fds[0], p.b.sockets(), fds[1], data));
    }
}
