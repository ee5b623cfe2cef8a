package io.jrump.blk;

import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;

/**
 * A block device: {@link #size()} bytes in sectors of {@link #sectorSize()} bytes, read and
 * written in whole sectors at sector-aligned offsets. Devices stack: a partition, a qcow2 image or
 * a cache is a {@code BlockDevice} over another.
 *
 * <p>The calls block, as {@code bread}/{@code bwrite} do in a kernel: they are for application
 * threads and for components that run on them (filesystems), never for the kernel's event loop,
 * where a wait could never end ({@code EDEADLK}). On the simulation host the driving thread calls
 * them and the simulation runs while it waits. Implementations are thread-safe.
 *
 * <p>Buffers: a read fills {@code dst.remaining()} bytes from its position, a write takes
 * {@code src.remaining()} bytes; neither moves the buffer's position or limit.
 *
 * <p>Errors, as {@link ErrnoException}: {@code EINVAL} for an offset or length that is not a
 * multiple of the sector size, or a range outside the device; {@code ENOSPC} for a write past the
 * end; {@code EROFS} for a write or discard on a read-only device; {@code EBADF} after
 * {@link #close()}; {@code EIO}, {@code EUCLEAN} for failed media and corrupt images, with a
 * message naming the device, structure and offset.
 */
public interface BlockDevice extends AutoCloseable {

    /** A name for messages, such as {@code disk.qcow2} or {@code disk.qcow2:p2}. */
    String name();

    /** The logical sector size: 512 or 4096 bytes, the unit of every offset and length. */
    int sectorSize();

    /** Size in bytes, a multiple of {@link #sectorSize()}. */
    long size();

    default long sectorCount() {
        return size() / sectorSize();
    }

    boolean isReadOnly();

    /** Reads {@code dst.remaining()} bytes at {@code offset}. */
    void read(long offset, ByteBuffer dst) throws ErrnoException;

    /** Writes {@code src.remaining()} bytes at {@code offset}. */
    void write(long offset, ByteBuffer src) throws ErrnoException;

    /** A barrier: returns when every write that returned before it is on stable storage. */
    void flush() throws ErrnoException;

    /**
     * The range's contents are no longer needed; afterwards it reads as zeros or as its old
     * contents, never as anything else. A device that cannot discard does nothing.
     */
    void discard(long offset, long length) throws ErrnoException;

    /** Operation counts, bytes and latencies since the device was opened. */
    BlockStats stats();

    /**
     * The byte range {@code [offset, offset + length)} of this device as a device of its own, for
     * partitions. Both must be sector-aligned and inside this device. Closing the range does not
     * close this device.
     */
    default BlockDevice slice(String name, long offset, long length) throws ErrnoException {
        return new RangeDevice(this, name, offset, length);
    }

    /**
     * Writes back what the device holds, then releases it; calls afterwards fail with
     * {@code EBADF}. Idempotent. The device is released even when writing back fails, and then the
     * data it held is lost: close fails with the errno of the failed write, so the caller learns
     * of it (call {@link #flush()} first to keep the device open on such a failure).
     */
    @Override
    void close() throws ErrnoException;
}
