package io.jrump.host.sim;

import io.jrump.host.kit.SparseMemory;
import java.nio.ByteBuffer;

/**
 * A write or discard that has completed but is not yet known durable. Identity matters: two
 * writes of the same bytes to the same place are still two writes.
 */
final class PendingWrite {
    final String op;
    final long offset;
    final long length;
    /** The bytes written, or null for a discard, which writes zeros. */
    private final byte[] data;
    boolean persisted;

    private PendingWrite(String op, long offset, long length, byte[] data) {
        this.op = op;
        this.offset = offset;
        this.length = length;
        this.data = data;
    }

    static PendingWrite write(long offset, byte[] data) {
        return new PendingWrite("write", offset, data.length, data);
    }

    static PendingWrite discard(long offset, long length) {
        return new PendingWrite("discard", offset, length, null);
    }

    long end() {
        return offset + length;
    }

    /** How many sectors of {@code sectorSize} bytes it touches. */
    long sectors(int sectorSize) {
        return length == 0 ? 0 : (end() - 1) / sectorSize - offset / sectorSize + 1;
    }

    void applyTo(SparseMemory memory) {
        applyTo(memory, offset, end());
    }

    /** Applies the part of it in {@code [from, to)}, which must lie inside it. */
    void applyTo(SparseMemory memory, long from, long to) {
        if (data == null) {
            memory.zero(from, to - from);
        } else {
            memory.write(from, ByteBuffer.wrap(data, (int) (from - offset), (int) (to - from)));
        }
    }
}
