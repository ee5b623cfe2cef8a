package io.jrump.blk;

import io.jrump.blk.internal.Requests;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.HostScheduler;
import io.jrump.hypercall.Hypercalls;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * A block device on host storage (a file, a memory disk, a simulated disk) through the hypercall
 * block group: the bottom of every stack. A host file whose length is not a multiple of the sector
 * size shows only its whole sectors, as a Linux loop device does.
 *
 * <p>Besides the blocking calls of {@link BlockDevice} it offers {@link #readAsync} and
 * {@link #writeAsync}, which return at once, so a caller can keep many requests in flight. Thread-safe.
 */
public final class HostDisk implements BlockDevice {
    /** The sector size used unless another is asked for. */
    public static final int DEFAULT_SECTOR_SIZE = 512;

    private final HostBlockDevice dev;
    private final HostScheduler scheduler;
    private final int sectorSize;
    private final BlockStats stats;

    private HostDisk(Hypercalls host, HostBlockDevice dev, int sectorSize) throws ErrnoException {
        if (sectorSize < 512 || sectorSize > 65536 || Integer.bitCount(sectorSize) != 1) {
            dev.close();
            throw new ErrnoException(Errno.EINVAL, dev.name() + ": sector size " + sectorSize
                    + " is not a power of two from 512 to 65536");
        }
        this.dev = dev;
        this.scheduler = host.scheduler();
        this.sectorSize = sectorSize;
        this.stats = new BlockStats(host.clock());
    }

    /** Opens existing host storage with 512-byte sectors. */
    public static HostDisk open(Hypercalls host, String name, OpenMode mode) throws ErrnoException {
        return open(host, name, mode, DEFAULT_SECTOR_SIZE);
    }

    public static HostDisk open(Hypercalls host, String name, OpenMode mode, int sectorSize) throws ErrnoException {
        return new HostDisk(host, host.blockDevices().open(name, mode), sectorSize);
    }

    /** Creates host storage of {@code size} bytes (sparse where the host can) with 512-byte sectors. */
    public static HostDisk create(Hypercalls host, String name, long size) throws ErrnoException {
        if (size % DEFAULT_SECTOR_SIZE != 0) {
            throw new ErrnoException(Errno.EINVAL, name + ": size " + size + " is not a multiple of "
                    + DEFAULT_SECTOR_SIZE);
        }
        return new HostDisk(host, host.blockDevices().create(name, size), DEFAULT_SECTOR_SIZE);
    }

    /** The host device underneath, for image formats that grow their file. */
    public HostBlockDevice hostDevice() {
        return dev;
    }

    /** The event loop on which this disk's host completes I/O. */
    public HostScheduler scheduler() {
        return scheduler;
    }

    @Override
    public String name() {
        return dev.name();
    }

    @Override
    public int sectorSize() {
        return sectorSize;
    }

    @Override
    public long size() {
        long s = dev.size();
        return s - s % sectorSize;
    }

    @Override
    public boolean isReadOnly() {
        return dev.isReadOnly();
    }

    @Override
    public BlockStats stats() {
        return stats;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws ErrnoException {
        scheduler.await(readAsync(offset, dst));
    }

    @Override
    public void write(long offset, ByteBuffer src) throws ErrnoException {
        scheduler.await(writeAsync(offset, src));
    }

    @Override
    public void flush() throws ErrnoException {
        scheduler.await(submit(BlockStats.Op.FLUSH, 0, (c) -> dev.flush(c), () -> "flush"));
    }

    @Override
    public void discard(long offset, long length) throws ErrnoException {
        if (isReadOnly()) {
            throw new ErrnoException(Errno.EROFS, name() + " is read-only");
        }
        Requests.checkRead(name(), sectorSize, size(), offset, length);
        try {
            scheduler.await(submit(BlockStats.Op.DISCARD, length, c -> dev.discard(offset, length, c),
                    () -> "discard " + Requests.describe(offset, length)));
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EOPNOTSUPP) {
                throw e;
            }
            // Discard is advisory; a host that cannot deallocate leaves the old contents.
        }
    }

    /** Starts a read and returns at once; the future completes on the host's event loop. */
    public CompletableFuture<Void> readAsync(long offset, ByteBuffer dst) {
        try {
            Requests.checkRead(name(), sectorSize, size(), offset, dst.remaining());
        } catch (ErrnoException e) {
            return CompletableFuture.failedFuture(e);
        }
        int length = dst.remaining();
        return submit(BlockStats.Op.READ, length, c -> dev.read(offset, dst, c),
                () -> "read " + Requests.describe(offset, length));
    }

    /** Starts a write and returns at once; the future completes on the host's event loop. */
    public CompletableFuture<Void> writeAsync(long offset, ByteBuffer src) {
        try {
            Requests.checkWrite(name(), sectorSize, size(), isReadOnly(), offset, src.remaining());
        } catch (ErrnoException e) {
            return CompletableFuture.failedFuture(e);
        }
        int length = src.remaining();
        return submit(BlockStats.Op.WRITE, length, c -> dev.write(offset, src, c),
                () -> "write " + Requests.describe(offset, length));
    }

    private interface Start {
        void start(HostBlockDevice.IoCompletion completion);
    }

    /** {@code what} names the request in an error message; made only when one fails. */
    private CompletableFuture<Void> submit(BlockStats.Op op, long bytes, Start start, Supplier<String> what) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        long t0 = stats.start();
        start.start((n, error) -> {
            stats.record(op, bytes, t0, error != null);
            if (error == null) {
                done.complete(null);
            } else {
                done.completeExceptionally(new ErrnoException(error, name() + ": " + what.get()));
            }
        });
        return done;
    }

    @Override
    public void close() {
        dev.close();
    }

    @Override
    public String toString() {
        return "HostDisk[" + name() + ", " + size() + " bytes, " + sectorSize + "-byte sectors"
                + (isReadOnly() ? ", read-only" : "") + "]";
    }
}
