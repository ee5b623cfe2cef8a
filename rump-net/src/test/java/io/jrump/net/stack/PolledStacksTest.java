package io.jrump.net.stack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOptions;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.Sockets.SocketAddress;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Run-to-completion on the JVM host: two kernels without loop threads, both driven by the test's
 * one thread — non-blocking calls and polls, as an application drives smoltcp.
 */
class PolledStacksTest {
    @Test
    void oneThreadDrivesTwoKernelsThroughAConnection() throws Exception {
        try (JvmPair p = new JvmPair("polled", true, NicOptions.mtu(1500), NicOptions.mtu(1500))) {
            JvmHost ha = p.hostA;
            JvmHost hb = p.hostB;
            NetStack a = p.a;
            NetStack b = p.b;
            Sockets sa = a.sockets();
            Sockets sb = b.sockets();
            int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            sb.bind(listener, new SocketAddress(Ipv4Address.ANY, 80));
            sb.listen(listener, 4);
            sb.setNonBlocking(listener, true);
            int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            sa.setNonBlocking(client, true);
            try {
                sa.connect(client, new SocketAddress(JvmPair.B, 80));
            } catch (ErrnoException e) {
                assertEquals(Errno.EINPROGRESS, e.errno());
            }
            long deadline = System.nanoTime() + 20_000_000_000L;
            int server = -1;
            while (server < 0) {
                ha.poll();
                hb.poll();
                try {
                    server = sb.accept(listener);
                } catch (ErrnoException e) {
                    assertEquals(Errno.EAGAIN, e.errno());
                }
                assertTrue(System.nanoTime() < deadline, "the handshake stalled");
            }
            sb.setNonBlocking(server, true);

            byte[] data = new byte[4 << 20];
            new Random(15).nextBytes(data);
            ByteBuffer out = ByteBuffer.wrap(data);
            ByteBuffer in = ByteBuffer.allocate(256 * 1024);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            while (got.size() < data.length) {
                if (out.hasRemaining()) {
                    try {
                        sa.send(client, out, Sockets.MSG_DONTWAIT);
                    } catch (ErrnoException e) {
                        assertEquals(Errno.EAGAIN, e.errno());
                    }
                }
                boolean ran = ha.poll() | hb.poll();
                try {
                    int n = sb.recv(server, in.clear(), Sockets.MSG_DONTWAIT).length();
                    got.write(in.array(), 0, n);
                } catch (ErrnoException e) {
                    assertEquals(Errno.EAGAIN, e.errno());
                    if (!ran) {
                        Thread.onSpinWait(); // a timer may be due soon (a delayed ACK): poll again
                    }
                }
                assertTrue(System.nanoTime() < deadline, "stalled after " + got.size() + " bytes");
            }
            assertArrayEquals(data, got.toByteArray(), "byte-exact");
            assertTrue(Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                    .noneMatch(n -> n.startsWith("jrump-loop-polled")), "the test's thread did it all");
        }
    }
}
