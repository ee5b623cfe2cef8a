package io.jrump.host.virtio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

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
}
