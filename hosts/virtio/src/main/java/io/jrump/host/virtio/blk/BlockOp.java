package io.jrump.host.virtio.blk;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.HostBlockDevice.IoCompletion;
import java.nio.ByteBuffer;

/**
 * One call on the device (a read, write, flush or discard of any length at any byte offset), cut
 * into virtio-blk requests of at most one slot each as slots come free. The cut follows the
 * device's block size: a range that does not start or end on a block boundary has a partial
 * first or last piece, which a write or discard must read, merge and write back
 * ({@link #needsMerge}); such an op runs alone (exclusive), so that no other write to the same
 * block slips in between.
 *
 * <p>Guarded by the device's lock.
 */
final class BlockOp {
    enum Kind { READ, WRITE, FLUSH, DISCARD }

    final Kind kind;
    final long offset;
    final long length;
    /** The caller's bytes, position at the op's first byte; null for flush and discard. */
    final ByteBuffer data;
    final IoCompletion completion;
    final boolean exclusive;
    /** The byte range whole blocks cover: {@code [start, end)}. */
    final long start;
    final long end;

    /** The next byte of {@code [start, end)} not yet cut into a request. */
    long cursor;
    boolean started;
    int inFlight;
    Errno error;

    BlockOp(Kind kind, long offset, long length, ByteBuffer data, IoCompletion completion, int blockSize) {
        this.kind = kind;
        this.offset = offset;
        this.length = length;
        this.data = data;
        this.completion = completion;
        this.start = Math.floorDiv(offset, blockSize) * (long) blockSize;
        this.end = ceil(offset + length, blockSize);
        boolean aligned = start == offset && end == offset + length;
        this.exclusive = !aligned && (kind == Kind.WRITE || kind == Kind.DISCARD);
        this.cursor = kind == Kind.FLUSH ? -1 : start;
    }

    private static long ceil(long x, int unit) {
        return Math.floorDiv(x + unit - 1, unit) * (long) unit;
    }

    /** Whether every request of this op has been issued. */
    boolean fullyIssued() {
        return kind == Kind.FLUSH ? cursor == 0 : cursor >= end || length == 0;
    }

    /** Whether the piece {@code [pieceStart, pieceEnd)} has bytes outside the op's range, to be read first. */
    boolean needsMerge(long pieceStart, long pieceEnd) {
        return pieceStart < offset || pieceEnd > offset + length;
    }

    void fail(Errno e) {
        if (error == null) {
            error = e;
        }
    }
}
