package io.jrump.blk;

import io.jrump.blk.internal.Requests;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;

/**
 * A byte range of another device, such as a partition: offsets are shifted and checked against
 * the range before they reach the device below, so nothing is read or written outside it.
 * Thread-safe as its parent is. Statistics are the parent's.
 */
final class RangeDevice implements BlockDevice {
    private final BlockDevice parent;
    private final String name;
    private final long start;
    private final long length;
    private volatile boolean closed;

    RangeDevice(BlockDevice parent, String name, long start, long length) throws ErrnoException {
        Requests.checkRead(parent.name(), parent.sectorSize(), parent.size(), start, length);
        this.parent = parent;
        this.name = name;
        this.start = start;
        this.length = length;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int sectorSize() {
        return parent.sectorSize();
    }

    @Override
    public long size() {
        return length;
    }

    @Override
    public boolean isReadOnly() {
        return parent.isReadOnly();
    }

    /** Where the range starts on its parent. */
    long start() {
        return start;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws ErrnoException {
        checkOpen();
        Requests.checkRead(name, sectorSize(), length, offset, dst.remaining());
        parent.read(start + offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws ErrnoException {
        checkOpen();
        Requests.checkWrite(name, sectorSize(), length, isReadOnly(), offset, src.remaining());
        parent.write(start + offset, src);
    }

    @Override
    public void flush() throws ErrnoException {
        checkOpen();
        parent.flush();
    }

    @Override
    public void discard(long offset, long len) throws ErrnoException {
        checkOpen();
        if (isReadOnly()) {
            throw new ErrnoException(Errno.EROFS, name + " is read-only");
        }
        Requests.checkRead(name, sectorSize(), length, offset, len);
        parent.discard(start + offset, len);
    }

    @Override
    public BlockStats stats() {
        return parent.stats();
    }

    private void checkOpen() throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.EBADF, name + " is closed");
        }
    }

    @Override
    public void close() {
        closed = true;
    }

    @Override
    public String toString() {
        return name + " (" + length + " bytes at 0x" + Long.toHexString(start) + " of " + parent.name() + ")";
    }
}
