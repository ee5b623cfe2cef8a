package io.jrump.blk;

import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;

/**
 * A device that passes every call to the one below it: the base for devices that change one
 * thing — count writes, fail or stop at a chosen one (a simulated power cut), log requests —
 * and leave the rest alone.
 */
public abstract class ForwardingBlockDevice implements BlockDevice {
    protected final BlockDevice below;

    protected ForwardingBlockDevice(BlockDevice below) {
        this.below = below;
    }

    @Override
    public String name() {
        return below.name();
    }

    @Override
    public int sectorSize() {
        return below.sectorSize();
    }

    @Override
    public long size() {
        return below.size();
    }

    @Override
    public boolean isReadOnly() {
        return below.isReadOnly();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws ErrnoException {
        below.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src) throws ErrnoException {
        below.write(offset, src);
    }

    @Override
    public void flush() throws ErrnoException {
        below.flush();
    }

    @Override
    public void discard(long offset, long length) throws ErrnoException {
        below.discard(offset, length);
    }

    @Override
    public BlockStats stats() {
        return below.stats();
    }

    @Override
    public void close() throws ErrnoException {
        below.close();
    }
}
