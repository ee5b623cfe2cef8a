package io.jrump.net.stack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.Sockets.SocketAddress;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The echo that deadlocked (issue 12), as a new user writes it from docs/rump-net.md: two kernels
 * on the JVM host's switch; on one, a server that accepts and then {@code recv}s 64 KiB and
 * {@code send}s it back until the end of the stream; on the other, a client that sends 10 MiB on
 * one thread and reads the echo on another, blocking calls throughout. Before the fix about one
 * run in three stalled for ever (all three threads blocked, the stacks exchanging ~200,000 ACKs a
 * second). Here it runs 200 times in a row, each bounded by a timeout; a stall fails with both
 * connections' state and both stacks' counters.
 */
class JvmEchoTest {
    static final int RUNS = 200;
    static final int BYTES = 10 << 20;
    static final long RUN_TIMEOUT_MILLIS = 20_000;

    @Test
    void theThreeThreadEchoCompletesByteExactEveryTime() throws Exception {
        for (int run = 0; run < RUNS; run++) {
            echoOnce(run);
        }
    }

    private static void echoOnce(int run) throws Exception {
        try (JvmPair p = new JvmPair("echo")) {
            NetStack client = p.a;
            NetStack server = p.b;
            Sockets ss = server.sockets();
            Sockets cs = client.sockets();
            AtomicReference<Throwable> failure = new AtomicReference<>();

            int listener = ss.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            ss.bind(listener, new SocketAddress(Ipv4Address.ANY, 7));
            ss.listen(listener, 4);
            Thread echo = thread("echo", failure, () -> {
                int c = ss.accept(listener);
                ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
                while (ss.recv(c, buf.clear(), 0).length() > 0) {
                    buf.flip();
                    while (buf.hasRemaining()) {
                        ss.send(c, buf, 0);
                    }
                }
                ss.close(c);
            });

            int c = cs.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            cs.connect(c, new SocketAddress(JvmPair.B, 7));
            byte[] data = new byte[BYTES];
            new Random(run).nextBytes(data);
            Thread writer = thread("writer", failure, () -> {
                for (int off = 0; off < data.length; off += 100_000) {
                    cs.send(c, ByteBuffer.wrap(data, off, Math.min(100_000, data.length - off)), 0);
                }
                cs.shutdown(c, Sockets.SHUT_WR);
            });
            byte[] got = new byte[BYTES];
            int[] read = {0};
            Thread reader = thread("reader", failure, () -> {
                ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
                int n;
                while ((n = cs.recv(c, buf.clear(), 0).length()) > 0) {
                    if (read[0] + n > got.length) {
                        throw new AssertionError("more echoed than sent");
                    }
                    System.arraycopy(buf.array(), 0, got, read[0], n);
                    read[0] += n;
                }
            });
            reader.join(RUN_TIMEOUT_MILLIS);
            writer.join(1000);
            echo.join(1000);
            if (reader.isAlive() || writer.isAlive() || failure.get() != null) {
                fail("run " + run + ": " + (failure.get() != null ? failure.get() : "stalled") + " after " + read[0]
                        + " of " + BYTES + " bytes echoed\n" + dump("client", client) + dump("server", server),
                        failure.get());
            }
            assertArrayEquals(data, got, "run " + run + ": the echo is byte-exact");
            cs.close(c);
            ss.close(listener);
        }
    }

    @FunctionalInterface
    interface Body {
        void run() throws Exception;
    }

    private static Thread thread(String name, AtomicReference<Throwable> failure, Body body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    static String dump(String name, NetStack stack) {
        return name + ":\n" + stack.tcpReport("  ");
    }
}
