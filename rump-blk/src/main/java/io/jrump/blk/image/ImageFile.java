package io.jrump.blk.image;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.HostScheduler;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * Byte-granular, blocking access to an image's host file: image formats place metadata at any
 * byte offset and grow their file, which a sector-aligned {@code BlockDevice} does not allow.
 * Thread-safe as the host device is.
 */
public final class ImageFile implements AutoCloseable {
    private final HostBlockDevice dev;
    private final HostScheduler scheduler;

    public ImageFile(HostBlockDevice dev, HostScheduler scheduler) {
        this.dev = dev;
        this.scheduler = scheduler;
    }

    public String name() {
        return dev.name();
    }

    public long size() {
        return dev.size();
    }

    /** Whether writes past the end grow the file; a fixed-size device refuses them ({@code ENOSPC}). */
    public boolean isGrowable() {
        return dev.isGrowable();
    }

    public boolean isReadOnly() {
        return dev.isReadOnly();
    }

    /** Reads {@code dst.remaining()} bytes at {@code offset}; EIO if the file is shorter. */
    public void read(long offset, ByteBuffer dst) throws ErrnoException {
        if (offset < 0 || offset > dev.size() || dst.remaining() > dev.size() - offset) {
            throw new ErrnoException(Errno.EIO, dev.name() + ": " + dst.remaining() + " bytes at 0x"
                    + Long.toHexString(offset) + " lie past the end of the file (" + dev.size() + " bytes): truncated image?");
        }
        await(c -> dev.read(offset, dst, c));
    }

    public void write(long offset, ByteBuffer src) throws ErrnoException {
        await(c -> dev.write(offset, src, c));
    }

    public void flush() throws ErrnoException {
        await(dev::flush);
    }

    private interface Op {
        void start(HostBlockDevice.IoCompletion c);
    }

    private void await(Op op) throws ErrnoException {
        CompletableFuture<Void> f = new CompletableFuture<>();
        op.start((n, e) -> {
            if (e == null) {
                f.complete(null);
            } else {
                f.completeExceptionally(new ErrnoException(e, dev.name()));
            }
        });
        scheduler.await(f);
    }

    @Override
    public void close() {
        dev.close();
    }
}
