package io.jrump.host.virtio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.HostBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VhostUserBlockTest {
    @TempDir
    Path dir;

    private record Result(long bytes, Errno error) {
    }

    private static Result await(java.util.function.Consumer<HostBlockDevice.IoCompletion> op) throws Exception {
        CompletableFuture<Result> f = new CompletableFuture<>();
        op.accept((bytes, error) -> f.complete(new Result(bytes, error)));
        return f.get(30, TimeUnit.SECONDS);
    }

    @Test
    void readsWhatTheImageHoldsAndWritesReachIt() throws Exception {
        byte[] content = new byte[8 << 20];
        new Random(1).nextBytes(content);
        Path image = dir.resolve("disk.img");
        Files.write(image, content);
        try (StorageDaemon qsd = StorageDaemon.export(image, "raw", dir.resolve("blk.sock"), true);
                VirtioHost host = VirtioHost.create("t")) {
            HostBlockDevice dev = host.blockDevices().open(qsd.deviceName(), OpenMode.READ_WRITE);
            assertEquals(content.length, dev.size());
            ByteBuffer all = ByteBuffer.allocate(content.length);
            Result r = await(c -> dev.read(0, all, c));
            assertNull(r.error());
            assertArrayEquals(content, all.array());
            byte[] patch = new byte[3000];
            new Random(2).nextBytes(patch);
            r = await(c -> dev.write(1000, ByteBuffer.wrap(patch), c));
            assertNull(r.error());
            assertEquals(3000, r.bytes());
            assertNull(await(dev::flush).error());
            dev.close();
            System.arraycopy(patch, 0, content, 1000, patch.length);
            assertArrayEquals(content, Files.readAllBytes(image));
        }
    }

    /**
     * The back-end is killed with requests about to go out, and started again on the same socket:
     * the driver reconnects, sends what was in flight again, and every call completes right.
     */
    @Test
    void aRestartedBackEndIsReconnectedAndNothingIsLost() throws Exception {
        byte[] content = new byte[4 << 20];
        new Random(3).nextBytes(content);
        Path image = dir.resolve("restart.img");
        Files.write(image, content);
        Path socket = dir.resolve("restart.sock");
        StorageDaemon first = StorageDaemon.export(image, "raw", socket, true);
        try (VirtioHost host = VirtioHost.create("r")) {
            HostBlockDevice dev = host.blockDevices().open(first.deviceName(), OpenMode.READ_WRITE);
            ByteBuffer before = ByteBuffer.allocate(65536);
            assertNull(await(c -> dev.read(0, before, c)).error());
            first.kill();
            Files.deleteIfExists(socket);
            // Calls made while the back-end is gone wait for it.
            CompletableFuture<Result> read = new CompletableFuture<>();
            ByteBuffer all = ByteBuffer.allocate(content.length);
            dev.read(0, all, (n, e) -> read.complete(new Result(n, e)));
            byte[] patch = new byte[8192];
            new Random(4).nextBytes(patch);
            CompletableFuture<Result> write = new CompletableFuture<>();
            dev.write(40960, ByteBuffer.wrap(patch), (n, e) -> write.complete(new Result(n, e)));
            Thread.sleep(500);
            try (StorageDaemon second = StorageDaemon.export(image, "raw", socket, true)) {
                Result r = read.get(30, TimeUnit.SECONDS);
                assertNull(r.error(), "the read after the restart");
                Result w = write.get(30, TimeUnit.SECONDS);
                assertNull(w.error(), "the write after the restart");
                assertNull(await(dev::flush).error());
                byte[] expected = content.clone();
                System.arraycopy(patch, 0, expected, 40960, patch.length);
                byte[] got = all.array();
                // The read may have run before or after the write: outside the patch it is the old content.
                assertArrayEquals(java.util.Arrays.copyOf(content, 40960), java.util.Arrays.copyOf(got, 40960));
                dev.close();
                assertArrayEquals(expected, Files.readAllBytes(image));
            }
        } finally {
            first.close();
        }
    }

    /** Closing the device while it waits for its back-end to come back does not wait out the 10 s. */
    @Test
    void closingWhileTheBackEndIsAwayReturnsAtOnce() throws Exception {
        Path image = dir.resolve("gone.img");
        Files.write(image, new byte[1 << 20]);
        Path socket = dir.resolve("gone.sock");
        try (StorageDaemon qsd = StorageDaemon.export(image, "raw", socket, true);
                VirtioHost host = VirtioHost.create("g")) {
            HostBlockDevice dev = host.blockDevices().open(qsd.deviceName(), OpenMode.READ_WRITE);
            assertNull(await(c -> dev.read(0, ByteBuffer.allocate(4096), c)).error());
            qsd.kill();
            Thread.sleep(300); // for the driver to see it go and start waiting
            long start = System.nanoTime();
            dev.close();
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(millis < 2_000, "close took " + millis + " ms");
            assertNull(((io.jrump.host.virtio.blk.VirtioBlockDevice) dev).brokenReason(), "closed, not broken");
        }
    }
}
