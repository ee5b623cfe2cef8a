package io.jrump.nio.internal;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.stack.Sockets;
import java.io.IOException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.util.Set;

/**
 * {@link StandardSocketOptions} onto the stack's setsockopt/getsockopt, as the JDK maps them on Linux:
 * buffer sizes are doubled by the kernel and halved again when read, {@code SO_LINGER} is seconds with -1
 * for off (values above 65535 taken as 65535), a negative buffer size is an
 * {@link IllegalArgumentException}. {@code IP_TOS} is kept by the channel (the stack sends no TOS).
 */
final class Options {
    static final Set<SocketOption<?>> STREAM = Set.of(StandardSocketOptions.SO_SNDBUF, StandardSocketOptions.SO_RCVBUF,
            StandardSocketOptions.SO_KEEPALIVE, StandardSocketOptions.SO_REUSEADDR, StandardSocketOptions.SO_LINGER,
            StandardSocketOptions.TCP_NODELAY, StandardSocketOptions.IP_TOS);
    static final Set<SocketOption<?>> LISTENER = Set.of(StandardSocketOptions.SO_RCVBUF,
            StandardSocketOptions.SO_REUSEADDR);
    static final Set<SocketOption<?>> DATAGRAM = Set.of(StandardSocketOptions.SO_SNDBUF, StandardSocketOptions.SO_RCVBUF,
            StandardSocketOptions.SO_REUSEADDR, StandardSocketOptions.SO_BROADCAST, StandardSocketOptions.IP_TOS);

    private Options() {
    }

    private static int level(SocketOption<?> name) {
        return name == StandardSocketOptions.TCP_NODELAY ? Sockets.IPPROTO_TCP : Sockets.SOL_SOCKET;
    }

    private static int number(SocketOption<?> name) {
        if (name == StandardSocketOptions.TCP_NODELAY) {
            return Sockets.TCP_NODELAY;
        } else if (name == StandardSocketOptions.SO_SNDBUF) {
            return Sockets.SO_SNDBUF;
        } else if (name == StandardSocketOptions.SO_RCVBUF) {
            return Sockets.SO_RCVBUF;
        } else if (name == StandardSocketOptions.SO_KEEPALIVE) {
            return Sockets.SO_KEEPALIVE;
        } else if (name == StandardSocketOptions.SO_REUSEADDR) {
            return Sockets.SO_REUSEADDR;
        } else if (name == StandardSocketOptions.SO_LINGER) {
            return Sockets.SO_LINGER;
        } else if (name == StandardSocketOptions.SO_BROADCAST) {
            return Sockets.SO_BROADCAST;
        }
        throw new UnsupportedOperationException("'" + name + "' not supported");
    }

    /** The kernel's int for a value of {@code name}; checks it as the JDK does. */
    static int toKernel(SocketOption<?> name, Object value) {
        if (value == null) {
            throw new IllegalArgumentException("Invalid value 'null'");
        }
        if (value instanceof Boolean b) {
            return b ? 1 : 0;
        }
        int v = (Integer) value;
        if ((name == StandardSocketOptions.SO_SNDBUF || name == StandardSocketOptions.SO_RCVBUF) && v < 0) {
            throw new IllegalArgumentException("Invalid send/receive buffer size");
        }
        if (name == StandardSocketOptions.SO_LINGER) {
            return v < 0 ? -1 : Math.min(v, 65535);
        }
        return v;
    }

    static Object fromKernel(SocketOption<?> name, int v) {
        if (name.type() == Boolean.class) {
            return v != 0;
        }
        if (name == StandardSocketOptions.SO_SNDBUF || name == StandardSocketOptions.SO_RCVBUF) {
            return v / 2; // the kernel doubles what it is given; the JDK on Linux halves it back
        }
        return v;
    }

    /** setsockopt; {@code IP_TOS} is only checked, since the caller keeps it. */
    static void set(Loop loop, Sockets sockets, int fd, SocketOption<?> name, Object value) throws IOException {
        if (name == StandardSocketOptions.IP_TOS) {
            int tos = (Integer) value;
            if (tos < 0 || tos > 255) {
                throw new IllegalArgumentException("Invalid IP_TOS value");
            }
            return;
        }
        try {
            loop.checkRunning();
            sockets.setsockopt(fd, level(name), number(name), toKernel(name, value));
        } catch (ErrnoException e) {
            throw Errors.of(e);
        }
    }

    @SuppressWarnings("unchecked")
    static <T> T get(Loop loop, Sockets sockets, int fd, SocketOption<T> name) throws IOException {
        try {
            loop.checkRunning();
            return (T) fromKernel(name, sockets.getsockopt(fd, level(name), number(name)));
        } catch (ErrnoException e) {
            throw Errors.of(e);
        }
    }
}
