package io.jrump.blk.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockStats;
import io.jrump.blk.HostDisk;
import io.jrump.host.sim.SimDisk;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The buffer cache on the simulation host, against a byte-array model and through power cuts. */
class BufferCacheTest {
    private static final int SIZE = 4 << 20;
    /** Small enough that the model tests evict constantly. */
    private static final CacheOptions SMALL = new CacheOptions(64 * 4096, 4096, 64 * 1024, 128 * 1024);

    private static byte[] read(BufferCache c, long off, int len) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(len);
        c.read(off, b);
        return b.array();
    }

    @Test
    void requestsFromTheStreamingSizeUpGoAroundTheCache() throws Exception {
        SimWorld world = new SimWorld(1);
        SimHost host = world.newHost("t");
        HostDisk disk = HostDisk.create(host, "d", SIZE);
        BufferCache cache = new BufferCache(disk, CacheOptions.defaults().withStreamBytes(64 * 1024), host.clock());
        byte[] data = new byte[64 * 1024];
        new Random(3).nextBytes(data);
        cache.write(1 << 20, ByteBuffer.wrap(data));
        assertEquals(0, cache.cacheStats().bytesCached(), "a 64 KiB write goes straight down");
        assertArrayEquals(data, read(cache, 1 << 20, data.length));
        assertEquals(0, cache.cacheStats().bytesCached(), "so does a 64 KiB read of uncached blocks");
        read(cache, 1 << 20, 4096);
        assertEquals(4096, cache.cacheStats().bytesCached(), "a small read is cached");
        byte[] got = read(cache, 1 << 20, data.length);
        assertArrayEquals(data, got, "a large read over a cached block goes through the cache");
        assertThrows(IllegalArgumentException.class, () -> CacheOptions.defaults().withStreamBytes(512));
    }

    @Test
    void randomReadsWritesDiscardsAndFlushesMatchAByteArrayModel() throws Exception {
        for (long seed = 1; seed <= 20; seed++) {
            SimWorld world = new SimWorld(seed);
            SimHost host = world.newHost("t");
            HostDisk disk = HostDisk.create(host, "d", SIZE);
            BufferCache cache = new BufferCache(disk, SMALL, host.clock());
            byte[] model = new byte[SIZE];
            Random rnd = new Random(seed);
            for (int step = 0; step < 300; step++) {
                int sectors = 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 300);
                long off = 512L * rnd.nextInt(SIZE / 512 - sectors);
                int len = sectors * 512;
                switch (rnd.nextInt(10)) {
                    case 0, 1, 2, 3 -> {
                        byte[] data = new byte[len];
                        rnd.nextBytes(data);
                        cache.write(off, ByteBuffer.wrap(data));
                        System.arraycopy(data, 0, model, (int) off, len);
                    }
                    case 4 -> cache.flush();
                    case 5 -> {
                        // Either zeros or old bytes may come back; the model takes what the cache says
                        // after checking it is one of the two.
                        cache.discard(off, len);
                        byte[] got = read(cache, off, len);
                        for (int i = 0; i < len; i++) {
                            byte old = model[(int) off + i];
                            assertTrue(got[i] == 0 || got[i] == old, "seed " + seed + " byte " + (off + i));
                        }
                        System.arraycopy(got, 0, model, (int) off, len);
                    }
                    default -> assertArrayEquals(Arrays.copyOfRange(model, (int) off, (int) off + len),
                            read(cache, off, len), "seed " + seed + " step " + step);
                }
                assertTrue(cache.cacheStats().bytesCached() <= SMALL.budgetBytes());
            }
            cache.flush();
            ByteBuffer all = ByteBuffer.allocate(SIZE);
            disk.read(0, all);
            assertArrayEquals(model, all.array(), "after flush the device holds everything, seed " + seed);
            assertTrue(cache.cacheStats().peakBytesCached() <= SMALL.budgetBytes());
            assertTrue(cache.cacheStats().evictions() > 0, "the model test exercised eviction");
        }
    }

    @Test
    void flushedDataSurvivesPowerCutsAndUnflushedDataNeverCorruptsIt() throws Exception {
        int torn = 0;
        for (long seed = 1; seed <= 40; seed++) {
            SimWorld world = new SimWorld(seed);
            SimHost host = world.newHost("t");
            SimDisk sim = world.createDisk("d", SIZE);
            sim.setTornWrites(true);
            HostDisk disk = HostDisk.open(host, "d", OpenMode.READ_WRITE);
            BufferCache cache = new BufferCache(disk, SMALL, host.clock());
            byte[] flushed = new byte[SIZE];
            byte[] current = new byte[SIZE];
            boolean[] touched = new boolean[SIZE / 512];
            Random rnd = new Random(seed * 31);
            int cutAt = 50 + rnd.nextInt(200);
            for (int step = 0; step < cutAt; step++) {
                if (rnd.nextInt(8) == 0) {
                    cache.flush();
                    System.arraycopy(current, 0, flushed, 0, SIZE);
                    Arrays.fill(touched, false);
                } else {
                    int sectors = 1 + rnd.nextInt(64);
                    int first = rnd.nextInt(SIZE / 512 - sectors);
                    byte[] data = new byte[sectors * 512];
                    rnd.nextBytes(data);
                    cache.write(first * 512L, ByteBuffer.wrap(data));
                    System.arraycopy(data, 0, current, first * 512, data.length);
                    Arrays.fill(touched, first, first + sectors, true);
                }
            }
            torn += sim.unflushedWrites() > 0 ? 1 : 0;
            sim.powerCut();
            HostDisk after = HostDisk.open(host, "d", OpenMode.READ_ONLY);
            ByteBuffer all = ByteBuffer.allocate(SIZE);
            after.read(0, all);
            for (int s = 0; s < SIZE / 512; s++) {
                if (!touched[s]) {
                    assertArrayEquals(Arrays.copyOfRange(flushed, s * 512, s * 512 + 512),
                            Arrays.copyOfRange(all.array(), s * 512, s * 512 + 512),
                            "seed " + seed + ": flushed sector " + s + " changed by a power cut");
                }
            }
            ErrnoException dead = assertThrows(ErrnoException.class, () -> cache.flush());
            assertEquals(Errno.EIO, dead.errno());
        }
        assertTrue(torn > 0, "some power cuts found unflushed writes on the disk");
    }

    @Test
    void sequentialReadsReadAheadInLargeRequests() throws Exception {
        SimWorld world = new SimWorld(5);
        SimHost host = world.newHost("t");
        HostDisk disk = HostDisk.create(host, "d", SIZE);
        BufferCache cache = new BufferCache(disk, CacheOptions.defaults(), host.clock());
        for (long off = 0; off < SIZE; off += 4096) {
            cache.read(off, ByteBuffer.allocate(4096));
        }
        CacheStats s = cache.cacheStats();
        assertTrue(s.readAhead() > SIZE / 4096 / 2, "most blocks came by read-ahead: " + s);
        long requests = disk.stats().get(BlockStats.Op.READ).count();
        assertTrue(requests < SIZE / 4096 / 16, requests + " read requests for " + SIZE / 4096 + " blocks");
    }

    @Test
    void aRandomMissBringsItsAlignedWindowAlongWithReadAround() throws Exception {
        SimWorld world = new SimWorld(6);
        SimHost host = world.newHost("t");
        HostDisk disk = HostDisk.create(host, "d", SIZE);
        byte[] data = new byte[SIZE];
        new Random(6).nextBytes(data);
        disk.write(0, ByteBuffer.wrap(data));
        BufferCache cache = new BufferCache(disk, CacheOptions.defaults().withReadAround(64 * 1024), host.clock());
        long before = disk.stats().get(BlockStats.Op.READ).count();
        assertArrayEquals(java.util.Arrays.copyOfRange(data, 5 * 4096 + 512, 5 * 4096 + 1024), read(cache, 5 * 4096 + 512, 512));
        assertEquals(16 * 4096, cache.cacheStats().bytesCached(), "blocks 0-15, the 64 KiB around block 5");
        for (int b = 0; b < 16; b++) {
            assertArrayEquals(java.util.Arrays.copyOfRange(data, b * 4096, b * 4096 + 4096), read(cache, b * 4096L, 4096));
        }
        assertEquals(before + 1, disk.stats().get(BlockStats.Op.READ).count(), "one request below for all 16 blocks");
        read(cache, 40 * 4096, 4096); // then blocks 32-47, and only the uncached ones of a window
        cache.read(31 * 4096, ByteBuffer.allocate(4096));
        assertEquals(before + 3, disk.stats().get(BlockStats.Op.READ).count());
        assertEquals(48 * 4096, cache.cacheStats().bytesCached(), "blocks 16-31 came with block 31");
        assertThrows(IllegalArgumentException.class, () -> CacheOptions.defaults().withReadAround(4 << 20));
    }

    @Test
    void flushWritesAdjacentDirtyBlocksInFewLargeRequests() throws Exception {
        SimWorld world = new SimWorld(6);
        SimHost host = world.newHost("t");
        HostDisk disk = HostDisk.create(host, "d", SIZE);
        BufferCache cache = new BufferCache(disk, CacheOptions.defaults(), host.clock());
        for (long off = 0; off < SIZE; off += 4096) {
            cache.write(off, ByteBuffer.allocate(4096).put(0, (byte) 1));
        }
        assertEquals(0, disk.stats().get(BlockStats.Op.WRITE).count(), "write-back: nothing written yet");
        cache.flush();
        assertEquals(SIZE / (1 << 20), disk.stats().get(BlockStats.Op.WRITE).count(), "one request per MiB");
        assertEquals(1, disk.stats().get(BlockStats.Op.FLUSH).count());
        assertEquals(0, cache.dirtyBlocks());
    }

    @Test
    void theBudgetIsNeverExceededEvenByOneHugeRequest() throws Exception {
        SimWorld world = new SimWorld(7);
        SimHost host = world.newHost("t");
        HostDisk disk = HostDisk.create(host, "d", SIZE);
        BufferCache cache = new BufferCache(disk, SMALL, host.clock());
        byte[] big = new byte[SIZE];
        new Random(7).nextBytes(big);
        cache.write(0, ByteBuffer.wrap(big));
        assertTrue(cache.cacheStats().peakBytesCached() <= SMALL.budgetBytes());
        assertArrayEquals(big, read(cache, 0, SIZE));
        assertTrue(cache.cacheStats().peakBytesCached() <= SMALL.budgetBytes());
    }

    @Test
    void theLeastRecentlyUsedBlockIsEvictedFirst() throws Exception {
        SimWorld world = new SimWorld(10);
        SimHost host = world.newHost("t");
        HostDisk disk = HostDisk.create(host, "d", SIZE);
        BufferCache cache = new BufferCache(disk, new CacheOptions(16 * 4096, 4096, 8192, 0), host.clock());
        for (int i = 0; i < 16; i++) {
            cache.read(i * 4096L, ByteBuffer.allocate(4096));
        }
        cache.read(0, ByteBuffer.allocate(4096)); // block 0 is now the most recently used
        cache.read(16 * 4096L, ByteBuffer.allocate(4096)); // evicts block 1, not block 0
        long misses = cache.cacheStats().misses();
        cache.read(0, ByteBuffer.allocate(4096));
        assertEquals(misses, cache.cacheStats().misses(), "block 0 stayed");
        cache.read(4096, ByteBuffer.allocate(4096));
        assertEquals(misses + 1, cache.cacheStats().misses(), "block 1 was evicted");
    }

    @Test
    void aFailedWriteBackKeepsTheDataDirtyAndReportsTheError() throws Exception {
        SimWorld world = new SimWorld(8);
        SimHost host = world.newHost("t");
        SimDisk sim = world.createDisk("d", SIZE);
        HostDisk disk = HostDisk.open(host, "d", OpenMode.READ_WRITE);
        BufferCache cache = new BufferCache(disk, CacheOptions.defaults(), host.clock());
        cache.write(0, ByteBuffer.wrap(new byte[4096]).put(0, (byte) 9));
        sim.failOperation(1, Errno.EIO);
        ErrnoException e = assertThrows(ErrnoException.class, cache::flush);
        assertEquals(Errno.EIO, e.errno());
        assertEquals(1, cache.dirtyBlocks());
        cache.flush();
        assertEquals(0, cache.dirtyBlocks());
        ByteBuffer b = ByteBuffer.allocate(512);
        disk.read(0, b);
        assertEquals(9, b.get(0));
    }

    @Test
    void aCloseThatLosesDirtyDataFailsTheCallerAndStillReleasesTheCache() throws Exception {
        SimWorld world = new SimWorld(10);
        SimHost host = world.newHost("t");
        SimDisk sim = world.createDisk("d", SIZE);
        HostDisk disk = HostDisk.open(host, "d", OpenMode.READ_WRITE);
        BufferCache cache = new BufferCache(disk, CacheOptions.defaults(), host.clock());
        cache.write(0, ByteBuffer.wrap(new byte[4096]).put(0, (byte) 9));
        cache.write(8192, ByteBuffer.wrap(new byte[4096]).put(0, (byte) 9));
        sim.failOperation(1, Errno.EIO);
        ErrnoException e = assertThrows(ErrnoException.class, cache::close, "lost data is not a quiet close");
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("dirty cache blocks lost at close"), e.getMessage());
        assertEquals(Errno.EBADF, assertThrows(ErrnoException.class,
                () -> cache.read(0, ByteBuffer.allocate(512))).errno(), "closed all the same");
        cache.close(); // idempotent, and quiet the second time
    }

    @Test
    void devicesWhoseSizeIsNotAMultipleOfTheBlockWork() throws Exception {
        SimWorld world = new SimWorld(9);
        SimHost host = world.newHost("t");
        HostDisk disk = HostDisk.create(host, "d", 10 * 4096 + 1536);
        BufferCache cache = new BufferCache(disk, SMALL, host.clock());
        byte[] tail = new byte[2048];
        Arrays.fill(tail, (byte) 5);
        cache.write(10 * 4096 - 512, ByteBuffer.wrap(tail));
        cache.flush();
        assertArrayEquals(tail, read(cache, 10 * 4096 - 512, 2048));
        ByteBuffer b = ByteBuffer.allocate(2048);
        disk.read(10 * 4096 - 512, b);
        assertArrayEquals(tail, b.array());
    }
}
