package io.jrump.host.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link FrameBatch}: frames kept in one buffer and delivered in order, read-only, with their flags. */
class FrameBatchTest {
    private record Got(byte[] bytes, int flags, boolean readOnly, boolean direct) {
    }

    private static List<Got> deliver(FrameBatch b) {
        List<Got> got = new ArrayList<>();
        b.deliverTo(new FrameReceiver() {
            @Override
            public void frameReceived(ByteBuffer frame) {
                throw new AssertionError("the host calls the two-argument method");
            }

            @Override
            public void frameReceived(ByteBuffer frame, int rxFlags) {
                byte[] bytes = new byte[frame.remaining()];
                frame.duplicate().get(bytes);
                got.add(new Got(bytes, rxFlags, frame.isReadOnly(), frame.isDirect()));
            }
        });
        return got;
    }

    /** Simulates a read(2) of {@code header} bytes of header and a frame of {@code n} bytes, each byte {@code fill}. */
    private static void read(FrameBatch b, int header, int n, byte fill, int flags) {
        int at = b.readOffset();
        ByteBuffer room = b.readRoom();
        assertTrue(room.remaining() >= header + n);
        for (int i = 0; i < header + n; i++) {
            room.put(room.position() + i, i < header ? 0 : fill);
        }
        b.add(at + header, n, flags, header + n);
    }

    @Test
    void deliversEveryFrameInOrderWithItsFlagsAndNoHeader() {
        FrameBatch b = new FrameBatch(1 << 16, 64, 2048);
        read(b, 10, 60, (byte) 1, 0);
        read(b, 10, 1514, (byte) 2, FrameReceiver.RX_CHECKSUM_PARTIAL);
        read(b, 10, 61, (byte) 3, FrameReceiver.RX_CHECKSUM_VALID);
        List<Got> got = deliver(b);
        assertEquals(3, got.size());
        int[] lengths = {60, 1514, 61};
        int[] flags = {0, FrameReceiver.RX_CHECKSUM_PARTIAL, FrameReceiver.RX_CHECKSUM_VALID};
        for (int i = 0; i < 3; i++) {
            Got g = got.get(i);
            assertEquals(lengths[i], g.bytes().length);
            assertEquals(flags[i], g.flags());
            assertTrue(g.readOnly() && g.direct(), "a read-only slice of the batch's direct buffer, not a copy");
            for (byte x : g.bytes()) {
                assertEquals(i + 1, x);
            }
        }
    }

    @Test
    void isFullAtItsFrameCountOrWhenTheNextReadMightNotFit() {
        FrameBatch byCount = new FrameBatch(1 << 20, 4, 2048);
        for (int i = 0; i < 4; i++) {
            assertFalse(byCount.isFull());
            read(byCount, 0, 100, (byte) i, 0);
        }
        assertTrue(byCount.isFull());
        assertThrows(IllegalStateException.class, () -> byCount.add(byCount.readOffset(), 10, 0, 10));

        FrameBatch byBytes = new FrameBatch(4096, 64, 2048);
        read(byBytes, 0, 1500, (byte) 1, 0);
        read(byBytes, 0, 1500, (byte) 2, 0);
        assertFalse(byBytes.isFull(), "4096 bytes of room: the third read still has 2048");
        read(byBytes, 0, 1500, (byte) 3, 0);
        assertTrue(byBytes.isFull());
        assertEquals(3, deliver(byBytes).size());
    }

    @Test
    void aClearedBatchIsReusedFromTheStart() {
        FrameBatch b = new FrameBatch(1 << 16, 8, 2048);
        read(b, 0, 100, (byte) 7, 0);
        int first = b.readOffset();
        b.clear();
        assertEquals(0, b.count());
        assertEquals(0, b.readOffset());
        read(b, 0, 50, (byte) 9, 0);
        List<Got> got = deliver(b);
        assertEquals(1, got.size());
        assertEquals(50, got.get(0).bytes().length);
        assertTrue(first > 0);
    }

    @Test
    void refusesAFrameOutsideItsReadRoom() {
        FrameBatch b = new FrameBatch(1 << 16, 8, 2048);
        assertThrows(IllegalStateException.class, () -> b.add(0, 100, 0, 50));
        assertThrows(IllegalStateException.class, () -> b.add(0, 100, 0, 4096));
    }
}
