package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.blk.cache.BufferCache;
import io.jrump.blk.cache.CacheOptions;
import io.jrump.host.sim.SimDisk;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Sequences of reads, writes, discards, flushes, injected I/O errors and one power cut through a
 * stack — a buffer cache over a partition-like slice of a simulated disk — checked against a byte
 * array after every step. After the power cut, every sector untouched since the last successful
 * flush must read back exactly as flushed, and nothing outside the slice may ever change.
 */
class BlockStackFuzzTest {
    private static final int DISK = 1 << 20;
    private static final int SLICE_START = 64 * 1024;
    private static final int SLICE = 512 * 1024;

    /** Every byte 0x5a: the disk's flushed contents at the start of each input. */
    private static final byte[] OUTSIDE = new byte[DISK];

    static {
        Arrays.fill(OUTSIDE, (byte) 0x5a);
    }

    /** {@link #OUTSIDE} as a sim disk image: each input's disk forks it copy-on-write instead of writing 1 MiB. */
    private static final SimDisk.Image START = SimDisk.Image.of(OUTSIDE, DISK);

    @FuzzTest(maxDuration = "60s")
    void cacheOverASliceMatchesItsModel(FuzzedDataProvider data) throws Exception {
        SimWorld world = new SimWorld(data.consumeLong());
        SimHost host = world.newHost("fuzz");
        SimDisk sim = world.createDisk("d", START);
        sim.setTornWrites(data.consumeBoolean());
        HostDisk disk = HostDisk.open(host, "d", OpenMode.READ_WRITE);
        byte[] outside = OUTSIDE;
        BlockDevice slice = disk.slice("d:p1", SLICE_START, SLICE);
        int budgetBlocks = data.consumeInt(16, 64);
        BufferCache cache = new BufferCache(slice, new CacheOptions(budgetBlocks * 4096L, 4096,
                4096 * data.consumeInt(1, 8), 4096 * data.consumeInt(0, 16)), host.clock());

        byte[] model = new byte[SLICE];
        byte[] flushed = new byte[SLICE];
        boolean[] touched = new boolean[SLICE / 512];
        System.arraycopy(outside, SLICE_START, model, 0, SLICE);
        System.arraycopy(model, 0, flushed, 0, SLICE);
        int steps = data.consumeInt(0, 80);
        for (int step = 0; step < steps && data.remainingBytes() > 0; step++) {
            int sectors = data.consumeInt(1, 160);
            int first = data.consumeInt(0, SLICE / 512 - sectors);
            long off = first * 512L;
            int len = sectors * 512;
            try {
                switch (data.consumeInt(0, 5)) {
                    case 0, 1 -> {
                        byte[] bytes = new byte[len];
                        Arrays.fill(bytes, (byte) data.consumeInt());
                        cache.write(off, ByteBuffer.wrap(bytes));
                        System.arraycopy(bytes, 0, model, (int) off, len);
                        Arrays.fill(touched, first, first + sectors, true);
                    }
                    case 2 -> {
                        cache.flush();
                        System.arraycopy(model, 0, flushed, 0, SLICE);
                        Arrays.fill(touched, false);
                    }
                    case 3 -> {
                        cache.discard(off, len);
                        ByteBuffer got = ByteBuffer.allocate(len);
                        cache.read(off, got);
                        // Each byte is zero or the model's: skip the runs equal to the model in bulk.
                        byte[] g = got.array();
                        for (int i = Arrays.mismatch(g, 0, len, model, (int) off, (int) off + len); i >= 0 && i < len; ) {
                            assertTrue(g[i] == 0, "discard showed foreign bytes");
                            int next = Arrays.mismatch(g, i + 1, len, model, (int) off + i + 1, (int) off + len);
                            i = next < 0 ? len : i + 1 + next;
                        }
                        System.arraycopy(got.array(), 0, model, (int) off, len);
                        Arrays.fill(touched, first, first + sectors, true);
                    }
                    case 4 -> sim.failOperation(data.consumeInt(1, 4), Errno.EIO);
                    default -> {
                        ByteBuffer got = ByteBuffer.allocate(len);
                        cache.read(off, got);
                        if (!Arrays.equals(model, (int) off, (int) off + len, got.array(), 0, len)) {
                            assertArrayEquals(Arrays.copyOfRange(model, (int) off, (int) off + len), got.array());
                        }
                    }
                }
            } catch (ErrnoException e) {
                // An injected error: the call failed as a whole or in part. The model cannot know how
                // much reached the disk, so it continues from what the cache now reads back.
                assertTrue(e.errno() == Errno.EIO, e.getMessage());
                ByteBuffer all = ByteBuffer.allocate(SLICE);
                try {
                    cache.read(0, all);
                } catch (ErrnoException again) {
                    return; // more injected errors; the rest of this input can say nothing new
                }
                System.arraycopy(all.array(), 0, model, 0, SLICE);
                Arrays.fill(touched, true);
            }
        }
        sim.powerCut();
        HostDisk after = HostDisk.open(host, "d", OpenMode.READ_ONLY);
        ByteBuffer all = ByteBuffer.allocate(DISK);
        // Errors injected but not yet reached still fire after the cut; at most four are pending.
        for (int attempt = 0; ; attempt++) {
            try {
                after.read(0, all);
                break;
            } catch (ErrnoException e) {
                assertTrue(attempt < 4 && e.errno() == Errno.EIO, e.getMessage());
            }
        }
        // Compared in bulk, sector by sector only where they differ (a loop of 2,048 sectors per
        // input would cost more than the run).
        byte[] got = all.array();
        if (!Arrays.equals(outside, 0, SLICE_START, got, 0, SLICE_START)
                || !Arrays.equals(outside, SLICE_START + SLICE, DISK, got, SLICE_START + SLICE, DISK)
                || !untouchedAsFlushed(flushed, touched, got)) {
            for (int s = 0; s < DISK / 512; s++) {
                int at = s * 512;
                boolean inSlice = at >= SLICE_START && at < SLICE_START + SLICE;
                if (!inSlice) {
                    assertArrayEquals(Arrays.copyOfRange(outside, at, at + 512), Arrays.copyOfRange(got, at, at + 512),
                            "sector " + s + " outside the slice changed");
                } else if (!touched[(at - SLICE_START) / 512]) {
                    int o = at - SLICE_START;
                    assertArrayEquals(Arrays.copyOfRange(flushed, o, o + 512), Arrays.copyOfRange(got, at, at + 512),
                            "flushed sector " + s + " changed by the power cut");
                }
            }
        }
    }

    /** Whether every run of untouched sectors of the slice reads as flushed. */
    private static boolean untouchedAsFlushed(byte[] flushed, boolean[] touched, byte[] disk) {
        int s = 0;
        while (s < touched.length) {
            if (touched[s]) {
                s++;
                continue;
            }
            int end = s;
            while (end < touched.length && !touched[end]) {
                end++;
            }
            if (!Arrays.equals(flushed, s * 512, end * 512, disk, SLICE_START + s * 512, SLICE_START + end * 512)) {
                return false;
            }
            s = end;
        }
        return true;
    }
}
