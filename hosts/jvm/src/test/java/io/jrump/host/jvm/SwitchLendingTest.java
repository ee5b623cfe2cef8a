package io.jrump.host.jvm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOptions;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link HostNic#sendLent} on the in-JVM switch: a frame for one port reaches it as the sender's
 * own buffer and is released after the receiver had it; a flooded frame is copied and released at
 * once; every path releases exactly once.
 */
class SwitchLendingTest {
    private static ByteBuffer frame(MacAddress to, MacAddress from, int length) {
        ByteBuffer f = ByteBuffer.allocateDirect(length);
        to.write(f, 0);
        from.write(f, 6);
        for (int i = 12; i < length; i++) {
            f.put(i, (byte) i);
        }
        return f;
    }

    @Test
    void aFrameForOnePortIsLentOnAndReleasedAfterItsReceiverHadIt() throws Exception {
        SwitchRegistry switches = new SwitchRegistry();
        try (JvmHost a = JvmHost.builder().name("a").switches(switches).build();
                JvmHost b = JvmHost.builder().name("b").switches(switches).build()) {
            List<ByteBuffer> seen = new CopyOnWriteArrayList<>();
            List<String> order = new CopyOnWriteArrayList<>();
            CountDownLatch released = new CountDownLatch(1);
            HostNic tx = a.networkInterfaces().open("sw", NicOptions.defaults(), f -> { });
            HostNic rx = b.networkInterfaces().open("sw", NicOptions.defaults(), f -> {
                seen.add(f);
                order.add("received");
            });
            // The switch learns where rx is from a frame rx sends.
            rx.send(frame(tx.mac(), rx.mac(), 60));
            ByteBuffer lent = frame(rx.mac(), tx.mac(), 1000);
            AtomicInteger releases = new AtomicInteger();
            tx.sendLent(lent, FrameOffload.NONE, () -> {
                order.add("released");
                releases.incrementAndGet();
                released.countDown();
            });
            assertTrue(released.await(10, TimeUnit.SECONDS));
            assertEquals(List.of("received", "released"), order);
            assertSame(lent, seen.get(0), "the sender's own buffer: no copy");
            assertEquals(1, releases.get());
        }
    }

    @Test
    void aFloodedFrameIsCopiedAndReleasedAtOnce() throws Exception {
        SwitchRegistry switches = new SwitchRegistry();
        try (JvmHost a = JvmHost.builder().name("a").switches(switches).build();
                JvmHost b = JvmHost.builder().name("b").switches(switches).build();
                JvmHost c = JvmHost.builder().name("c").switches(switches).build()) {
            CountDownLatch both = new CountDownLatch(2);
            List<byte[]> got = new CopyOnWriteArrayList<>();
            HostNic tx = a.networkInterfaces().open("sw", NicOptions.defaults(), f -> { });
            for (JvmHost h : List.of(b, c)) {
                h.networkInterfaces().open("sw", NicOptions.defaults(), f -> {
                    byte[] bytes = new byte[f.remaining()];
                    f.duplicate().get(bytes);
                    got.add(bytes);
                    both.countDown();
                });
            }
            ByteBuffer lent = frame(MacAddress.BROADCAST, tx.mac(), 300);
            byte[] sent = new byte[300];
            lent.duplicate().get(sent);
            AtomicInteger releases = new AtomicInteger();
            tx.sendLent(lent, FrameOffload.NONE, releases::incrementAndGet);
            assertEquals(1, releases.get(), "released before sendLent returned");
            lent.clear();
            while (lent.hasRemaining()) {
                lent.put((byte) 0); // the sender may reuse it now: the receivers have copies
            }
            assertTrue(both.await(10, TimeUnit.SECONDS));
            for (byte[] g : got) {
                assertArrayEquals(sent, g);
            }
        }
    }

    @Test
    void aFrameThatFailsItsChecksIsReleasedAndTheErrorThrown() throws Exception {
        SwitchRegistry switches = new SwitchRegistry();
        try (JvmHost a = JvmHost.builder().name("a").switches(switches).build()) {
            HostNic tx = a.networkInterfaces().open("sw", NicOptions.defaults(), f -> { });
            AtomicInteger releases = new AtomicInteger();
            ErrnoException e = assertThrows(ErrnoException.class,
                    () -> tx.sendLent(frame(MacAddress.BROADCAST, tx.mac(), 1600), FrameOffload.NONE, releases::incrementAndGet));
            assertEquals(Errno.EMSGSIZE, e.errno());
            assertEquals(1, releases.get());
            tx.close();
            assertThrows(ErrnoException.class,
                    () -> tx.sendLent(frame(MacAddress.BROADCAST, tx.mac(), 60), FrameOffload.NONE, releases::incrementAndGet));
            assertEquals(2, releases.get());
        }
    }

    @Test
    void aLentFrameTheLoopNeverDeliversIsReleasedWhenItCloses() throws Exception {
        SwitchRegistry switches = new SwitchRegistry();
        try (JvmHost a = JvmHost.builder().name("a").switches(switches).build()) {
            JvmHost b = JvmHost.builder().name("b").switches(switches).polled().build(); // runs only when polled
            HostNic tx = a.networkInterfaces().open("sw", NicOptions.defaults(), f -> { });
            List<ByteBuffer> seen = new CopyOnWriteArrayList<>();
            HostNic rx = b.networkInterfaces().open("sw", NicOptions.defaults(), seen::add);
            rx.send(frame(tx.mac(), rx.mac(), 60));
            AtomicInteger releases = new AtomicInteger();
            tx.sendLent(frame(rx.mac(), tx.mac(), 100), FrameOffload.NONE, releases::incrementAndGet);
            assertEquals(0, releases.get(), "waiting in b's loop, not yet delivered");
            b.close();
            assertEquals(1, releases.get(), "given back when the loop dropped it");
            assertTrue(seen.isEmpty());
        }
    }
}
