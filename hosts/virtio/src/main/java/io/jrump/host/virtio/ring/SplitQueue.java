package io.jrump.host.virtio.ring;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The driver's side of one split virtqueue (virtio 1.2, 2.7): a descriptor table, an available
 * ring the driver writes and a used ring the device writes, all in {@link DmaMemory}.
 *
 * <p>The device is not trusted. Everything the driver needs to know about a chain (its
 * descriptors, how many bytes the device may write) is kept here in Java arrays, never read back
 * from shared memory the device could have changed; every used element is checked against them
 * ({@link #nextUsed()}). A device that names a descriptor not in flight, reports more bytes than
 * it was offered, or moves its used index further than there are requests makes the queue
 * broken: {@link BrokenDeviceException}, and every call after that throws it again.
 *
 * <p>Publishing is separate from adding, so that a batch of chains costs one index update and at
 * most one notification ({@link #publish()}). With {@link VirtioFeatures#RING_EVENT_IDX} the
 * driver kicks only when the device asked to hear of the new entries ({@code avail_event}) and
 * asks to be interrupted only for the next used entry ({@code used_event}); without it, the ring
 * flags do the same more coarsely. With indirect descriptors a chain of several buffers takes one
 * ring descriptor, its table preallocated per head.
 *
 * <p>Not thread-safe: the device class that owns it serializes every call.
 */
public final class SplitQueue {
    /** Ordered 16-bit accesses to shared memory: the index publication and its observation. */
    private static final VarHandle SHORT = MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    static final int DESC_F_NEXT = 1;
    static final int DESC_F_WRITE = 2;
    static final int DESC_F_INDIRECT = 4;
    static final int AVAIL_F_NO_INTERRUPT = 1;
    static final int USED_F_NO_NOTIFY = 1;

    /** The largest queue the specification allows. */
    public static final int MAX_SIZE = 32768;

    private final String name;
    private final int index;
    private final int size;
    private final int mask;
    private final DmaMemory memory;
    private final ByteBuffer shared;
    private final int descOffset;
    private final int availOffset;
    private final int usedOffset;
    private final boolean eventIdx;
    private final int maxIndirect;
    private final int indirectOffset;

    /**
     * Free descriptors, linked through {@link #link}; -1 ends the list. A chain takes the first
     * free ones in list order, so their links are already its successors.
     */
    private int freeHead;
    private int freeCount;
    /** The driver's own copy of each descriptor's successor: in the free list, or in its chain. */
    private final int[] link;
    /** Per head in flight: descriptors the chain took from the table (1 for an indirect one). */
    private final int[] chainLength;
    /** Per head in flight: the bytes the device may write. */
    private final long[] writable;
    private final boolean[] inFlight;
    private int outstanding;

    /** The available index as the driver has filled it, and as the device has last been shown it. */
    private int availIdx;
    private int publishedIdx;
    /** The used index up to which the driver has consumed. */
    private int lastUsed;
    private long lastLength;
    private String broken;

    /**
     * Lays a queue of {@code size} entries out in {@code memory}.
     *
     * @param name the device and queue, for messages
     * @param size a power of two, 1 to {@link #MAX_SIZE}
     * @param eventIdx whether {@link VirtioFeatures#RING_EVENT_IDX} was negotiated
     * @param maxIndirect the most buffers an indirect chain holds (0: indirect descriptors unused)
     */
    public SplitQueue(String name, int index, int size, DmaMemory memory, boolean eventIdx, int maxIndirect) {
        if (size < 1 || size > MAX_SIZE || Integer.bitCount(size) != 1) {
            throw new IllegalArgumentException("queue size " + size + " is not a power of two up to " + MAX_SIZE);
        }
        if (maxIndirect < 0 || maxIndirect > 4096) {
            throw new IllegalArgumentException("indirect table of " + maxIndirect + " entries");
        }
        this.name = name;
        this.index = index;
        this.size = size;
        this.mask = size - 1;
        this.memory = memory;
        this.shared = memory.buffer();
        this.eventIdx = eventIdx;
        this.maxIndirect = maxIndirect;
        this.descOffset = memory.allocate(16 * size, 16);
        this.availOffset = memory.allocate(6 + 2 * size, 2);
        this.usedOffset = memory.allocate(6 + 8 * size, 4);
        this.indirectOffset = maxIndirect == 0 ? -1 : memory.allocate(16 * maxIndirect * size, 16);
        this.link = new int[size];
        this.chainLength = new int[size];
        this.writable = new long[size];
        this.inFlight = new boolean[size];
        for (int i = 0; i < size; i++) {
            link[i] = i + 1 < size ? i + 1 : -1;
        }
        freeHead = 0;
        freeCount = size;
    }

    /** Bytes a queue of {@code size} entries with indirect tables of {@code maxIndirect} takes in DMA memory. */
    public static int bytesNeeded(int size, int maxIndirect) {
        return DmaMemory.splitQueueBytes(size) + 16 * maxIndirect * size + 16;
    }

    public int index() {
        return index;
    }

    public int size() {
        return size;
    }

    /** Offsets of the three parts in the DMA memory, for transports that give the device addresses. */
    public int descriptorTableOffset() {
        return descOffset;
    }

    public int availableRingOffset() {
        return availOffset;
    }

    public int usedRingOffset() {
        return usedOffset;
    }

    /** Descriptors not in any chain. */
    public int freeDescriptors() {
        return freeCount;
    }

    /** Chains made available and not yet used. */
    public int outstanding() {
        return outstanding;
    }

    public boolean isBroken() {
        return broken != null;
    }

    /** Why the queue is broken; null if it is not. */
    public String brokenReason() {
        return broken;
    }

    /** How many descriptors a chain of {@code buffers} buffers takes. */
    public int descriptorsFor(int buffers) {
        return buffers > 1 && buffers <= maxIndirect ? 1 : buffers;
    }

    /**
     * Adds a chain of {@code readable + writable} buffers, the device-readable ones first, to the
     * available ring (not yet published). Addresses and lengths are device addresses in this
     * queue's memory.
     *
     * @return the chain's head descriptor, by which {@link #nextUsed()} reports it; -1 if there
     *     are not enough free descriptors (nothing was added)
     */
    public int add(long[] addresses, int[] lengths, int readable, int writableCount) throws BrokenDeviceException {
        checkNotBroken();
        int n = readable + writableCount;
        if (n < 1 || n > addresses.length || n > lengths.length) {
            throw new IllegalArgumentException("chain of " + readable + " + " + writableCount + " buffers");
        }
        boolean indirect = n > 1 && n <= maxIndirect;
        int needed = indirect ? 1 : n;
        if (needed > freeCount) {
            return -1;
        }
        long deviceWritable = 0;
        for (int i = readable; i < n; i++) {
            deviceWritable += Integer.toUnsignedLong(lengths[i]);
        }
        int head = freeHead;
        if (indirect) {
            freeHead = link[head];
            link[head] = -1;
            int table = indirectOffset + head * maxIndirect * 16;
            for (int i = 0; i < n; i++) {
                int flags = (i < readable ? 0 : DESC_F_WRITE) | (i + 1 < n ? DESC_F_NEXT : 0);
                writeDescriptor(table + 16 * i, addresses[i], lengths[i], flags, i + 1 < n ? i + 1 : 0);
            }
            writeDescriptor(descOffset + 16 * head, memory.deviceAddress(table), 16 * n, DESC_F_INDIRECT, 0);
        } else {
            int d = head;
            for (int i = 0; i < n; i++) {
                int next = link[d];
                int flags = (i < readable ? 0 : DESC_F_WRITE) | (i + 1 < n ? DESC_F_NEXT : 0);
                writeDescriptor(descOffset + 16 * d, addresses[i], lengths[i], flags, i + 1 < n ? next : 0);
                if (i + 1 == n) {
                    freeHead = next;
                    link[d] = -1;
                } else {
                    d = next;
                }
            }
        }
        freeCount -= needed;
        chainLength[head] = needed;
        writable[head] = deviceWritable;
        inFlight[head] = true;
        outstanding++;
        shared.putShort(availOffset + 4 + 2 * (availIdx & mask), (short) head);
        availIdx = (availIdx + 1) & 0xffff;
        return head;
    }

    private void writeDescriptor(int at, long address, int length, int flags, int next) {
        shared.putLong(at, address);
        shared.putInt(at + 8, length);
        shared.putShort(at + 12, (short) flags);
        shared.putShort(at + 14, (short) next);
    }

    /**
     * Shows the device every chain added since the last call (one release store of the index) and
     * says whether it must be notified: false if nothing is new, or the device suppressed
     * notification for these entries.
     */
    public boolean publish() throws BrokenDeviceException {
        checkNotBroken();
        if (availIdx == publishedIdx) {
            return false;
        }
        SHORT.setRelease(shared, availOffset + 2, (short) availIdx);
        // The device may be reading avail_event/flags as we write the index: order the two (2.7.13.3.1).
        VarHandle.fullFence();
        int old = publishedIdx;
        publishedIdx = availIdx;
        if (eventIdx) {
            int availEvent = Short.toUnsignedInt(shared.getShort(usedOffset + 4 + 8 * size));
            return needEvent(availEvent, availIdx, old);
        }
        return (shared.getShort(usedOffset) & USED_F_NO_NOTIFY) == 0;
    }

    /** vring_need_event: whether {@code event} lies in {@code [old, newIdx)}, modulo 2^16. */
    static boolean needEvent(int event, int newIdx, int old) {
        return ((newIdx - event - 1) & 0xffff) < ((newIdx - old) & 0xffff);
    }

    /**
     * The head of the next chain the device has used, its checked used length then in
     * {@link #lastUsedLength()}; -1 if there is none yet. The chain's descriptors are free again.
     *
     * @throws BrokenDeviceException if the used element or index breaks the contract
     */
    public int nextUsed() throws BrokenDeviceException {
        checkNotBroken();
        int usedIdx = Short.toUnsignedInt((short) SHORT.getAcquire(shared, usedOffset + 2));
        if (usedIdx == lastUsed) {
            return -1;
        }
        int ahead = (usedIdx - lastUsed) & 0xffff;
        if (ahead > outstanding) {
            throw brake("used index " + usedIdx + " is " + ahead + " past the last seen (" + lastUsed + ") but only "
                    + outstanding + " chains are in flight");
        }
        int elem = usedOffset + 4 + 8 * (lastUsed & mask);
        long id = Integer.toUnsignedLong(shared.getInt(elem));
        long length = Integer.toUnsignedLong(shared.getInt(elem + 4));
        if (id >= size || !inFlight[(int) id]) {
            throw brake("used element " + lastUsed + " names descriptor " + id + ", which is not the head of a chain in flight");
        }
        int head = (int) id;
        if (length > writable[head]) {
            throw brake("used element " + lastUsed + " for descriptor " + head + " reports " + length
                    + " bytes written, but the chain offers only " + writable[head]);
        }
        lastUsed = (lastUsed + 1) & 0xffff;
        lastLength = length;
        release(head);
        return head;
    }

    private void release(int head) {
        int n = chainLength[head];
        int tail = head;
        for (int i = 1; i < n; i++) {
            tail = link[tail]; // the driver's own chain, not the shared table's next fields
        }
        link[tail] = freeHead;
        freeHead = head;
        freeCount += n;
        inFlight[head] = false;
        outstanding--;
    }

    /** The device-written length of the chain {@link #nextUsed()} last returned. */
    public long lastUsedLength() {
        return lastLength;
    }

    /**
     * Asks the device to interrupt for the next used entry, then says whether one is there
     * already (the caller must then look again, or it would sleep past it).
     */
    public boolean enableInterrupts() throws BrokenDeviceException {
        checkNotBroken();
        if (eventIdx) {
            shared.putShort(availOffset + 4 + 2 * size, (short) lastUsed);
        } else {
            shared.putShort(availOffset, (short) 0);
        }
        VarHandle.fullFence();
        return Short.toUnsignedInt(shared.getShort(usedOffset + 2)) != lastUsed;
    }

    /** Asks the device not to interrupt (a hint; a polling driver still checks the ring). */
    public void disableInterrupts() {
        if (!eventIdx) {
            shared.putShort(availOffset, (short) AVAIL_F_NO_INTERRUPT);
        }
    }

    /**
     * Empties the queue as a new device would find it — rings zeroed, every descriptor free, the
     * indices at 0 — for a driver that starts it again on a reconnected device. Chains in flight
     * are forgotten: the caller adds them again. Not for a broken queue.
     */
    public void reset() {
        if (broken != null) {
            throw new IllegalStateException("a broken queue is not reset: " + broken);
        }
        for (int i = availOffset; i < availOffset + 6 + 2 * size; i++) {
            shared.put(i, (byte) 0);
        }
        for (int i = usedOffset; i < usedOffset + 6 + 8 * size; i++) {
            shared.put(i, (byte) 0);
        }
        for (int i = 0; i < size; i++) {
            link[i] = i + 1 < size ? i + 1 : -1;
            inFlight[i] = false;
        }
        freeHead = 0;
        freeCount = size;
        outstanding = 0;
        availIdx = 0;
        publishedIdx = 0;
        lastUsed = 0;
    }

    /** Marks the queue broken for a reason found outside it (a device-level check). */
    public BrokenDeviceException brake(String reason) {
        if (broken == null) {
            broken = name + " queue " + index + ": " + reason;
        }
        return new BrokenDeviceException(broken);
    }

    private void checkNotBroken() throws BrokenDeviceException {
        if (broken != null) {
            throw new BrokenDeviceException(broken);
        }
    }

    @Override
    public String toString() {
        return "SplitQueue[" + name + " #" + index + ", size " + size + ", " + outstanding + " in flight"
                + (broken != null ? ", broken" : "") + "]";
    }
}
