package io.jrump.host.virtio;

import io.jrump.host.virtio.ring.DmaMemory;
import io.jrump.host.virtio.ring.SplitQueue;
import io.jrump.host.virtio.ring.VirtioFeatures;
import io.jrump.host.virtio.ring.VirtioTransport;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;

/**
 * A virtio-net device in this process: the device side of the receive and transmit queues,
 * written from the specification. What the driver transmits is kept ({@link #sent}); what a test
 * {@link #deliver}s is written into the receive buffers the driver made available, with a header
 * the test may bend, as a hostile device would. No configuration space (as a vhost-user net
 * back-end).
 */
public final class ModelNetDevice implements VirtioTransport {
    /** A transmitted frame: its 12-byte header and the frame. */
    public record Sent(byte[] header, byte[] frame) {
    }

    private final long features;
    private final SplitQueue[] queues = new SplitQueue[2];
    private final int[] lastAvail = new int[2];
    private final int[] usedIdx = new int[2];
    private final Semaphore rxInterrupts = new Semaphore(0);
    public final LinkedBlockingQueue<Sent> sent = new LinkedBlockingQueue<>();
    private DmaMemory memory;
    private ByteBuffer shared;
    private volatile boolean gone;
    private volatile boolean closed;

    public ModelNetDevice(long features) {
        this.features = features | VirtioFeatures.bit(VirtioFeatures.VERSION_1);
    }

    public void disappear() {
        gone = true;
        rxInterrupts.release();
    }

    @Override
    public String describe() {
        return "model-net";
    }

    @Override
    public long deviceFeatures() {
        return features;
    }

    @Override
    public boolean hasConfigSpace() {
        return false;
    }

    @Override
    public void readConfig(int offset, ByteBuffer dst) throws ErrnoException {
        throw new ErrnoException(Errno.EOPNOTSUPP, "no configuration space");
    }

    @Override
    public void setFeatures(long f) {
    }

    @Override
    public int maxQueueSize(int index) {
        return index < 2 ? 256 : 0;
    }

    @Override
    public int queueCount() {
        return 2;
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
    public synchronized void kick(int index) throws ErrnoException {
        if (gone) {
            throw new ErrnoException(Errno.EPIPE, "model device went away");
        }
        if (index != 1) {
            return;
        }
        SplitQueue tx = queues[1];
        int avail = Short.toUnsignedInt(shared.getShort(tx.availableRingOffset() + 2));
        while (lastAvail[1] != avail) {
            int head = Short.toUnsignedInt(shared.getShort(tx.availableRingOffset() + 4 + 2 * (lastAvail[1] % tx.size())));
            lastAvail[1] = (lastAvail[1] + 1) & 0xffff;
            int d = tx.descriptorTableOffset() + 16 * head;
            int at = (int) (shared.getLong(d) - memory.deviceBase());
            int len = shared.getInt(d + 8);
            byte[] all = new byte[len];
            shared.get(at, all);
            sent.add(new Sent(java.util.Arrays.copyOf(all, 12), java.util.Arrays.copyOfRange(all, 12, len)));
            used(1, head, 0);
        }
        shared.putShort(tx.usedRingOffset() + 4 + 8 * tx.size(), (short) lastAvail[1]); // avail_event
    }

    private void used(int q, long id, long len) {
        SplitQueue queue = queues[q];
        int elem = queue.usedRingOffset() + 4 + 8 * (usedIdx[q] % queue.size());
        shared.putInt(elem, (int) id);
        shared.putInt(elem + 4, (int) len);
        usedIdx[q] = (usedIdx[q] + 1) & 0xffff;
        java.lang.invoke.VarHandle.releaseFence();
        shared.putShort(queue.usedRingOffset() + 2, (short) usedIdx[q]);
    }

    /**
     * Writes {@code frame} behind {@code header} (12 bytes, {@code num_buffers} at 10 as the test
     * says) into as many receive buffers as it needs, reporting {@code lengthExtra} more bytes for
     * the first than it wrote, and interrupts. False if the driver had too few buffers out.
     */
    public synchronized boolean deliver(byte[] header, byte[] frame, long lengthExtra) {
        SplitQueue rx = queues[0];
        byte[] all = new byte[12 + frame.length];
        System.arraycopy(header, 0, all, 0, 12);
        System.arraycopy(frame, 0, all, 12, frame.length);
        List<int[]> buffers = new ArrayList<>();
        int avail = Short.toUnsignedInt(shared.getShort(rx.availableRingOffset() + 2));
        int written = 0;
        int next = lastAvail[0];
        while (written < all.length) {
            if (next == avail) {
                return false;
            }
            int head = Short.toUnsignedInt(shared.getShort(rx.availableRingOffset() + 4 + 2 * (next % rx.size())));
            next = (next + 1) & 0xffff;
            int d = rx.descriptorTableOffset() + 16 * head;
            int at = (int) (shared.getLong(d) - memory.deviceBase());
            int n = Math.min(shared.getInt(d + 8), all.length - written);
            shared.put(at, all, written, n);
            buffers.add(new int[] {head, n});
            written += n;
        }
        lastAvail[0] = next;
        for (int i = 0; i < buffers.size(); i++) {
            used(0, buffers.get(i)[0], buffers.get(i)[1] + (i == 0 ? lengthExtra : 0));
        }
        rxInterrupts.release();
        return true;
    }

    @Override
    public void awaitInterrupt(int index) throws ErrnoException {
        rxInterrupts.acquireUninterruptibly();
        rxInterrupts.drainPermits();
        if (gone) {
            throw new ErrnoException(Errno.ECONNRESET, "model device went away");
        }
        if (closed) {
            throw new ErrnoException(Errno.ESHUTDOWN, "closed");
        }
    }

    @Override
    public void wakeUp(int index) {
        rxInterrupts.release();
    }

    @Override
    public void close() {
        closed = true;
        rxInterrupts.release();
    }
}
