package io.jrump.host.virtio;

import io.jrump.host.virtio.ring.DmaMemory;
import io.jrump.host.virtio.ring.SplitQueue;
import io.jrump.host.virtio.ring.VirtioFeatures;
import io.jrump.host.virtio.ring.VirtioTransport;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.concurrent.Semaphore;

/**
 * What the in-process device models share: the transport side of a device in this process —
 * memory in a direct buffer at device address 1 GiB, the queues the driver starts, one interrupt
 * (a semaphore), and {@link #disappear()}, after which the device is gone as a back-end that died.
 */
abstract class ModelDevice implements VirtioTransport {
    protected final long features;
    protected final SplitQueue[] queues = new SplitQueue[2];
    protected final Semaphore interrupts = new Semaphore(0);
    protected DmaMemory memory;
    protected ByteBuffer shared;
    protected long driverFeatures;
    private volatile boolean gone;
    private volatile boolean closed;

    protected ModelDevice(long features) {
        this.features = features | VirtioFeatures.bit(VirtioFeatures.VERSION_1);
    }

    /** From now on the device is gone, as a back-end that died: kicks and waits for interrupts fail. */
    public void disappear() {
        gone = true;
        interrupts.release();
    }

    /** The features the driver accepted. */
    public long driverFeatures() {
        return driverFeatures;
    }

    /** Fails a kick once the device is gone. */
    protected void checkPresent() throws ErrnoException {
        if (gone) {
            throw new ErrnoException(Errno.EPIPE, "model device went away");
        }
    }

    @Override
    public long deviceFeatures() {
        return features;
    }

    @Override
    public void setFeatures(long f) {
        driverFeatures = f;
    }

    @Override
    public abstract int queueCount();

    @Override
    public int maxQueueSize(int index) {
        return index < queueCount() ? 256 : 0;
    }

    @Override
    public DmaMemory allocateMemory(int bytes) {
        memory = new DmaMemory(ByteBuffer.allocateDirect(bytes + 4096).alignedSlice(4096), 0x4000_0000L);
        shared = memory.buffer();
        return memory;
    }

    @Override
    public void startQueue(SplitQueue q) {
        queues[q.index()] = q;
    }

    @Override
    public void driverOk() {
    }

    @Override
    public void awaitInterrupt(int index) throws ErrnoException {
        interrupts.acquireUninterruptibly();
        interrupts.drainPermits();
        if (gone) {
            throw new ErrnoException(Errno.ECONNRESET, "model device went away");
        }
        if (closed) {
            throw new ErrnoException(Errno.ESHUTDOWN, "closed");
        }
    }

    @Override
    public void wakeUp(int index) {
        interrupts.release();
    }

    @Override
    public void close() {
        closed = true;
        interrupts.release();
    }
}
