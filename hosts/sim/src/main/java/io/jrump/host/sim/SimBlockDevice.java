package io.jrump.host.sim;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.host.kit.BlockRequests;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * One host's handle on a {@link SimDisk}. Checks arguments, then hands the operation to the disk;
 * completions run on the opening host's event loop. A handle opened before a power cut fails every
 * later operation with {@link Errno#EIO}. Confined to the world's thread.
 */
final class SimBlockDevice implements HostBlockDevice {
    private final SimWorld world;
    private final SimDisk disk;
    private final SimHost host;
    private final boolean readOnly;
    private final int powerCycle;
    private boolean closed;

    SimBlockDevice(SimWorld world, SimDisk disk, SimHost host, boolean readOnly, int powerCycle) {
        this.world = world;
        this.disk = disk;
        this.host = host;
        this.readOnly = readOnly;
        this.powerCycle = powerCycle;
    }

    @Override
    public String name() {
        return disk.name();
    }

    @Override
    public long size() {
        world.checkThread();
        return disk.size();
    }

    @Override
    public int sectorSize() {
        return SimDisk.SECTOR_SIZE;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public boolean isGrowable() {
        return false;
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCompletion completion) {
        world.checkThread();
        Objects.requireNonNull(completion, "completion");
        long length = dst.remaining();
        Errno error = state();
        if (error == null) {
            error = BlockRequests.checkRead(offset, dst, disk.size());
        }
        start(SimDisk.Op.READ, offset, length, dst, error, completion);
    }

    @Override
    public void write(long offset, ByteBuffer src, IoCompletion completion) {
        world.checkThread();
        Objects.requireNonNull(completion, "completion");
        long length = src.remaining();
        Errno error = state();
        if (error == null) {
            error = BlockRequests.checkWrite(offset, length, disk.size(), readOnly, false);
        }
        start(SimDisk.Op.WRITE, offset, length, src, error, completion);
    }

    @Override
    public void flush(IoCompletion completion) {
        world.checkThread();
        Objects.requireNonNull(completion, "completion");
        start(SimDisk.Op.FLUSH, 0, 0, null, state(), completion);
    }

    @Override
    public void discard(long offset, long length, IoCompletion completion) {
        world.checkThread();
        Objects.requireNonNull(completion, "completion");
        Errno error = state();
        if (error == null) {
            error = BlockRequests.checkDiscard(offset, length, disk.size(), readOnly);
        }
        start(SimDisk.Op.DISCARD, offset, length, null, error, completion);
    }

    /** Operations in flight still complete, as the contract asks. */
    @Override
    public void close() {
        world.checkThread();
        if (!closed) {
            closed = true;
            host.untrack(this);
        }
    }

    SimHost host() {
        return host;
    }

    /** Runs a completion on the opening host's loop; dropped if that host has closed. */
    void complete(IoCompletion completion, long bytes, Errno error) {
        world.callOnHost(host, () -> completion.done(bytes, error));
    }

    private Errno state() {
        if (closed) {
            return Errno.EBADF;
        }
        // The medium lost power since this handle was opened.
        return powerCycle != disk.powerCycles() ? Errno.EIO : null;
    }

    private void start(SimDisk.Op op, long offset, long length, ByteBuffer buffer, Errno error,
                       IoCompletion completion) {
        if (error != null) {
            disk.refuse(this, op, offset, length, error, completion);
        } else {
            disk.submit(this, op, offset, length, buffer, completion);
        }
    }
}
