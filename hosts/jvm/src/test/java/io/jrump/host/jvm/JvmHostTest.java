package io.jrump.host.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.Callout;
import io.jrump.kernel.RumpKernel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the JVM host does beyond the conformance kit. */
class JvmHostTest {
    @TempDir
    Path dir;

    private static void await(CountDownLatch latch) throws InterruptedException {
        assertTrue(latch.await(10, TimeUnit.SECONDS), "timed out");
    }

    private static Errno io(java.util.function.Consumer<HostBlockDevice.IoCompletion> op) throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Errno> error = new AtomicReference<>();
        op.accept((n, e) -> {
            error.set(e);
            done.countDown();
        });
        await(done);
        return error.get();
    }

    /** Blocks the filesystem really allocated, as stat(1) %b reports them (512-byte units). */
    private static long allocatedBlocks(Path p) throws Exception {
        Process stat = new ProcessBuilder("stat", "-c", "%b", p.toString()).redirectErrorStream(true).start();
        String out = new String(stat.getInputStream().readAllBytes()).trim();
        assertEquals(0, stat.waitFor(), out);
        return Long.parseLong(out);
    }

    @Test
    void createdFilesAreSparseAndStaySparseAfterAScatteredWrite() throws Exception {
        Path img = dir.resolve("sparse.img");
        try (JvmHost host = JvmHost.create("sparse")) {
            HostBlockDevice dev = host.blockDevices().create(img.toString(), 1L << 30);
            assertEquals(1L << 30, Files.size(img));
            assertNull(io(c -> dev.write(512L << 20, ByteBuffer.wrap(new byte[4096]).put(0, (byte) 1), c)));
            assertNull(io(dev::flush));
            dev.close();
        }
        assertTrue(allocatedBlocks(img) <= 64, "1 GiB file with one 4 KiB write allocates "
                + allocatedBlocks(img) + " sectors");
    }

    @Test
    void directoriesAndSpecialFilesAreRefusedWithClearErrors() throws Exception {
        try (JvmHost host = JvmHost.create("refuse")) {
            ErrnoException dirErr = assertThrows(ErrnoException.class,
                    () -> host.blockDevices().open(dir.toString(), OpenMode.READ_ONLY));
            assertEquals(Errno.EISDIR, dirErr.errno());
            ErrnoException dev = assertThrows(ErrnoException.class,
                    () -> host.blockDevices().open("/dev/null", OpenMode.READ_ONLY));
            assertEquals(Errno.EOPNOTSUPP, dev.errno());
            assertTrue(dev.getMessage().contains("linux host"), dev.getMessage());
            ErrnoException empty = assertThrows(ErrnoException.class,
                    () -> host.blockDevices().open("", OpenMode.READ_ONLY));
            assertEquals(Errno.EINVAL, empty.errno());
            ErrnoException nul = assertThrows(ErrnoException.class,
                    () -> host.blockDevices().create("a\0b", 1));
            assertEquals(Errno.EINVAL, nul.errno());
        }
    }

    @Test
    void aReadOnlyHostFileIsOpenedWithoutWriteAccess() throws Exception {
        Path img = dir.resolve("ro.img");
        Files.write(img, new byte[4096]);
        assertTrue(img.toFile().setWritable(false, false));
        try (JvmHost host = JvmHost.create("ro")) {
            HostBlockDevice dev = host.blockDevices().open(img.toString(), OpenMode.READ_ONLY);
            assertNull(io(c -> dev.read(0, ByteBuffer.allocate(4096), c)));
            assertNull(io(dev::flush), "flush on a read-only device succeeds");
        }
    }

    @Test
    void aThrowingTaskIsReportedAndTheLoopCarriesOn() throws Exception {
        try (JvmHost host = JvmHost.create("throws")) {
            CountDownLatch after = new CountDownLatch(1);
            host.scheduler().execute(() -> {
                throw new IllegalStateException("deliberate failure in a test");
            });
            host.scheduler().execute(after::countDown);
            await(after);
        }
    }

    @Test
    void theHostCanBeClosedFromItsOwnEventLoop() throws Exception {
        JvmHost host = JvmHost.create("self-close");
        CountDownLatch closed = new CountDownLatch(1);
        host.scheduler().execute(() -> {
            host.close();
            closed.countDown();
        });
        await(closed);
        assertThrows(IllegalStateException.class, () -> host.scheduler().execute(() -> { }));
    }

    @Test
    void framesTooLongForTheReceivingPortAreDroppedAndCounted() throws Exception {
        SwitchRegistry switches = new SwitchRegistry();
        try (JvmHost a = JvmHost.builder().name("big").switches(switches).build();
                JvmHost b = JvmHost.builder().name("small").switches(switches).build()) {
            HostNic jumbo = a.networkInterfaces().open("mixed", NicOptions.mtu(9000), f -> { });
            AtomicInteger got = new AtomicInteger();
            b.networkInterfaces().open("mixed", NicOptions.defaults(), f -> got.incrementAndGet());
            ByteBuffer frame = ByteBuffer.allocate(9018);
            MacAddress.BROADCAST.write(frame, 0);
            jumbo.mac().write(frame, 6);
            jumbo.send(frame);
            jumbo.send(frame.limit(1518));
            EthernetSwitch sw = switches.find("mixed").orElseThrow();
            long end = System.nanoTime() + 5_000_000_000L;
            while (got.get() < 1 && System.nanoTime() < end) {
                Thread.sleep(1);
            }
            assertEquals(1, got.get());
            assertEquals(1, sw.droppedTooBig());
            assertEquals(1, sw.forwardedFrames());
        }
    }

    @Test
    void aSlowReceiverCannotMakeTheSwitchQueueWithoutBound() throws Exception {
        SwitchRegistry switches = new SwitchRegistry();
        try (JvmHost a = JvmHost.builder().name("fast").switches(switches).build();
                JvmHost b = JvmHost.builder().name("slow").switches(switches).build()) {
            HostNic tx = a.networkInterfaces().open("flood", NicOptions.defaults(), f -> { });
            CountDownLatch release = new CountDownLatch(1);
            AtomicInteger got = new AtomicInteger();
            b.networkInterfaces().open("flood", NicOptions.defaults(), f -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                got.incrementAndGet();
            });
            ByteBuffer frame = ByteBuffer.allocate(60);
            MacAddress.BROADCAST.write(frame, 0);
            tx.mac().write(frame, 6);
            int sent = SwitchPort.QUEUE_LIMIT * 3;
            for (int i = 0; i < sent; i++) {
                tx.send(frame);
            }
            EthernetSwitch sw = switches.find("flood").orElseThrow();
            assertTrue(sw.droppedQueueFull() >= sent - SwitchPort.QUEUE_LIMIT - 1, "dropped " + sw.droppedQueueFull());
            release.countDown();
            long end = System.nanoTime() + 10_000_000_000L;
            while (got.get() + sw.droppedQueueFull() < sent && System.nanoTime() < end) {
                Thread.sleep(1);
            }
            assertEquals(sent, got.get() + sw.droppedQueueFull());
        }
    }

    @Test
    void twoKernelsOnOneSwitchExchangeFramesAndShutDownCleanly() throws Exception {
        SwitchRegistry switches = new SwitchRegistry();
        RumpKernel a = RumpKernel.boot(JvmHost.builder().name("ka").switches(switches).build(),
                BootOptions.defaults().withName("ka").withComponentInstances(List.of()));
        RumpKernel b = RumpKernel.boot(JvmHost.builder().name("kb").switches(switches).build(),
                BootOptions.defaults().withName("kb").withComponentInstances(List.of()));
        CountDownLatch got = new CountDownLatch(1);
        HostNic na = a.host().networkInterfaces().open("k", NicOptions.defaults(), f -> { });
        b.host().networkInterfaces().open("k", NicOptions.defaults(), f -> got.countDown());
        Callout later = a.newCallout("send-later");
        later.schedule(5_000_000, () -> {
            ByteBuffer f = ByteBuffer.allocate(60);
            MacAddress.BROADCAST.write(f, 0);
            na.mac().write(f, 6);
            try {
                na.send(f);
            } catch (ErrnoException e) {
                throw new IllegalStateException(e);
            }
        });
        await(got);
        assertEquals(1, a.openDeviceCount());
        a.close();
        b.close();
        assertEquals(0, a.openDeviceCount());
        assertEquals(0, switches.find("k").orElseThrow().portCount(), "closing the kernels left the switch");
        assertFalse(a.host().scheduler().inEventLoop());
    }
}
