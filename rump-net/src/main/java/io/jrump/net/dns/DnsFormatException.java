package io.jrump.net.dns;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.Objects;

/**
 * A DNS message that breaks RFC 1035's format: {@link Errno#EBADMSG} with the {@link DnsFormatError}
 * reason and a message naming the structure and its offset. Stackless: a resolver counts and
 * drops these, a stack trace per bad answer would only cost time.
 */
public final class DnsFormatException extends ErrnoException {
    private static final long serialVersionUID = 1L;

    private final DnsFormatError reason;

    DnsFormatException(DnsFormatError reason, String detail) {
        super(Errno.EBADMSG, "DNS " + reason + ": " + detail);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public DnsFormatError reason() {
        return reason;
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
        return this;
    }
}
