package io.jrump.hypercall;

import java.nio.ByteBuffer;

/**
 * One open block device. Reads and writes are positional, of any length at any byte offset (the
 * block layer above imposes sector granularity), and asynchronous: each operation reports exactly
 * once through its {@link IoCompletion}, on the kernel's event loop, never inside the call that
 * started it. Operations may run and complete in any order; a {@link #flush} completes only after
 * every write that completed before it was issued is durable.
 *
 * <p>Errors are reported through the completion, never thrown: {@link Errno#EINVAL} for a negative
 * offset or a read that extends past {@link #size()}, {@link Errno#ENOSPC} for a write past the
 * end of a device that cannot grow, {@link Errno#EROFS} for a write or discard on a read-only
 * device, {@link Errno#EBADF} after {@link #close()}, {@link Errno#EIO} for a failed medium.
 *
 * <p>Buffers: the host reads {@code src.remaining()} bytes from {@code src} or fills
 * {@code dst.remaining()} bytes of {@code dst}, starting at their positions, and changes neither
 * buffer's position or limit. The caller must not touch the buffer until the completion runs.
 * Transfers are whole: a completion reports either all bytes or an error, never a short count.
 *
 * <p>Thread-safe: operations may be issued from any thread.
 */
public interface HostBlockDevice {

    /** The name it was opened by. */
    String name();

    /** Current size in bytes. Grows when a write extends a growable device. */
    long size();

    /** The host's natural I/O unit in bytes (a power of two, 512 or more); a hint for alignment. */
    int sectorSize();

    /** Whether it was opened read-only. */
    boolean isReadOnly();

    /**
     * Whether writes past the end extend the device (regular host files) instead of failing with
     * {@link Errno#ENOSPC} (disks of fixed size). Image formats that grow, such as qcow2, need it.
     */
    boolean isGrowable();

    /** Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst}. */
    void read(long offset, ByteBuffer dst, IoCompletion completion);

    /** Writes {@code src.remaining()} bytes from {@code src} at {@code offset}. */
    void write(long offset, ByteBuffer src, IoCompletion completion);

    /**
     * A barrier: completes after every write that completed before this call is on stable
     * storage. The completion reports 0 bytes.
     */
    void flush(IoCompletion completion);

    /**
     * Tells the host the range's contents are no longer needed. Either the host deallocates it, and
     * the range then reads as zeros, or it fails with {@link Errno#EOPNOTSUPP}; bytes outside the
     * range never change. The completion reports {@code length}.
     */
    void discard(long offset, long length, IoCompletion completion);

    /**
     * Closes the device: operations issued afterwards fail with {@link Errno#EBADF}; operations in
     * flight finish and still complete. Idempotent; may block until in-flight host I/O ends.
     */
    void close();

    /** Reports the end of one block operation. */
    @FunctionalInterface
    interface IoCompletion {
        /**
         * @param bytes the bytes transferred, all that were asked for; 0 on error
         * @param error {@code null} on success, else why it failed
         */
        void done(long bytes, Errno error);
    }
}
