package io.jrump.nio.internal;

import io.jrump.hypercall.ErrnoException;
import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.ProtocolException;
import java.net.SocketException;

/**
 * The kernel's errno as the exception the JDK throws for the same errno, in the way its own
 * socket code sorts them: refused or timed-out connects are {@link ConnectException}, an
 * unreachable host {@link NoRouteToHostException}, address trouble {@link BindException}, the rest
 * {@link SocketException} — each with Linux's text for the errno, and the kernel's exception as cause.
 */
public final class Errors {
    private Errors() {
    }

    /** The JDK's exception for a failed connect. */
    public static IOException ofConnect(ErrnoException e) {
        return of(e);
    }

    /** The JDK's exception for {@code e}. */
    public static IOException of(ErrnoException e) {
        String text = e.errno().description();
        IOException x = switch (e.errno()) {
            case ECONNREFUSED, ETIMEDOUT, ENOTCONN -> new ConnectException(text);
            case EHOSTUNREACH -> new NoRouteToHostException(text);
            case EADDRINUSE, EADDRNOTAVAIL, EACCES -> new BindException(text);
            case EPROTO -> new ProtocolException(text);
            case EPIPE -> new IOException(text);
            default -> new SocketException(text);
        };
        x.initCause(e);
        return x;
    }

    /** The exception for an error seen on an established connection (a reset, a time-out): a SocketException. */
    public static IOException ofStream(ErrnoException e) {
        return switch (e.errno()) {
            case ECONNREFUSED, ETIMEDOUT, ECONNRESET -> withCause(new SocketException(
                    e.errno() == io.jrump.hypercall.Errno.ECONNRESET ? "Connection reset" : e.errno().description()), e);
            default -> of(e);
        };
    }

    private static IOException withCause(IOException x, Throwable cause) {
        x.initCause(cause);
        return x;
    }
}
