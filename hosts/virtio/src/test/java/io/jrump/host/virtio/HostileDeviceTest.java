package io.jrump.host.virtio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.virtio.ModelBlockDevice.Request;
import io.jrump.host.virtio.blk.VirtioBlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The driver against a device that breaks the virtio contract ({@link ModelBlockDevice} bent by a
 * {@link ModelBlockDevice.Behaviour}): every breach is detected, the calls in flight and every
 * later one fail with {@code EIO}, nothing is copied from beyond what the device was given, and
 * close still returns. A well-behaved model device first, to show the model itself is sound.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostileDeviceTest {
    private static final int DISK = 4 << 20;
    private final JvmHost host = JvmHost.create("hostile");

    @AfterEach
    void close() {
        host.close();
    }

    private record Result(long bytes, Errno error) {
    }

    private static Result await(java.util.function.Consumer<HostBlockDevice.IoCompletion> op) throws Exception {
        CompletableFuture<Result> f = new CompletableFuture<>();
        op.accept((bytes, error) -> f.complete(new Result(bytes, error)));
        return f.get(20, TimeUnit.SECONDS);
    }

    private static byte[] disk() {
        byte[] d = new byte[DISK];
        new Random(9).nextBytes(d);
        return d;
    }

    private VirtioBlockDevice open(ModelBlockDevice model) throws ErrnoException {
        return VirtioBlockDevice.open("model", model, host.scheduler(), false, VirtioBlockDevice.Completions.INTERRUPTS,
                d -> { });
    }

    @Test
    void aWellBehavedDeviceReadsWritesAndZeroes() throws Exception {
        ModelBlockDevice model = new ModelBlockDevice(disk(), ModelBlockDevice.fullFeatures(), new ModelBlockDevice.Behaviour() {
            @Override
            public int[] order(List<Request> taken) { // completes out of order, as devices may
                int[] o = new int[taken.size()];
                for (int i = 0; i < o.length; i++) {
                    o[i] = o.length - 1 - i;
                }
                return o;
            }
        });
        byte[] expected = model.disk().clone();
        VirtioBlockDevice dev = open(model);
        ByteBuffer all = ByteBuffer.allocate(DISK);
        assertNull(await(c -> dev.read(0, all, c)).error());
        assertArrayEquals(expected, all.array());
        byte[] patch = new byte[300_001];
        new Random(5).nextBytes(patch);
        assertNull(await(c -> dev.write(777, ByteBuffer.wrap(patch), c)).error());
        System.arraycopy(patch, 0, expected, 777, patch.length);
        assertNull(await(c -> dev.discard(1_000_000, 600_000, c)).error());
        java.util.Arrays.fill(expected, 1_000_000, 1_600_000, (byte) 0);
        assertNull(await(dev::flush).error());
        dev.close();
        assertArrayEquals(expected, model.disk());
        assertEquals(List.of(), model.deviceErrors());
    }

    /** Reads a megabyte; the device misbehaves on its second request. */
    private void expectBroken(ModelBlockDevice.Behaviour bad, String reasonPart) throws Exception {
        ModelBlockDevice model = new ModelBlockDevice(disk(), ModelBlockDevice.fullFeatures(), bad);
        VirtioBlockDevice dev = open(model);
        ByteBuffer dst = ByteBuffer.allocateDirect(1 << 20);
        Result r = await(c -> dev.read(0, dst, c));
        assertEquals(Errno.EIO, r.error());
        assertEquals(0, r.bytes());
        assertNotNull(dev.brokenReason());
        assertTrue(dev.brokenReason().contains(reasonPart), dev.brokenReason());
        assertEquals(Errno.EIO, await(c -> dev.read(0, ByteBuffer.allocate(512), c)).error(), "broken stays broken");
        assertEquals(Errno.EIO, await(dev::flush).error());
        dev.close();
        dev.close();
    }

    private static final class OnSecond {
        private final AtomicInteger seen = new AtomicInteger();

        boolean now() {
            return seen.incrementAndGet() == 2;
        }
    }

    @Test
    void aUsedLengthBeyondTheBufferBreaksTheDevice() throws Exception {
        OnSecond second = new OnSecond();
        expectBroken(new ModelBlockDevice.Behaviour() {
            @Override
            public long usedLength(Request r, long honest) {
                return second.now() ? r.writableBytes() + 4096L : honest;
            }
        }, "bytes written, but the chain offers only");
    }

    @Test
    void aDescriptorIndexOutOfRangeBreaksTheDevice() throws Exception {
        OnSecond second = new OnSecond();
        expectBroken(new ModelBlockDevice.Behaviour() {
            @Override
            public long usedId(Request r) {
                return second.now() ? 70_000 : r.head();
            }
        }, "names descriptor 70000");
    }

    @Test
    void aDescriptorNotInFlightBreaksTheDevice() throws Exception {
        OnSecond second = new OnSecond();
        AtomicInteger first = new AtomicInteger(-1);
        expectBroken(new ModelBlockDevice.Behaviour() {
            @Override
            public long usedId(Request r) {
                first.compareAndSet(-1, r.head());
                return second.now() ? first.get() : r.head(); // the first one again: already used
            }
        }, "not the head of a chain in flight");
    }

    @Test
    void aUsedRingRunningAheadOfTheAvailableRingBreaksTheDevice() throws Exception {
        OnSecond second = new OnSecond();
        expectBroken(new ModelBlockDevice.Behaviour() {
            @Override
            public int usedIndexStep(Request r) {
                return second.now() ? 500 : 1;
            }
        }, "chains are in flight");
    }

    @Test
    void anUnknownStatusBreaksTheDevice() throws Exception {
        OnSecond second = new OnSecond();
        expectBroken(new ModelBlockDevice.Behaviour() {
            @Override
            public int status(Request r, int honest) {
                return second.now() ? 0x7f : honest;
            }
        }, "status 127");
    }

    @Test
    void anIoErrorStatusFailsTheCallNotTheDevice() throws Exception {
        OnSecond second = new OnSecond();
        ModelBlockDevice model = new ModelBlockDevice(disk(), ModelBlockDevice.fullFeatures(), new ModelBlockDevice.Behaviour() {
            @Override
            public int status(Request r, int honest) {
                return second.now() ? 1 : honest;
            }
        });
        VirtioBlockDevice dev = open(model);
        assertEquals(Errno.EIO, await(c -> dev.read(0, ByteBuffer.allocate(1 << 20), c)).error());
        assertNull(dev.brokenReason());
        ByteBuffer again = ByteBuffer.allocate(1 << 20);
        assertNull(await(c -> dev.read(0, again, c)).error());
        assertArrayEquals(java.util.Arrays.copyOf(model.disk(), 1 << 20), again.array());
        dev.close();
    }

    @Test
    void configurationThatChangesBetweenReadsIsRefused() {
        ModelBlockDevice model = new ModelBlockDevice(disk(), ModelBlockDevice.fullFeatures(), new ModelBlockDevice.Behaviour() {
            @Override
            public void config(int n, ByteBuffer config) {
                config.putLong(0, DISK / 512 - n); // shrinks each time it is read
            }
        });
        ErrnoException e = assertThrows(ErrnoException.class, () -> open(model));
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("changed between two reads"), e.getMessage());
    }

    @Test
    void absurdConfigurationIsRefused() {
        for (ModelBlockDevice.Behaviour bad : List.<ModelBlockDevice.Behaviour>of(
                new ModelBlockDevice.Behaviour() {
                    @Override
                    public void config(int n, ByteBuffer c) {
                        c.putInt(20, 1000); // not a power of two
                    }
                },
                new ModelBlockDevice.Behaviour() {
                    @Override
                    public void config(int n, ByteBuffer c) {
                        c.putLong(0, -1L); // more bytes than a long holds
                    }
                },
                new ModelBlockDevice.Behaviour() {
                    @Override
                    public void config(int n, ByteBuffer c) {
                        c.putInt(48, 0); // write-zeroes offered with no room for it
                    }
                })) {
            ModelBlockDevice model = new ModelBlockDevice(disk(), ModelBlockDevice.fullFeatures(), bad);
            ErrnoException e = assertThrows(ErrnoException.class, () -> open(model));
            assertEquals(Errno.EIO, e.errno(), e.getMessage());
        }
    }

    @Test
    void aDeviceThatGoesAwayFailsWhatIsInFlightAndWhatComesAfter() throws Exception {
        ModelBlockDevice model = new ModelBlockDevice(disk(), ModelBlockDevice.fullFeatures(), new ModelBlockDevice.Behaviour() { });
        VirtioBlockDevice dev = open(model);
        assertNull(await(c -> dev.read(0, ByteBuffer.allocate(4096), c)).error());
        model.disappear();
        Result r = await(c -> dev.read(0, ByteBuffer.allocate(4096), c));
        assertEquals(Errno.EIO, r.error());
        assertTrue(dev.brokenReason().contains("went away"), dev.brokenReason());
        dev.close();
    }
}
