package io.jrump.hypercall;

import java.nio.ByteBuffer;

/**
 * One FUSE connection mounted on a host directory, as {@code /dev/fuse} behaves: one whole request
 * per {@link #read}, one whole reply per {@link #write}. {@link #read} and {@link #write} are
 * thread-safe and block; several workers call them concurrently. They do not run on the kernel's
 * event loop and must not be called from it.
 */
public interface HostFuseChannel extends AutoCloseable {
    /** The host directory this channel is mounted on. */
    String mountpoint();

    /**
     * Reads one request into {@code into} from its position on and returns its length; the position
     * is left after it. {@code into} must hold the largest request the kernel may send (the
     * negotiated {@code max_write} plus 4 KiB, and at least 8192 bytes), or the read fails with
     * {@code EINVAL}.
     *
     * @throws ErrnoException {@code ENODEV} once the mount is gone (unmounted by anyone: the
     *     serving loop ends); {@code ENOENT} if the request was interrupted before it was read
     *     (read again); {@code EBADF} after {@link #close}
     */
    int read(ByteBuffer into) throws ErrnoException;

    /**
     * Writes one whole reply, from the buffer's position to its limit; the position moves to the
     * limit.
     *
     * @throws ErrnoException {@code ENOENT} if the request was interrupted meanwhile (drop the
     *     reply); {@code ENODEV} once unmounted; {@code EINVAL} for a malformed reply
     */
    void write(ByteBuffer reply) throws ErrnoException;

    /**
     * Unmounts the directory (lazily: open files keep the mount alive until closed). Readers then
     * get {@code ENODEV}. Idempotent; an already unmounted directory is not an error.
     */
    void unmount() throws ErrnoException;

    /**
     * Unmounts if still mounted and closes the connection. Call it only after every reader has
     * returned. Idempotent.
     */
    @Override
    void close();
}
