package io.jrump.blk.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.cache.BufferCache;
import io.jrump.blk.cache.CacheOptions;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.BlockDevices.OpenMode;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random reads, writes and flushes through a buffer cache over a qcow2 image over a backing
 * image, against a byte-array model, seed by seed; after each sequence the image is reopened
 * from its file and compared again, and our check must find it clean.
 */
class Qcow2ModelTest {
    private static final int SIZE = 4 << 20;

    @TempDir
    Path dir;

    @Test
    void cacheOverQcow2OverABackingImageMatchesTheModel() throws Exception {
        try (JvmHost host = JvmHost.create("qcow2-model")) {
            for (long seed = 1; seed <= 8; seed++) {
                Random rnd = new Random(seed);
                byte[] model = new byte[SIZE];
                rnd.nextBytes(model);
                Path base = dir.resolve("base" + seed + ".raw");
                java.nio.file.Files.write(base, model);
                Path top = dir.resolve("top" + seed + ".qcow2");
                try (ImageFile f = new ImageFile(host.blockDevices().create(top.toString(), 0), host.scheduler())) {
                    Qcow2Image.create(f, SIZE, base.getFileName().toString(), "raw");
                }
                try (BlockDevice img = Images.open(host, top.toString(), false)) {
                    BufferCache cache = new BufferCache(img, new CacheOptions(32 * 4096, 4096, 32 * 1024, 16 * 1024),
                            host.clock());
                    for (int step = 0; step < 150; step++) {
                        int sectors = 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 300);
                        int first = rnd.nextInt(SIZE / 512 - sectors);
                        long off = first * 512L;
                        int len = sectors * 512;
                        switch (rnd.nextInt(5)) {
                            case 0, 1 -> {
                                byte[] data = new byte[len];
                                rnd.nextBytes(data);
                                cache.write(off, ByteBuffer.wrap(data));
                                System.arraycopy(data, 0, model, (int) off, len);
                            }
                            case 2 -> cache.flush();
                            default -> {
                                ByteBuffer got = ByteBuffer.allocate(len);
                                cache.read(off, got);
                                assertArrayEquals(Arrays.copyOfRange(model, (int) off, (int) off + len), got.array(),
                                        "seed " + seed + " step " + step);
                            }
                        }
                    }
                    cache.flush();
                    cache.close();
                }
                try (BlockDevice again = Images.open(host, top.toString(), true)) {
                    ByteBuffer all = ByteBuffer.allocate(SIZE);
                    again.read(0, all);
                    assertArrayEquals(model, all.array(), "seed " + seed + " after reopening");
                }
                try (ImageFile f = new ImageFile(host.blockDevices().open(top.toString(), OpenMode.READ_ONLY),
                        host.scheduler())) {
                    Qcow2Check.Result r = Qcow2Check.check(f);
                    assertTrue(r.isClean(), "seed " + seed + ": " + r.messages());
                }
            }
        }
    }
}
