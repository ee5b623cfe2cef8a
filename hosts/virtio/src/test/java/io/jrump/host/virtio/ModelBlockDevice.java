package io.jrump.host.virtio;

import io.jrump.host.virtio.ring.SplitQueue;
import io.jrump.host.virtio.ring.VirtioFeatures;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A virtio-blk device in this process, over a byte array: the device side of a split virtqueue,
 * written from the specification, to drive the driver where no real back-end can go. It serves
 * every request a kick makes available, in the order {@link Behaviour#order} picks, and lets
 * {@link Behaviour} bend each used element (its id, length, status, how far the used index moves)
 * and the configuration space, as a buggy or hostile device would.
 *
 * <p>Its own reads of driver memory are bounds-checked: a descriptor outside the memory is a test
 * failure ({@link #deviceErrors}), not an exception in the driver's thread.
 */
public final class ModelBlockDevice extends ModelDevice {
    /** A request the device has taken from the available ring. */
    public record Request(int head, int type, long sector, int dataBytes, int writableBytes) {
    }

    /** What the device does with each used element; the defaults behave. */
    public interface Behaviour {
        /** The order in which to complete {@code taken} requests (indices into it); default in order. */
        default int[] order(List<Request> taken) {
            int[] o = new int[taken.size()];
            for (int i = 0; i < o.length; i++) {
                o[i] = i;
            }
            return o;
        }

        default long usedId(Request r) {
            return r.head();
        }

        default long usedLength(Request r, long honest) {
            return honest;
        }

        default int status(Request r, int honest) {
            return honest;
        }

        /** How far the used index moves for this element (1 honestly). */
        default int usedIndexStep(Request r) {
            return 1;
        }

        /** The configuration space, as read for the {@code n}th time (from 0). */
        default void config(int n, ByteBuffer config) {
        }
    }

    private final byte[] disk;
    private final Behaviour behaviour;
    private final List<String> deviceErrors = new ArrayList<>();
    private int lastAvail;
    private int usedIdx;
    private int configReads;

    public ModelBlockDevice(byte[] disk, long features, Behaviour behaviour) {
        super(features);
        this.disk = disk;
        this.behaviour = behaviour;
    }

    /** A device with write-zeroes, flush, event index and indirect descriptors. */
    public static long fullFeatures() {
        return VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC)
                | VirtioFeatures.bit(9) | VirtioFeatures.bit(14) | VirtioFeatures.bit(6);
    }

    public byte[] disk() {
        return disk;
    }

    /** Problems the device found in what the driver gave it. */
    public synchronized List<String> deviceErrors() {
        return List.copyOf(deviceErrors);
    }

    @Override
    public String describe() {
        return "model-blk";
    }

    @Override
    public boolean hasConfigSpace() {
        return true;
    }

    @Override
    public synchronized void readConfig(int offset, ByteBuffer dst) {
        ByteBuffer c = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        c.putLong(0, disk.length / 512);
        c.putInt(20, 512);
        c.putInt(48, 1 << 16);
        c.putInt(52, 1);
        behaviour.config(configReads++, c);
        dst.duplicate().put(c.slice(offset, dst.remaining()));
    }

    @Override
    public int queueCount() {
        return 1;
    }

    private SplitQueue queue() {
        return queues[0];
    }

    @Override
    public void kick(int index) throws ErrnoException {
        checkPresent();
        serve();
    }

    // ---- the device side of the ring -------------------------------------------------------------

    private record Segment(int offset, int length, boolean writable) {
    }

    private synchronized void serve() {
        // Serve, then ask for a kick at the next entry (avail_event) and look once more: entries
        // made available before the request was seen would otherwise wait for a kick never sent.
        do {
            serveAvailable();
            shared.putShort(queue().usedRingOffset() + 4 + 8 * queue().size(), (short) lastAvail);
            java.lang.invoke.VarHandle.fullFence();
        } while (Short.toUnsignedInt(shared.getShort(queue().availableRingOffset() + 2)) != lastAvail);
    }

    private void serveAvailable() {
        int size = queue().size();
        int availOff = queue().availableRingOffset();
        int usedOff = queue().usedRingOffset();
        int availIdx = Short.toUnsignedInt(shared.getShort(availOff + 2));
        List<Request> taken = new ArrayList<>();
        List<List<Segment>> chains = new ArrayList<>();
        while (lastAvail != availIdx) {
            int head = Short.toUnsignedInt(shared.getShort(availOff + 4 + 2 * (lastAvail % size)));
            lastAvail = (lastAvail + 1) & 0xffff;
            List<Segment> chain = chain(head, size);
            if (chain == null) {
                continue;
            }
            chains.add(chain);
            taken.add(describeRequest(head, chain));
        }
        int[] order = behaviour.order(taken);
        for (int i : order) {
            Request r = taken.get(i);
            long written = execute(r, chains.get(i));
            int status = behaviour.status(r, Byte.toUnsignedInt(shared.get(chains.get(i).get(chains.get(i).size() - 1).offset())));
            Segment last = chains.get(i).get(chains.get(i).size() - 1);
            shared.put(last.offset(), (byte) status);
            int elem = usedOff + 4 + 8 * (usedIdx % size);
            shared.putInt(elem, (int) behaviour.usedId(r));
            shared.putInt(elem + 4, (int) behaviour.usedLength(r, written));
            usedIdx = (usedIdx + behaviour.usedIndexStep(r)) & 0xffff;
            java.lang.invoke.VarHandle.releaseFence();
            shared.putShort(usedOff + 2, (short) usedIdx);
        }
        if (order.length > 0) {
            interrupts.release();
        }
    }

    /** The chain from {@code head}, indirect tables followed; null (and a device error) if malformed. */
    private List<Segment> chain(int head, int size) {
        List<Segment> out = new ArrayList<>();
        int table = queue().descriptorTableOffset();
        int tableSize = size;
        int d = head;
        for (int n = 0; n < 4096; n++) {
            if (d >= tableSize) {
                return error("descriptor " + d + " outside a table of " + tableSize);
            }
            int at = table + 16 * d;
            long addr = shared.getLong(at);
            int len = shared.getInt(at + 8);
            int flags = shared.getShort(at + 12);
            int next = Short.toUnsignedInt(shared.getShort(at + 14));
            int off = offsetOf(addr, len);
            if (off < 0) {
                return error("descriptor " + d + " at 0x" + Long.toHexString(addr) + "+" + len + " outside memory");
            }
            if ((flags & 4) != 0) {
                if (len % 16 != 0 || len == 0) {
                    return error("indirect table of " + len + " bytes");
                }
                table = off;
                tableSize = len / 16;
                d = 0;
                continue;
            }
            out.add(new Segment(off, len, (flags & 2) != 0));
            if ((flags & 1) == 0) {
                return out;
            }
            d = next;
        }
        return error("chain from " + head + " does not end");
    }

    private int offsetOf(long addr, int len) {
        long off = addr - memory.deviceBase();
        if (off < 0 || len < 0 || off + len > memory.capacity()) {
            return -1;
        }
        return (int) off;
    }

    private <T> T error(String what) {
        deviceErrors.add(what);
        return null;
    }

    private Request describeRequest(int head, List<Segment> chain) {
        Segment h = chain.get(0);
        int type = shared.getInt(h.offset());
        long sector = shared.getLong(h.offset() + 8);
        int data = 0;
        int writable = 0;
        for (int i = 1; i < chain.size() - 1; i++) {
            data += chain.get(i).length();
        }
        for (Segment s : chain) {
            writable += s.writable() ? s.length() : 0;
        }
        return new Request(head, type, sector, data, writable);
    }

    /** Does the request; returns the bytes written into the chain (data read, and the status byte). */
    private long execute(Request r, List<Segment> chain) {
        Segment status = chain.get(chain.size() - 1);
        int result = 0;
        long written = 1;
        long pos = r.sector() * 512;
        switch (r.type()) {
            case 0, 1 -> {
                if (pos < 0 || pos + r.dataBytes() > disk.length) {
                    result = 1;
                    break;
                }
                for (int i = 1; i < chain.size() - 1; i++) {
                    Segment s = chain.get(i);
                    if (r.type() == 0) {
                        shared.put(s.offset(), disk, (int) pos, s.length());
                        written += s.length();
                    } else {
                        shared.get(s.offset(), disk, (int) pos, s.length());
                    }
                    pos += s.length();
                }
            }
            case 4 -> { }
            case 13 -> {
                Segment seg = chain.get(1);
                long sector = shared.getLong(seg.offset());
                long count = Integer.toUnsignedLong(shared.getInt(seg.offset() + 8));
                if (sector * 512 + count * 512 > disk.length) {
                    result = 1;
                } else {
                    java.util.Arrays.fill(disk, (int) (sector * 512), (int) ((sector + count) * 512), (byte) 0);
                }
            }
            default -> result = 2;
        }
        shared.put(status.offset(), (byte) result);
        return written;
    }
}
