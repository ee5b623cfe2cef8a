package io.jrump.hypercall;

import java.io.IOException;
import java.util.Objects;

/**
 * The one checked failure of jrump: an {@link Errno} and a message that names what failed, the
 * structure, the block, inode or offset, or the connection.
 *
 * <p>The message reads like a kernel log line: {@code "qcow2 L2 table at 0x50000: offset past end
 * of image: Input/output error (EIO)"}. Instances are immutable and thread-safe.
 */
public class ErrnoException extends IOException {
    private static final long serialVersionUID = 1L;

    private final Errno errno;
    private final String detail;

    /**
     * @param errno  the error
     * @param detail what failed and where; {@code null} or empty for the bare errno text
     */
    public ErrnoException(Errno errno, String detail) {
        this(errno, detail, null);
    }

    public ErrnoException(Errno errno, String detail, Throwable cause) {
        super(format(errno, detail), cause);
        this.errno = Objects.requireNonNull(errno, "errno");
        this.detail = detail == null ? "" : detail;
    }

    /** Convenience for the bare error, as {@code perror} would print it without a prefix. */
    public ErrnoException(Errno errno) {
        this(errno, null, null);
    }

    public Errno errno() {
        return errno;
    }

    /** The part of the message that says what failed and where, without the errno text. */
    public String detail() {
        return detail;
    }

    private static String format(Errno errno, String detail) {
        Objects.requireNonNull(errno, "errno");
        String text = errno.description() + " (" + errno.name() + ")";
        return detail == null || detail.isEmpty() ? text : detail + ": " + text;
    }
}
