package io.jrump.bench.blk;

import io.jrump.host.linux.LinuxHost;
import io.jrump.host.virtio.VirtioHost;
import io.jrump.host.virtio.blk.VirtioBlockDevice.Completions;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.HostBlockDevice;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;

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
            Semaphore slots = new Semaphore(depth);
            CountDownLatch all = new CountDownLatch(1);
            AtomicReference<Errno> failure = new AtomicReference<>();
            long[] finished = {0};
            long t0 = System.nanoTime();
            long offset = 0;
            for (long i = 0; i < count; i++) {
                slots.acquire();
                if (failure.get() != null) {
                    break;
                }
                ByteBuffer buf = buffers[(int) (i % depth)];
                HostBlockDevice.IoCompletion done = (n, e) -> {
                    if (e != null) {
                        failure.compareAndSet(null, e);
                    }
                    if (++finished[0] == count || e != null) { // completions run one at a time, on the loop
                        all.countDown();
                    }
                    slots.release();
                };
                if (write) {
                    dev.write(offset, buf, done);
                } else {
                    dev.read(offset, buf, done);
                }
                // qemu-img bench's walk: the next offset modulo the last place a whole request fits.
                offset = deviceSize <= size ? 0 : (offset + step) % (deviceSize - size);
            }
            all.await();
            if (write) {
                CountDownLatch flushed = new CountDownLatch(1);
                dev.flush((n, e) -> flushed.countDown());
                flushed.await();
            }
            double s = (System.nanoTime() - t0) / 1e9;
            if (failure.get() != null) {
                throw new IllegalStateException("I/O failed: " + failure.get());
            }
            dev.close();
            System.out.printf("seconds=%.3f mib_per_s=%.1f iops=%.0f heap_peak_mib=%.0f%n", s, count * (double) size / s / (1 << 20),
                    count / s, io.jrump.bench.Memory.peakHeapMib());
        }
    }
}
