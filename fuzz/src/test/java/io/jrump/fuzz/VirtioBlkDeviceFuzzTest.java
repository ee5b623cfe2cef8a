package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.host.virtio.ModelBlockDevice;
import io.jrump.host.virtio.ModelBlockDevice.Request;
import io.jrump.host.virtio.blk.VirtioBlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The virtio-blk driver against a device the fuzzer plays: {@link ModelBlockDevice} with every used
 * element's id, length, status and index step, the order of completion, and the configuration
 * space, chosen by the input. Whatever the device does, the driver must answer every call exactly
 * once, with all its bytes or with {@code EIO}/{@code EOPNOTSUPP}, never throw, never leave a call
 * hanging past close; and while the device has behaved, every read must match a model disk.
 *
 * <p>Deterministic: the device serves inside the driver's kick, the driver is polled by this
 * thread ({@link VirtioBlockDevice.Completions#CALLER_POLLS}) and completions run on a simulated
 * event loop.
 */
class VirtioBlkDeviceFuzzTest {
    private static final int DISK = 256 * 1024;
    private static final Set<Errno> DEVICE_ERRORS = Set.of(Errno.EIO, Errno.EOPNOTSUPP);

    /** A device whose every choice comes from the input; {@link #lied} once it chose to misbehave. */
    private static final class Fuzzed implements ModelBlockDevice.Behaviour {
        private final FuzzedDataProvider data;
        boolean lied;

        Fuzzed(FuzzedDataProvider data) {
            this.data = data;
        }

        private boolean misbehave() {
            if (data.remainingBytes() == 0 || data.consumeInt(0, 7) != 0) {
                return false;
            }
            lied = true;
            return true;
        }

        @Override
        public int[] order(List<Request> taken) {
            int[] o = new int[taken.size()];
            for (int i = 0; i < o.length; i++) {
                o[i] = i;
            }
            if (data.remainingBytes() > 0 && data.consumeBoolean()) { // out of order is legal
                for (int i = o.length - 1; i > 0; i--) {
                    int j = data.consumeInt(0, i);
                    int t = o[i];
                    o[i] = o[j];
                    o[j] = t;
                }
            }
            return o;
        }

        @Override
        public long usedId(Request r) {
            return misbehave() ? data.consumeLong(0, 0xffffffffL) : r.head();
        }

        @Override
        public long usedLength(Request r, long honest) {
            return misbehave() ? data.consumeLong(0, 0xffffffffL) : honest;
        }

        @Override
        public int status(Request r, int honest) {
            return misbehave() ? data.consumeInt(0, 255) : honest;
        }

        @Override
        public int usedIndexStep(Request r) {
            return misbehave() ? data.consumeInt(0, 3) : 1;
        }

        @Override
        public void config(int n, ByteBuffer config) {
            if (misbehave()) {
                int at = data.consumeInt(0, 59);
                config.put(at, data.consumeByte());
            }
        }
    }

    @FuzzTest(maxDuration = "60s")
    void driverSurvivesAnyDevice(FuzzedDataProvider data) {
        SimWorld world = new SimWorld(1);
        SimHost host = world.newHost("virtio");
        byte[] disk = new byte[DISK];
        for (int i = 0; i < DISK; i++) {
            disk[i] = (byte) (i * 31 + (i >>> 9));
        }
        byte[] model = disk.clone();
        Fuzzed device = new Fuzzed(data);
        long features = ModelBlockDevice.fullFeatures() & data.consumeLong();
        ModelBlockDevice backend = new ModelBlockDevice(disk, features, device);
        VirtioBlockDevice dev;
        try {
            dev = VirtioBlockDevice.open("fuzz", backend, host.scheduler(), false,
                    VirtioBlockDevice.Completions.CALLER_POLLS, d -> { });
        } catch (ErrnoException e) {
            assertEquals(Errno.EIO, e.errno(), e.getMessage()); // a broken configuration
            return;
        }
        // Calls may run in any order (HostBlockDevice): a read is checked against the model only if
        // no write or discard was unanswered while it was.
        int[] unansweredMutations = {0};
        List<boolean[]> unansweredReads = new ArrayList<>();
        List<Errno[]> results = new ArrayList<>();
        List<long[]> bytes = new ArrayList<>();
        int ops = data.consumeInt(1, 24);
        for (int i = 0; i < ops && data.remainingBytes() > 0; i++) {
            int index = results.size();
            Errno[] result = new Errno[1];
            long[] done = {-1};
            results.add(result);
            bytes.add(done);
            int kind = data.consumeInt(0, 3);
            long offset = data.consumeLong(0, DISK - 1);
            int length = data.consumeInt(0, (int) Math.min(DISK - offset, 200_000));
            long expectedBytes = kind == 2 ? 0 : length;
            boolean mutation = kind == 1 || kind == 3;
            byte[] reference = kind == 0 ? Arrays.copyOfRange(model, (int) offset, (int) offset + length) : null;
            boolean[] ordered = {unansweredMutations[0] == 0, true}; // {checkable, unanswered}
            if (mutation) {
                unansweredMutations[0]++;
                unansweredReads.forEach(r -> r[0] = r[1] ? false : r[0]);
            } else if (kind == 0) {
                unansweredReads.add(ordered);
            }
            ByteBuffer dst = ByteBuffer.allocate(length);
            HostBlockDeviceCompletion c = (n, e) -> {
                assertEquals(-1, done[0], "call " + index + " completed twice");
                done[0] = n;
                result[0] = e;
                ordered[1] = false;
                if (mutation) {
                    unansweredMutations[0]--;
                }
                if (e == null) {
                    assertEquals(expectedBytes, n, "call " + index + " transferred part of its bytes");
                    if (reference != null && !device.lied && ordered[0]) {
                        assertArrayEquals(reference, dst.array(), "read " + index + " of an honest device");
                    }
                } else {
                    assertTrue(DEVICE_ERRORS.contains(e), "call " + index + " failed with " + e);
                }
            };
            switch (kind) {
                case 0 -> dev.read(offset, dst, c::done);
                case 1 -> {
                    byte[] src = new byte[length];
                    Arrays.fill(src, (byte) (i + 1));
                    System.arraycopy(src, 0, model, (int) offset, length);
                    dev.write(offset, ByteBuffer.wrap(src), c::done);
                }
                case 2 -> dev.flush(c::done);
                default -> {
                    if ((dev.negotiatedFeatures() & 1L << 14) != 0) { // WRITE_ZEROES; else EOPNOTSUPP, nothing changes
                        Arrays.fill(model, (int) offset, (int) offset + length, (byte) 0);
                    }
                    dev.discard(offset, length, c::done);
                }
            }
            for (int p = data.consumeInt(0, 3); p > 0; p--) {
                dev.poll();
            }
            world.runUntilIdle(Duration.ofSeconds(1));
        }
        while (dev.poll()) {
            world.runUntilIdle(Duration.ofSeconds(1));
        }
        String broken = dev.brokenReason();
        assertTrue(broken == null || !broken.startsWith(VirtioBlockDevice.DRIVER_BUG), broken);
        dev.close();
        world.runUntilIdle(Duration.ofSeconds(1));
        for (int i = 0; i < bytes.size(); i++) {
            assertTrue(bytes.get(i)[0] >= 0, "call " + i + " never completed");
        }
        assertEquals(List.of(), backend.deviceErrors(), "the driver gave the device a malformed chain");
    }

    /** The completion, as a named type so the lambda can say "completed twice". */
    @FunctionalInterface
    private interface HostBlockDeviceCompletion {
        void done(long bytes, Errno error);
    }
}
