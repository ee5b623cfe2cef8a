package io.jrump.host.linux;

import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import java.nio.ByteBuffer;

/**
 * Frames read one after another into one direct buffer, delivered to a receiver in order by one
 * event-loop task: the TAP reader's unit of hand-off, so a burst costs one task and no copy or
 * allocation per frame. The receiver sees a read-only slice of the buffer per frame, valid until
 * its call returns (the contract's rule), after which the batch may be {@link #clear()}ed and
 * filled again.
 *
 * <p>Not thread-safe: the reader fills it, then hands it over through the event loop's queue
 * (which orders the writes before the task's reads); the task hands it back through a concurrent
 * pool. One owner at a time.
 */
final class FrameBatch {
    private final ByteBuffer buffer;
    private final int maxFrames;
    private final int maxRead;
    private final int[] starts;
    private final int[] lengths;
    private final int[] flags;
    private int count;
    private int used;

    /**
     * @param bytes room for frames (a batch is full once less than {@code maxRead} is left)
     * @param maxFrames how many frames at most
     * @param maxRead the longest single read (header and frame)
     */
    FrameBatch(int bytes, int maxFrames, int maxRead) {
        this.buffer = ByteBuffer.allocateDirect(bytes + maxRead);
        this.maxFrames = maxFrames;
        this.maxRead = maxRead;
        this.starts = new int[maxFrames];
        this.lengths = new int[maxFrames];
        this.flags = new int[maxFrames];
    }

    /** Where the next read goes: {@code maxRead} bytes after the frames kept so far. */
    ByteBuffer readRoom() {
        return buffer.limit(used + maxRead).position(used);
    }

    /** The whole buffer, for parsing what a read put in {@link #readRoom()} at absolute offsets. */
    ByteBuffer buffer() {
        return buffer;
    }

    /** Offset in {@link #buffer()} where the last {@link #readRoom()} began. */
    int readOffset() {
        return used;
    }

    /**
     * Keeps a frame of {@code length} bytes at absolute {@code start} (inside the last read room)
     * with its receive flags; the next read room starts after the whole read of {@code readLength}.
     */
    void add(int start, int length, int rxFlags, int readLength) {
        if (count == maxFrames || start < used || start + length > used + readLength || readLength > maxRead) {
            throw new IllegalStateException("frame " + start + "+" + length + " outside the read room at " + used);
        }
        starts[count] = start;
        lengths[count] = length;
        flags[count] = rxFlags;
        count++;
        used += (readLength + 7) & ~7; // keep each read 8-byte aligned
    }

    int count() {
        return count;
    }

    /** Whether another frame might not fit. */
    boolean isFull() {
        return count == maxFrames || used + maxRead > buffer.capacity();
    }

    /** Hands every frame to {@code receiver}, in order. */
    void deliverTo(FrameReceiver receiver) {
        ByteBuffer ro = buffer.asReadOnlyBuffer().clear();
        for (int i = 0; i < count; i++) {
            receiver.frameReceived(ro.slice(starts[i], lengths[i]), flags[i]);
        }
    }

    void clear() {
        count = 0;
        used = 0;
    }
}
