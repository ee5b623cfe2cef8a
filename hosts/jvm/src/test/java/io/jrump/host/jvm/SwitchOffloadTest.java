package io.jrump.host.jvm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Checksum offload on the in-JVM switch: passed on to a receiver that takes it, completed for one that does not. */
class SwitchOffloadTest {
    private record Got(byte[] frame, int flags) {
    }

    private static FrameReceiver into(BlockingQueue<Got> q) {
        return new FrameReceiver() {
            @Override
            public void frameReceived(ByteBuffer frame) {
                frameReceived(frame, 0);
            }

            @Override
            public void frameReceived(ByteBuffer frame, int rxFlags) {
                byte[] b = new byte[frame.remaining()];
                frame.duplicate().get(b);
                q.add(new Got(b, rxFlags));
            }
        };
    }

    /** RFC 1071, byte at a time, as a reference. */
    private static int fold(byte[] b, int from) {
        long sum = 0;
        int i = from;
        for (; i + 1 < b.length; i += 2) {
            sum += (b[i] & 0xff) << 8 | (b[i + 1] & 0xff);
        }
        if (i < b.length) {
            sum += (b[i] & 0xff) << 8;
        }
        while (sum >>> 16 != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) sum;
    }

    @Test
    void aPartialChecksumReachesAnOffloadingPortAsItIsAndAnyOtherCompleted() throws Exception {
        SwitchRegistry switches = new SwitchRegistry();
        try (JvmHost a = JvmHost.builder().name("tx").switches(switches).build();
                JvmHost b = JvmHost.builder().name("offloading").switches(switches).build();
                JvmHost c = JvmHost.builder().name("plain").switches(switches).build()) {
            NicOptions withOffloads = NicOptions.defaults().withOffloads(NicOffload.ALL);
            HostNic tx = a.networkInterfaces().open("sw", withOffloads, f -> { });
            assertEquals(java.util.Set.of(NicOffload.TX_CHECKSUM, NicOffload.RX_CHECKSUM), tx.offloads(),
                    "checksums, not segmentation: frames stay within the MTU");
            BlockingQueue<Got> toB = new ArrayBlockingQueue<>(4);
            BlockingQueue<Got> toC = new ArrayBlockingQueue<>(4);
            b.networkInterfaces().open("sw", withOffloads, into(toB));
            c.networkInterfaces().open("sw", NicOptions.defaults(), into(toC));

            byte[] frame = new byte[14 + 20 + 20 + 777]; // odd payload: the last byte pads
            new Random(9).nextBytes(frame);
            MacAddress.BROADCAST.write(ByteBuffer.wrap(frame), 0);
            tx.mac().write(ByteBuffer.wrap(frame), 6);
            int start = 14 + 20;
            int field = start + 16;
            frame[field] = 0x12; // what the sender left: the pseudo-header sum
            frame[field + 1] = 0x34;
            tx.send(ByteBuffer.wrap(frame), FrameOffload.checksum(start, 16));

            Got atB = toB.poll(10, TimeUnit.SECONDS);
            assertArrayEquals(frame, atB.frame(), "passed on as it was");
            assertEquals(FrameReceiver.RX_CHECKSUM_PARTIAL, atB.flags());
            Got atC = toC.poll(10, TimeUnit.SECONDS);
            assertEquals(0, atC.flags());
            int withPseudoHeader = fold(atC.frame(), start) + 0x1234;
            withPseudoHeader = (withPseudoHeader & 0xffff) + (withPseudoHeader >>> 16);
            assertEquals(0xffff, withPseudoHeader, "completed: with the pseudo-header sum, all ones, as a receiver verifies it");
            byte[] rest = atC.frame().clone();
            rest[field] = frame[field];
            rest[field + 1] = frame[field + 1];
            assertArrayEquals(frame, rest, "only the checksum field changed");
        }
    }

    @Test
    void aPortWithoutOffloadsRefusesAPartialChecksum() throws Exception {
        SwitchRegistry switches = new SwitchRegistry();
        try (JvmHost a = JvmHost.builder().name("tx").switches(switches).build()) {
            HostNic tx = a.networkInterfaces().open("sw", NicOptions.defaults(), f -> { });
            assertTrue(tx.offloads().isEmpty());
            ByteBuffer frame = ByteBuffer.allocate(80);
            assertEquals(Errno.EOPNOTSUPP, assertThrows(ErrnoException.class,
                    () -> tx.send(frame, FrameOffload.checksum(34, 16))).errno());
        }
    }
}
