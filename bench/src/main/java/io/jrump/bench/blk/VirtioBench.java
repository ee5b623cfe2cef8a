package io.jrump.bench.blk;

import io.jrump.host.linux.LinuxHost;
import io.jrump.host.virtio.VirtioHost;
import io.jrump.host.virtio.blk.VirtioBlockDevice.Completions;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.HostBlockDevice;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;

/**
 * The virtio-blk driver's raw speed, in the terms of {@code qemu-img bench}: COUNT requests of SIZE
 * bytes, DEPTH in flight, the first at 0 and each next one STEP bytes further, wrapping at the
 * device's end. With the same arguments both walk the same offsets, so the bench script can run
 * {@code qemu-img bench} on the image and this on the vhost-user export of it, side by side.
 *
 * <p>{@code VirtioBench DEVICE COUNT DEPTH SIZE STEP read|write [interrupts|busy-poll]}; prints
 * {@code seconds=... mib_per_s=... iops=... heap_peak_mib=...}.
 */
public final class VirtioBench {
    private VirtioBench() {
    }

    public static void main(String[] args) throws Exception {
        io.jrump.bench.Memory.watch();
        if (args.length < 6) {
            System.err.println("usage: VirtioBench DEVICE COUNT DEPTH SIZE STEP read|write [interrupts|busy-poll]");
            System.exit(2);
        }
        String device = args[0];
        long count = Long.parseLong(args[1]);
        int depth = Integer.parseInt(args[2]);
        int size = Integer.parseInt(args[3]);
        long step = Long.parseLong(args[4]);
        boolean write = args[5].equals("write");
        Completions mode = args.length > 6 && args[6].equals("busy-poll") ? Completions.BUSY_POLL : Completions.INTERRUPTS;
        try (VirtioHost host = VirtioHost.over(LinuxHost.create("bench"), mode)) {
            HostBlockDevice dev = host.blockDevices().open(device, write ? OpenMode.READ_WRITE : OpenMode.READ_ONLY);
            long deviceSize = dev.size();
            ByteBuffer[] buffers = new ByteBuffer[depth];
            for (int i = 0; i < depth; i++) {
                buffers[i] = ByteBuffer.allocateDirect(size);
                for (int b = 0; b < size; b += 8) {
                    buffers[i].putLong(b, 0x6a72756d70L * (i + 1) + b);
                }
            }
            // As qemu-img bench does, and as a component on the event loop would: the first DEPTH
            // requests go out at once, then each completion issues the next, on the loop.
            Walk walk = new Walk(dev, write, count, size, step, deviceSize);
            long t0 = System.nanoTime();
            for (int i = 0; i < depth && i < count; i++) {
                walk.issue(buffers[i]);
            }
            Errno failure = walk.await();
            if (write) {
                CountDownLatch flushed = new CountDownLatch(1);
                dev.flush((n, e) -> flushed.countDown());
                flushed.await();
            }
            double s = (System.nanoTime() - t0) / 1e9;
            if (failure != null) {
                throw new IllegalStateException("I/O failed: " + failure);
            }
            dev.close();
            System.out.printf("seconds=%.3f mib_per_s=%.1f iops=%.0f heap_peak_mib=%.0f%n", s, count * (double) size / s / (1 << 20),
                    count / s, io.jrump.bench.Memory.peakHeapMib());
        }
    }

    /** The offsets of qemu-img bench's walk, issued one per completion. Completions run one at a time, on the loop. */
    private static final class Walk {
        private final HostBlockDevice dev;
        private final boolean write;
        private final long count;
        private final int size;
        private final long step;
        private final long deviceSize;
        private final CountDownLatch all = new CountDownLatch(1);
        private Errno failure;
        private long issued;
        private long finished;
        private long offset;

        Walk(HostBlockDevice dev, boolean write, long count, int size, long step, long deviceSize) {
            this.dev = dev;
            this.write = write;
            this.count = count;
            this.size = size;
            this.step = step;
            this.deviceSize = deviceSize;
        }

        /** Waits until every request has completed or one has failed; returns the failure, or null. */
        Errno await() throws InterruptedException {
            all.await();
            synchronized (this) {
                return failure;
            }
        }

        synchronized void issue(ByteBuffer buf) {
            long at = offset;
            issued++;
            // qemu-img bench's walk: the next offset modulo the last place a whole request fits.
            offset = deviceSize <= size ? 0 : (offset + step) % (deviceSize - size);
            HostBlockDevice.IoCompletion done = (n, e) -> completed(buf, e);
            if (write) {
                dev.write(at, buf, done);
            } else {
                dev.read(at, buf, done);
            }
        }

        private synchronized void completed(ByteBuffer buf, Errno e) {
            if (e != null && failure == null) {
                failure = e;
            }
            if (++finished == count || e != null) {
                all.countDown();
            } else if (issued < count && failure == null) {
                issue(buf);
            }
        }
    }
}
