package io.jrump.net.wire;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/**
 * A packet that breaks its format ({@link Errno#EBADMSG}) or uses a variant this package does
 * not handle ({@link Errno#EPROTONOSUPPORT}). Stackless: the stack counts and drops these, so
 * building a stack trace per bad packet would only cost time.
 */
final class MalformedPacketException extends ErrnoException {
    private static final long serialVersionUID = 1L;

    MalformedPacketException(Errno errno, String detail) {
        super(errno, detail);
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
