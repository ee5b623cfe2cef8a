package io.jrump.blk.internal;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/** The argument checks every {@link io.jrump.blk.BlockDevice} makes, with messages that say where. */
public final class Requests {
    private Requests() {
    }

    /** Alignment and range of a read (or discard) of {@code length} bytes at {@code offset}. */
    public static void checkRead(String device, int sector, long size, long offset, long length)
            throws ErrnoException {
        checkAligned(device, sector, offset, length);
        if (offset > size || length > size - offset) {
            throw new ErrnoException(Errno.EINVAL, device + ": " + describe(offset, length)
                    + " is outside the device (" + size + " bytes)");
        }
    }

    /** Alignment, range and writability of a write. */
    public static void checkWrite(String device, int sector, long size, boolean readOnly, long offset, long length)
            throws ErrnoException {
        if (readOnly) {
            throw new ErrnoException(Errno.EROFS, device + " is read-only");
        }
        checkAligned(device, sector, offset, length);
        if (offset > size || length > size - offset) {
            throw new ErrnoException(Errno.ENOSPC, device + ": " + describe(offset, length)
                    + " is past the end of the device (" + size + " bytes)");
        }
    }

    public static void checkAligned(String device, int sector, long offset, long length) throws ErrnoException {
        if (offset < 0 || length < 0) {
            throw new ErrnoException(Errno.EINVAL, device + ": negative " + describe(offset, length));
        }
        if (offset % sector != 0 || length % sector != 0) {
            throw new ErrnoException(Errno.EINVAL, device + ": " + describe(offset, length)
                    + " is not aligned to its " + sector + "-byte sectors");
        }
    }

    public static String describe(long offset, long length) {
        return "range of " + length + " bytes at 0x" + Long.toHexString(offset);
    }
}
