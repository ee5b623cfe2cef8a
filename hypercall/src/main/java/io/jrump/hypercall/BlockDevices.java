package io.jrump.hypercall;

/**
 * The block-device group: opens host storage by name. What a name means is the host's to say
 * (a file path on the JVM host, {@code mem:NAME} for a memory disk, a disk registered with the
 * simulation); {@code docs/hypercall.md} lists each host's names. Thread-safe; opening may block
 * briefly on host file-system calls.
 */
public interface BlockDevices {

    /** How an existing device is opened. */
    enum OpenMode {
        /** Reads only; writes and discards fail with {@link Errno#EROFS}, flushes succeed. */
        READ_ONLY,
        /** Reads and writes. */
        READ_WRITE
    }

    /**
     * Opens an existing device.
     *
     * @throws ErrnoException {@link Errno#ENOENT} if there is no such device, {@link Errno#EACCES}
     *     if the host may not open it in this mode, {@link Errno#EISDIR} for a directory,
     *     {@link Errno#EINVAL} for a malformed name, {@link Errno#ESHUTDOWN} after the host closed
     */
    HostBlockDevice open(String name, OpenMode mode) throws ErrnoException;

    /**
     * Creates a new device of {@code size} bytes, reading as zeros, and opens it read-write. Host
     * files are created sparse.
     *
     * @throws ErrnoException {@link Errno#EEXIST} if it exists, {@link Errno#EINVAL} for a
     *     negative size or malformed name, {@link Errno#ENOSPC} if the host cannot hold it
     */
    HostBlockDevice create(String name, long size) throws ErrnoException;
}
