package io.jrump.netty;

import io.jrump.hypercall.ErrnoException;
import io.netty.channel.ChannelException;

/**
 * Socket-option calls on a channel's socket when it is open; the configs keep every value too and
 * push it in {@code apply} when the socket opens, so before that these do nothing (set) or answer
 * the kept value (get). Runs on the calling thread, as the configs did.
 */
final class OpenSocket {
    private final AbstractRumpChannel ch;

    OpenSocket(AbstractRumpChannel ch) {
        this.ch = ch;
    }

    /** Sets the option if the socket is open; the stack's refusal becomes Netty's ChannelException. */
    void set(int level, int option, int value) {
        int fd = ch.fd;
        if (fd < 0) {
            return;
        }
        try {
            ch.sockets.setsockopt(fd, level, option, value);
        } catch (ErrnoException e) {
            throw new ChannelException(e);
        }
    }

    /** The socket's value, or {@code whenClosed} if there is no socket yet or the stack refuses. */
    int getOr(int level, int option, int whenClosed) {
        try {
            return get(level, option, whenClosed);
        } catch (ChannelException e) {
            return whenClosed;
        }
    }

    /** The socket's value, or {@code whenClosed} if there is no socket yet; a refusal throws. */
    int get(int level, int option, int whenClosed) {
        int fd = ch.fd;
        if (fd < 0) {
            return whenClosed;
        }
        try {
            return ch.sockets.getsockopt(fd, level, option);
        } catch (ErrnoException e) {
            throw new ChannelException(e);
        }
    }
}
