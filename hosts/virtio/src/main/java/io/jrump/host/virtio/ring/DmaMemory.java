package io.jrump.host.virtio.ring;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Memory the driver shares with the device: rings and buffers, allocated once when a device is
 * opened and never moved, outside the Java heap. The driver touches it through {@link #buffer()};
 * the device through <em>device addresses</em>, {@link #deviceBase()} + offset: guest-physical
 * addresses in a vhost-user memory table, I/O virtual addresses behind an IOMMU, physical
 * addresses on bare metal.
 *
 * <p>Allocation is a bump pointer: every ring and buffer is carved out when the device is set up,
 * so there is no free and no fragmentation. Not thread-safe; allocation happens before the device
 * starts.
 */
public final class DmaMemory {
    private final ByteBuffer buffer;
    private final long deviceBase;
    private int next;

    /**
     * @param buffer the shared bytes (direct, zero-filled, as fresh memfd and direct buffers are);
     *     its first byte is at device address {@code deviceBase}
     * @param deviceBase the device address of byte 0: non-zero and page-aligned, so that a zero or
     *     small address from a confused device lies outside
     */
    public DmaMemory(ByteBuffer buffer, long deviceBase) {
        if (!Objects.requireNonNull(buffer, "buffer").isDirect()) {
            throw new IllegalArgumentException("DMA memory must be a direct buffer");
        }
        if (deviceBase == 0 || (deviceBase & 4095) != 0) {
            throw new IllegalArgumentException("device base 0x" + Long.toHexString(deviceBase) + " is zero or not page-aligned");
        }
        this.buffer = buffer.duplicate().clear().order(ByteOrder.LITTLE_ENDIAN);
        this.deviceBase = deviceBase;
    }

    /** All of it, little-endian, position 0. Shared: callers use absolute gets and puts only. */
    public ByteBuffer buffer() {
        return buffer;
    }

    public long deviceBase() {
        return deviceBase;
    }

    public int capacity() {
        return buffer.capacity();
    }

    /** Bytes not yet allocated. */
    public int available() {
        return buffer.capacity() - next;
    }

    /**
     * {@code size} bytes at a multiple of {@code alignment} (a power of two) from the start;
     * returns their offset.
     *
     * @throws IllegalStateException if the memory is used up (its size is chosen from the same
     *     sums, so that is a bug)
     */
    public int allocate(int size, int alignment) {
        if (size < 0 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("allocate " + size + " bytes aligned to " + alignment);
        }
        int at = (next + alignment - 1) & -alignment;
        if (at < 0 || at > buffer.capacity() - size) {
            throw new IllegalStateException("DMA memory of " + buffer.capacity() + " bytes cannot hold " + size
                    + " more at " + at);
        }
        next = at + size;
        return at;
    }

    /** The device address of the byte at {@code offset}. */
    public long deviceAddress(int offset) {
        return deviceBase + offset;
    }

    /** The bytes {@code [offset, offset + length)} as a little-endian buffer of their own. */
    public ByteBuffer slice(int offset, int length) {
        return buffer.slice(offset, length).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Bytes a split virtqueue of {@code size} entries takes ({@link SplitQueue#layout}), with alignment slack. */
    public static int splitQueueBytes(int size) {
        return 16 * size + 6 + 2 * size + 4096 + 6 + 8 * size + 64;
    }
}
