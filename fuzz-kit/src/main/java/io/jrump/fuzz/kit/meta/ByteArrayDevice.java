package io.jrump.fuzz.kit.meta;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.BlockStats;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import java.nio.ByteBuffer;

/** An image in an array as a block device, for the checksum fixers that work on a device. */
final class ByteArrayDevice implements BlockDevice {
    private static final HostClock NO_CLOCK = new HostClock() {
        @Override
        public long monotonicNanos() {
            return 0;
        }

        @Override
        public long wallNanos() {
            return 0;
        }
    };
    private final byte[] image;
    private final BlockStats stats = new BlockStats(NO_CLOCK);

    ByteArrayDevice(byte[] image) {
        this.image = image;
    }

    @Override
    public String name() {
        return "image";
    }

    @Override
    public int sectorSize() {
        return 512;
    }

    @Override
    public long size() {
        return image.length / 512 * 512L;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws ErrnoException {
        check(offset, dst.remaining());
        dst.put(dst.position(), image, (int) offset, dst.remaining());
    }

    @Override
    public void write(long offset, ByteBuffer src) throws ErrnoException {
        check(offset, src.remaining());
        src.get(src.position(), image, (int) offset, src.remaining());
    }

    private void check(long offset, int length) throws ErrnoException {
        if (offset < 0 || offset > size() || length > size() - offset) {
            throw new ErrnoException(Errno.EIO, "image: " + length + " bytes at " + offset + " past its end " + size());
        }
    }

    @Override
    public void flush() {
    }

    @Override
    public void discard(long offset, long length) {
    }

    @Override
    public BlockStats stats() {
        return stats;
    }

    @Override
    public void close() {
    }
}
