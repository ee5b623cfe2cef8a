package io.jrump.host.kit;

import io.jrump.hypercall.Errno;

/**
 * The argument checks of {@link io.jrump.hypercall.HostBlockDevice}, in one place so every host
 * reports the same errno for the same mistake. Each returns {@code null} when the request is valid.
 */
public final class BlockRequests {
    private BlockRequests() {
    }

    /** A read of {@code length} bytes at {@code offset} on a device of {@code size} bytes. */
    public static Errno checkRead(long offset, long length, long size) {
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            return Errno.EINVAL;
        }
        return null;
    }

    /** A read into {@code dst}, which must be writable. */
    public static Errno checkRead(long offset, java.nio.ByteBuffer dst, long size) {
        return dst.isReadOnly() ? Errno.EINVAL : checkRead(offset, dst.remaining(), size);
    }

    /** A write; {@code growable} devices accept writes past their end. */
    public static Errno checkWrite(long offset, long length, long size, boolean readOnly, boolean growable) {
        if (readOnly) {
            return Errno.EROFS;
        }
        if (offset < 0 || length < 0 || offset > Long.MAX_VALUE - length) {
            return Errno.EINVAL;
        }
        if (!growable && offset + length > size) {
            return Errno.ENOSPC;
        }
        return null;
    }

    /** A discard of a range that must lie inside the device. */
    public static Errno checkDiscard(long offset, long length, long size, boolean readOnly) {
        if (readOnly) {
            return Errno.EROFS;
        }
        return checkRead(offset, length, size);
    }

    /** A short description of a request for error messages: {@code "read 4096 bytes at 0x1000"}. */
    public static String describe(String op, long offset, long length) {
        return op + " " + length + " bytes at 0x" + Long.toHexString(offset);
    }
}
