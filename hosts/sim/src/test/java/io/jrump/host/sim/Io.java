package io.jrump.host.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.HostBlockDevice.IoCompletion;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/** Block I/O for tests: start one operation and run the world until it completes. */
final class Io {
    record Result(long bytes, Errno error) {
    }

    private Io() {
    }

    static Result await(SimWorld world, Consumer<IoCompletion> op) {
        AtomicReference<Result> r = new AtomicReference<>();
        op.accept((bytes, error) -> r.set(new Result(bytes, error)));
        assertTrue(world.runUntil(() -> r.get() != null, Duration.ofSeconds(10)), "I/O never completed");
        return r.get();
    }

    static void write(SimWorld world, HostBlockDevice dev, long offset, byte[] data) {
        Result r = await(world, c -> dev.write(offset, ByteBuffer.wrap(data), c));
        assertNull(r.error());
        assertEquals(data.length, r.bytes());
    }

    static byte[] read(SimWorld world, HostBlockDevice dev, long offset, int length) {
        ByteBuffer dst = ByteBuffer.allocate(length);
        Result r = await(world, c -> dev.read(offset, dst, c));
        assertNull(r.error());
        return dst.array();
    }

    static void flush(SimWorld world, HostBlockDevice dev) {
        assertNull(await(world, dev::flush).error());
    }
}
