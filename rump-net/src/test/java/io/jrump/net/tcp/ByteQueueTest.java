package io.jrump.net.tcp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The socket queues: bytes in and out in any cut, the pool's memory given back, nothing copied where none should be. */
class ByteQueueTest {
    /**
     * A pool of its own, without thread caches (a cached buffer would count as still in use), so
     * that what it counts is this test's alone.
     */
    private final PooledByteBufAllocator pool = new PooledByteBufAllocator(true, 0, 1, 8192, 9, 0, 0, false);

    private long activeDirect() {
        return pool.metric().directArenas().stream().mapToLong(a -> a.numActiveAllocations()).sum();
    }

    @Test
    void bytesComeOutInOrderWhateverTheCutsAndThePoolGetsEveryChunkBack() {
        ByteQueue q = new ByteQueue(pool);
        Random r = new Random(7);
        byte[] data = new byte[300_000];
        r.nextBytes(data);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int in = 0;
        while (out.size() < data.length) {
            if (in < data.length && r.nextBoolean()) {
                int n = Math.min(data.length - in, 1 + r.nextInt(40_000));
                switch (r.nextInt(3)) {
                    case 0 -> q.append(ByteBuffer.wrap(data, in, n), n);
                    case 1 -> q.append(Unpooled.wrappedBuffer(data), in, n);
                    default -> q.appendOwned(Unpooled.copiedBuffer(data, in, n));
                }
                in += n;
            } else if (!q.isEmpty()) {
                int n = 1 + r.nextInt(50_000);
                if (r.nextBoolean()) {
                    ByteBuffer dst = ByteBuffer.allocate(n);
                    q.read(dst);
                    out.write(dst.array(), 0, dst.position());
                } else {
                    ByteBuf got = q.readRetained(n);
                    byte[] b = new byte[got.readableBytes()];
                    got.readBytes(b);
                    got.release();
                    out.write(b, 0, b.length);
                }
            }
            assertEquals(in - out.size(), q.size());
        }
        assertArrayEquals(data, out.toByteArray());
        assertEquals(0, activeDirect(), "every chunk went back to the pool");
    }

    @Test
    void aViewSharesTheQueuedBytesAcrossChunksAndDropReleasesThem() {
        ByteQueue q = new ByteQueue(pool);
        byte[] data = new byte[3 * ByteQueue.CHUNK + 100];
        new Random(3).nextBytes(data);
        for (int off = 0; off < data.length; off += 1000) {
            int n = Math.min(1000, data.length - off);
            q.append(ByteBuffer.wrap(data, off, n), n);
        }
        for (int[] cut : new int[][] {{0, 10}, {ByteQueue.CHUNK - 5, 10}, {100, 2 * ByteQueue.CHUNK + 7}, {0, data.length}}) {
            ByteBuf v = q.view(cut[0], cut[1]);
            byte[] got = new byte[cut[1]];
            v.getBytes(v.readerIndex(), got);
            assertArrayEquals(java.util.Arrays.copyOfRange(data, cut[0], cut[0] + cut[1]), got, "view at " + cut[0]);
        }
        assertThrows(IndexOutOfBoundsException.class, () -> q.view(data.length - 5, 10));
        assertTrue(activeDirect() > 0);
        q.drop(ByteQueue.CHUNK + 1);
        assertEquals(data.length - ByteQueue.CHUNK - 1, q.size());
        ByteBuf rest = q.view(0, 5);
        byte[] five = new byte[5];
        rest.getBytes(rest.readerIndex(), five);
        assertArrayEquals(java.util.Arrays.copyOfRange(data, ByteQueue.CHUNK + 1, ByteQueue.CHUNK + 6), five);
        assertThrows(IllegalArgumentException.class, () -> q.drop(q.size() + 1));
        q.drop(q.size());
        assertEquals(0, activeDirect(), "a drained queue holds no chunk");
    }

    @Test
    void anOwnedBufferIsKeptWithoutACopyAndReleasedWhenItsBytesAreAcknowledged() {
        ByteQueue q = new ByteQueue(pool);
        ByteBuf app = pool.directBuffer(4096).writeZero(4096);
        q.appendOwned(app.retainedSlice());
        app.release(); // the application lets go, as ChannelOutboundBuffer does once written
        assertEquals(1, app.refCnt(), "the queue's slice keeps it");
        assertEquals(app.memoryAddress(), q.view(0, 10).memoryAddress(), "the very same memory: no copy");
        q.drop(4000);
        assertEquals(1, app.refCnt());
        q.drop(96);
        assertEquals(0, app.refCnt(), "acknowledged: back to the pool");
        ByteBuf empty = pool.directBuffer(8);
        q.appendOwned(empty);
        assertEquals(0, empty.refCnt(), "an empty buffer is released at once");
    }

    /** A view over many small owned buffers (a 64 KiB segment of 1 KiB writes) must not consolidate and release them. */
    @Test
    void aViewOverManyBuffersTakesNoReferenceAwayFromThem() {
        ByteQueue q = new ByteQueue(pool);
        java.util.List<ByteBuf> bufs = new java.util.ArrayList<>();
        for (int i = 0; i < 64; i++) {
            ByteBuf b = pool.directBuffer(1024).writeZero(1024);
            bufs.add(b);
            q.appendOwned(b);
        }
        ByteBuf v = q.view(100, 60_000);
        assertEquals(60_000, v.readableBytes());
        byte[] sink = new byte[60_000];
        v.getBytes(v.readerIndex(), sink);
        for (ByteBuf b : bufs) {
            assertEquals(1, b.refCnt(), "still the queue's, as before the view");
        }
        q.drop(q.size());
        assertEquals(0, activeDirect());
    }

    @Test
    void releaseGivesBackEverythingAndLeavesAnEmptyQueue() {
        ByteQueue q = new ByteQueue(pool);
        q.append(ByteBuffer.allocate(100_000), 100_000);
        q.appendOwned(pool.directBuffer(10).writeZero(10));
        assertTrue(activeDirect() > 0);
        q.release();
        assertEquals(0, q.size());
        assertEquals(0, activeDirect());
        q.append(ByteBuffer.allocate(10), 10);
        assertEquals(10, q.size(), "usable again");
        q.release();
    }
}
