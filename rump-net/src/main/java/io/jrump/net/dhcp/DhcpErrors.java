package io.jrump.net.dhcp;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/**
 * The errors of the DHCP and DHCPv6 wire parsing ({@code io.jrump.net.dhcp6} too): malformed
 * (EBADMSG) or a variant not handled (EPROTONOSUPPORT).
 */
public final class DhcpErrors {
    private DhcpErrors() {}

    public static ErrnoException malformed(String detail) {
        return new Stackless(Errno.EBADMSG, detail);
    }

    public static ErrnoException unsupported(String detail) {
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
