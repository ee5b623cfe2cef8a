package io.jrump.host.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SimDiskTest {
    private static final int SECTOR = SimDisk.SECTOR_SIZE;

    @Test
    void theNthOperationFromNowFailsWithTheInjectedErrnoAndChangesNothing() throws Exception {
        SimWorld world = new SimWorld(1);
        SimHost a = world.newHost("a");
        HostBlockDevice dev = a.blockDevices().create("d", 4096);
        SimDisk disk = world.disk("d").orElseThrow();
        Io.write(world, dev, 0, new byte[] {1});
        disk.failOperation(2, Errno.EIO);
        Io.write(world, dev, 0, new byte[] {2});
        Io.Result failed = Io.await(world, c -> dev.write(0, ByteBuffer.wrap(new byte[] {3}), c));
        assertEquals(Errno.EIO, failed.error());
        assertEquals(0, failed.bytes());
        assertArrayEquals(new byte[] {2}, Io.read(world, dev, 0, 1), "the failed write changed nothing");
        Io.write(world, dev, 0, new byte[] {4});
        assertEquals(1, disk.stats().injectedFailures());
        assertEquals(4, disk.stats().writes());
        assertEquals(1, disk.stats().reads());
    }

    @Test
    void argumentErrorsFollowTheContractAndDoNotCountAsOperations() throws Exception {
        SimWorld world = new SimWorld(1);
        SimHost a = world.newHost("a");
        HostBlockDevice dev = a.blockDevices().create("d", 4096);
        SimDisk disk = world.disk("d").orElseThrow();
        disk.failOperation(1, Errno.ENOSPC);
        assertEquals(Errno.EINVAL, Io.await(world, c -> dev.read(4000, ByteBuffer.allocate(100), c)).error());
        assertEquals(Errno.ENOSPC, Io.await(world, c -> dev.write(4000, ByteBuffer.allocate(100), c)).error(),
                "past the end of a fixed-size disk");
        assertEquals(Errno.ENOSPC, Io.await(world, dev::flush).error(), "the injected fault hit the first real op");
        ByteBuffer readOnly = ByteBuffer.allocate(1).asReadOnlyBuffer();
        assertEquals(Errno.EINVAL, Io.await(world, c -> dev.read(0, readOnly, c)).error());
        assertFalse(dev.isGrowable());
        assertEquals(512, dev.sectorSize());
        ErrnoException empty = assertThrows(ErrnoException.class, () -> a.blockDevices().open("", OpenMode.READ_ONLY));
        assertEquals(Errno.EINVAL, empty.errno());
        assertThrows(IllegalArgumentException.class, () -> world.createDisk("d", 10));
    }

    @Test
    void operationsCompleteWithinTheLatencyRangeAndOvertakeEachOther() throws Exception {
        SimWorld world = new SimWorld(3);
        SimHost a = world.newHost("a");
        HostBlockDevice dev = a.blockDevices().create("d", 1 << 20);
        long start = world.now();
        List<Integer> order = new ArrayList<>();
        List<Long> times = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            int n = i;
            dev.write(i * 4096L, ByteBuffer.allocate(4096), (bytes, error) -> {
                order.add(n);
                times.add(world.now() - start);
            });
        }
        world.runUntilIdle(Duration.ofSeconds(1));
        assertEquals(50, order.size());
        assertFalse(order.equals(order.stream().sorted().toList()), "latencies differ, so order changes");
        for (long t : times) {
            assertTrue(t >= SimDisk.DEFAULT_MIN_LATENCY_NANOS && t <= SimDisk.DEFAULT_MAX_LATENCY_NANOS,
                    "latency " + t);
        }
        world.disk("d").orElseThrow().setLatency(5_000, 5_000);
        long t0 = world.now();
        Io.write(world, dev, 0, new byte[1]);
        assertEquals(t0 + 5_000, world.now());
    }

    @Test
    void aFlushPersistsExactlyTheWritesCompletedWhenItWasIssued() throws Exception {
        SimWorld world = new SimWorld(4);
        SimHost a = world.newHost("a");
        HostBlockDevice dev = a.blockDevices().create("d", 8192);
        SimDisk disk = world.disk("d").orElseThrow();
        Io.write(world, dev, 0, fill(512, 1));
        disk.setLatency(100_000, 100_000);
        Io.Result[] flushed = new Io.Result[1];
        dev.flush((bytes, error) -> flushed[0] = new Io.Result(bytes, error));
        world.runFor(50_000);
        disk.setLatency(10_000, 10_000);
        Io.write(world, dev, 512, fill(512, 2));
        assertNull(flushed[0], "the second write completed before the flush");
        assertEquals(2, disk.unflushedWrites());
        assertTrue(world.runUntil(() -> flushed[0] != null, Duration.ofSeconds(1)));
        assertNull(flushed[0].error());
        assertEquals(1, disk.unflushedWrites(), "the second write completed after the flush was issued");
    }

    @Test
    void aPowerCutOnlyLosesOrTearsUnflushedWritesAndNeverTouchesFlushedData() throws Exception {
        int torn = 0;
        int lost = 0;
        int kept = 0;
        for (long seed = 0; seed < 200; seed++) {
            boolean tearing = seed % 2 == 0;
            int[] outcome = powerCutAgainstModel(seed, tearing, seed % 4 >= 2);
            assertTrue(tearing || outcome[0] == 0, "torn with torn writes off, seed " + seed);
            torn += outcome[0];
            lost += outcome[1];
            kept += outcome[2];
        }
        assertTrue(torn > 0, "some write tore");
        assertTrue(lost > 0, "some write was lost");
        assertTrue(kept > 0, "some write survived");
    }

    /**
     * Returns how many unflushed writes were torn, lost and kept. With {@code fromImage} the
     * flushed data is written in another world and the disk is forked from its {@link SimDisk#image}
     * (copy-on-write): the cut must behave the same.
     */
    private static int[] powerCutAgainstModel(long seed, boolean tearing, boolean fromImage) throws Exception {
        int size = 16 * 4096;
        Random rnd = new Random(seed);
        SimWorld world = new SimWorld(seed);
        SimHost a = world.newHost("a");
        SimWorld baseWorld = fromImage ? new SimWorld(seed + 1000) : world;
        HostBlockDevice base = (fromImage ? baseWorld.newHost("base") : a).blockDevices().create("d", size);
        byte[] flushed = new byte[size];
        for (int i = 0; i < 8; i++) {
            int off = rnd.nextInt(size - 5000);
            byte[] data = random(rnd, 1 + rnd.nextInt(5000));
            Io.write(baseWorld, base, off, data);
            System.arraycopy(data, 0, flushed, off, data.length);
        }
        Io.flush(baseWorld, base);
        HostBlockDevice dev = base;
        if (fromImage) {
            world.createDisk("d", baseWorld.disk("d").orElseThrow().image());
            dev = a.blockDevices().open("d", OpenMode.READ_WRITE);
            // The base disk changing afterwards must not reach the fork.
            Io.write(baseWorld, base, 0, random(rnd, size));
        }
        SimDisk disk = world.disk("d").orElseThrow();
        disk.setTornWrites(tearing);
        HostBlockDevice io = dev;
        // Unflushed writes in separate 4 KiB regions, so that each can be judged on its own.
        List<long[]> ranges = new ArrayList<>();
        List<byte[]> contents = new ArrayList<>();
        for (int region = 0; region < 16; region++) {
            if (rnd.nextInt(3) == 0) {
                continue;
            }
            int off = region * 4096 + rnd.nextInt(1024);
            int len = 1 + rnd.nextInt(3000);
            byte[] data;
            if (rnd.nextInt(5) == 0) {
                data = new byte[len];
                assertNull(Io.await(world, c -> io.discard(off, len, c)).error());
            } else {
                data = random(rnd, len);
                Io.write(world, io, off, data);
            }
            ranges.add(new long[] {off, len});
            contents.add(data);
        }
        byte[] before = Io.read(world, io, 0, size);
        disk.powerCut();
        assertEquals(Errno.EIO, Io.await(world, c -> io.read(0, ByteBuffer.allocate(1), c)).error(),
                "a handle from before the cut");
        HostBlockDevice again = a.blockDevices().open("d", OpenMode.READ_ONLY);
        byte[] after = Io.read(world, again, 0, size);
        byte[] outside = after.clone();
        int[] outcome = new int[3];
        for (int i = 0; i < ranges.size(); i++) {
            int off = (int) ranges.get(i)[0];
            int len = (int) ranges.get(i)[1];
            byte[] data = contents.get(i);
            assertArrayEquals(data, Arrays.copyOfRange(before, off, off + len), "visible before the cut");
            boolean anyNew = false;
            boolean anyOld = false;
            for (int s = off; s < off + len; s = (s / SECTOR + 1) * SECTOR) {
                int e = Math.min(off + len, (s / SECTOR + 1) * SECTOR);
                byte[] got = Arrays.copyOfRange(after, s, e);
                boolean isNew = Arrays.equals(got, Arrays.copyOfRange(data, s - off, e - off));
                boolean isOld = Arrays.equals(got, Arrays.copyOfRange(flushed, s, e));
                assertTrue(isNew || isOld, "seed " + seed + ": sector piece at " + s + " is neither old nor new");
                anyNew |= isNew && !isOld;
                anyOld |= isOld && !isNew;
            }
            outcome[anyNew && anyOld ? 0 : anyOld ? 1 : 2]++;
            System.arraycopy(flushed, off, outside, off, len);
        }
        assertArrayEquals(flushed, outside, "seed " + seed + ": flushed data outside unflushed writes changed");
        return outcome;
    }

    @Test
    void disksForkedFromAnImageShareNothingTheyWrite() throws Exception {
        SimWorld maker = new SimWorld(3);
        HostBlockDevice made = maker.newHost("m").blockDevices().create("d", 3 * 65536);
        Io.write(maker, made, 100, fill(70_000, 1));
        SimDisk madeDisk = maker.disk("d").orElseThrow();
        assertThrows(IllegalStateException.class, madeDisk::image, "unflushed writes");
        Io.flush(maker, made);
        SimDisk.Image image = madeDisk.image();
        assertEquals(3 * 65536, image.size());
        Io.write(maker, made, 0, fill(200, 9)); // after the image: not in it
        byte[] expected = new byte[3 * 65536];
        Arrays.fill(expected, 100, 70_100, (byte) 1);

        SimWorld world = new SimWorld(4);
        SimHost h = world.newHost("h");
        world.createDisk("x", image);
        world.createDisk("y", image);
        HostBlockDevice x = h.blockDevices().open("x", OpenMode.READ_WRITE);
        HostBlockDevice y = h.blockDevices().open("y", OpenMode.READ_WRITE);
        assertArrayEquals(expected, Io.read(world, x, 0, expected.length));
        Io.write(world, x, 65_000, fill(2000, 5)); // across a page boundary of a shared page
        assertArrayEquals(expected, Io.read(world, y, 0, expected.length), "y does not see x's write");
        assertEquals(Errno.EEXIST, assertThrows(IllegalArgumentException.class, () -> world.createDisk("x", image))
                .getCause() instanceof ErrnoException ee ? ee.errno() : null);

        // The image is durable on a fork: a cut keeps it and loses the unflushed write.
        world.disk("x").orElseThrow().powerCut();
        HostBlockDevice x2 = h.blockDevices().open("x", OpenMode.READ_ONLY);
        byte[] afterCut = Io.read(world, x2, 0, expected.length);
        for (int i = 0; i < expected.length; i++) {
            if (i < 65_000 || i >= 67_000) {
                assertEquals(expected[i], afterCut[i], "byte " + i + " outside the unflushed write");
            }
        }
        byte[] maker200 = Io.read(maker, made, 200, expected.length - 200);
        assertArrayEquals(Arrays.copyOfRange(expected, 200, expected.length), maker200,
                "the maker's disk beyond its own later write still holds the image's data");
        SimDisk.Image bytes = SimDisk.Image.of(new byte[] {1, 2, 3}, 1024);
        world.createDisk("z", bytes);
        assertArrayEquals(new byte[] {1, 2, 3, 0}, Io.read(world, h.blockDevices().open("z", OpenMode.READ_ONLY), 0, 4));
    }

    @Test
    void operationsInFlightAtAPowerCutNeverCompleteAndNewHandlesWork() throws Exception {
        SimWorld world = new SimWorld(9);
        SimHost a = world.newHost("a");
        HostBlockDevice dev = a.blockDevices().create("d", 4096);
        SimDisk disk = world.disk("d").orElseThrow();
        List<Errno> completions = new ArrayList<>();
        dev.write(0, ByteBuffer.wrap(fill(512, 7)), (n, e) -> completions.add(e));
        dev.flush((n, e) -> completions.add(e));
        disk.powerCut();
        world.runFor(Duration.ofSeconds(1));
        assertTrue(completions.isEmpty());
        assertEquals(2, disk.stats().lostInFlight());
        HostBlockDevice again = a.blockDevices().open("d", OpenMode.READ_WRITE);
        assertArrayEquals(new byte[512], Io.read(world, again, 0, 512));
        Io.write(world, again, 0, fill(512, 8));
        Io.flush(world, again);
        disk.powerCut();
        HostBlockDevice third = a.blockDevices().open("d", OpenMode.READ_ONLY);
        assertArrayEquals(fill(512, 8), Io.read(world, third, 0, 512), "flushed data survives any cut");
    }

    @Test
    void completionsForAClosedHostAreDroppedButTheWriteStillLands() throws Exception {
        SimWorld world = new SimWorld(10);
        SimHost a = world.newHost("a");
        HostBlockDevice dev = a.blockDevices().create("d", 4096);
        List<Errno> completions = new ArrayList<>();
        dev.write(0, ByteBuffer.wrap(fill(16, 5)), (n, e) -> completions.add(e));
        a.close();
        world.runFor(Duration.ofSeconds(1));
        assertTrue(completions.isEmpty());
        SimHost b = world.newHost("b");
        assertArrayEquals(fill(16, 5), Io.read(world, b.blockDevices().open("d", OpenMode.READ_ONLY), 0, 16));
    }

    private static byte[] fill(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private static byte[] random(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }
}
