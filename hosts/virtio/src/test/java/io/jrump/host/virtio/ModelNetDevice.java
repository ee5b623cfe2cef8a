package io.jrump.host.virtio;

import io.jrump.host.virtio.ring.SplitQueue;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A virtio-net device in this process: the device side of the receive and transmit queues,
 * written from the specification. What the driver transmits is kept ({@link #sent}); what a test
 * {@link #deliver}s is written into the receive buffers the driver made available, with a header
 * the test may bend, as a hostile device would. No configuration space (as a vhost-user net
 * back-end).
 */
public final class ModelNetDevice extends ModelDevice {
    /** A transmitted frame: its 12-byte header and the frame. */
    public record Sent(byte[] header, byte[] frame) {
    }

    private final int[] lastAvail = new int[2];
    private final int[] usedIdx = new int[2];
    public final LinkedBlockingQueue<Sent> sent = new LinkedBlockingQueue<>();

    public ModelNetDevice(long features) {
        super(features);
    }

    @Override
    public String describe() {
        return "model-net";
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
    public int queueCount() {
        return 2;
    }

    @Override
    public synchronized void kick(int index) throws ErrnoException {
        checkPresent();
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
        interrupts.release();
        return true;
    }
}
