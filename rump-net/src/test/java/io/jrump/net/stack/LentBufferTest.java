package io.jrump.net.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * send(2) copies straight from the caller's buffer, lent to the stack for the call. A caller that
 * stops waiting (here: interrupted while the send buffer is full) has its buffer back at once:
 * what the stack took is what its position says, and nothing it writes there afterwards is sent.
 */
class LentBufferTest {
    @Test
    void aSendGivenUpOnTakesNothingMoreFromTheCallersBuffer() throws Exception {
        try (JvmPair p = new JvmPair("lend")) {
            Sockets sa = p.a.sockets();
            Sockets sb = p.b.sockets();
            int[] fds = p.connect(80);
            int client = fds[0];
            int server = fds[1];

            byte[] data = new byte[8 << 20]; // far more than the buffers hold: the send blocks
            Arrays.fill(data, (byte) 'A');
            AtomicInteger taken = new AtomicInteger(-1);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread sender = new Thread(() -> {
                ByteBuffer buf = ByteBuffer.wrap(data);
                try {
                    sa.send(client, buf, 0);
                    failure.set(new AssertionError("the send returned without blocking"));
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EINTR) {
                        failure.set(e);
                    }
                }
                taken.set(buf.position());
                Arrays.fill(data, (byte) 'B'); // the caller's again: reuse it
            });
            sender.start();
            long until = System.nanoTime() + 10_000_000_000L;
            while (sender.getState() != Thread.State.WAITING && sender.getState() != Thread.State.TIMED_WAITING) {
                assertTrue(System.nanoTime() < until, "the send never blocked");
                Thread.sleep(5);
            }
            Thread.sleep(100); // the send buffer and the peer's window are full by now
            sender.interrupt();
            sender.join(10_000);
            assertEquals(null, failure.get());
            assertTrue(taken.get() > 0 && taken.get() < data.length, "took part of it: " + taken.get());
            ByteBuffer in = ByteBuffer.allocate(64 * 1024);
            long as = 0;
            long others = 0;
            while (as + others < taken.get()) { // reading opens the window: a send still going on would go on now
                int n = sb.recv(server, in.clear(), 0).length();
                for (int i = 0; i < n; i++) {
                    if (in.get(i) == 'A') {
                        as++;
                    } else {
                        others++;
                    }
                }
            }
            Thread.sleep(300);
            sb.setNonBlocking(server, true);
            try {
                int extra = sb.recv(server, in.clear(), 0).length();
                others += extra;
            } catch (ErrnoException e) {
                assertEquals(Errno.EAGAIN, e.errno(), "nothing more came");
            }
            assertEquals(0, others, "nothing written into the buffer after the caller gave up was sent");
            assertEquals(taken.get(), as, "exactly what the position said was taken");
        }
    }
}
