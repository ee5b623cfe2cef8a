package io.jrump.net.dhcp6;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/** The errors of this package's wire parsing: malformed (EBADMSG) or a variant not handled (EPROTONOSUPPORT). */
final class Dhcp6Errors {
    private Dhcp6Errors() {}

    static ErrnoException malformed(String detail) {
        return new Stackless(Errno.EBADMSG, detail);
    }

    static ErrnoException unsupported(String detail) {
        return new Stackless(Errno.EPROTONOSUPPORT, detail);
    }

    /** Stackless: a client drops and counts bad messages, a stack trace each would only cost time. */
    private static final class Stackless extends ErrnoException {
        private static final long serialVersionUID = 1L;

        Stackless(Errno errno, String detail) {
            super(errno, detail);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }
}
