package io.jrump.nio.internal;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.stack.Sockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.channels.Channel;
import java.nio.channels.ClosedChannelException;
import java.util.Objects;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * What the three channels share, held by each rather than inherited (each must extend a different JDK
 * class): the kernel socket and its watch, the state lock, the local address, the options the stack
 * does not keep, the socket adaptor made on first use, and the close of the socket once no operation is
 * inside it. Thread-safe; {@code stateLock} is the channel's innermost lock.
 */
final class KernelSocket {
    final Stack stack;
    final Sockets sockets;
    final Object stateLock = new Object();
    final DeferredClose closer = new DeferredClose(this::closeKernelSocket);
    private final Channel channel;
    /** AF_INET, or AF_INET6 (dual-stack: IPv4 peers too), as the channel was opened. */
    final int domain;
    private final Set<SocketOption<?>> supportedOptions;
    /** Whether the close should wait, as SO_LINGER asks of a blocking socket; asked only while the kernel runs. */
    private final BooleanSupplier closeWaits;
    /** Volatile: a datagram channel opens a new socket when it disconnects. */
    volatile int fd;
    volatile SocketWatch watch;
    volatile InetSocketAddress local;
    private volatile int trafficClass; // the stack sends no TOS: kept here, as the JDK reports it back
    private Object adaptor; // under stateLock

    private KernelSocket(Stack stack, Channel channel, int domain, Set<SocketOption<?>> supportedOptions,
            BooleanSupplier closeWaits) {
        this.stack = stack;
        this.domain = domain;
        this.sockets = stack.sockets();
        this.channel = channel;
        this.supportedOptions = supportedOptions;
        this.closeWaits = closeWaits;
    }

    /** A new non-blocking socket of {@code type} ({@code SOCK_STREAM}, {@code SOCK_DGRAM}); its watch not yet attached. */
    static KernelSocket open(Stack stack, Channel channel, int domain, int type, Set<SocketOption<?>> supportedOptions,
            BooleanSupplier closeWaits) throws IOException {
        KernelSocket s = new KernelSocket(stack, channel, domain, supportedOptions, closeWaits);
        s.openKernelSocket(type, false);
        return s;
    }

    /** Over {@code fd}, a socket {@code accept} returned. */
    static KernelSocket of(Stack stack, Channel channel, int domain, int fd, Set<SocketOption<?>> supportedOptions,
            BooleanSupplier closeWaits) {
        KernelSocket s = new KernelSocket(stack, channel, domain, supportedOptions, closeWaits);
        s.fd = fd;
        s.watch = new SocketWatch(s.sockets, stack.loop(), fd);
        return s;
    }

    /**
     * Opens a new non-blocking socket of {@code type} with its watch; the watch it replaces (a datagram
     * channel's after disconnect) hands its selectors over and is detached first.
     */
    void openKernelSocket(int type, boolean attach) throws IOException {
        try {
            stack.loop().checkRunning();
            fd = sockets.socket(domain, type, 0);
            sockets.setNonBlocking(fd, true);
            SocketWatch next = new SocketWatch(sockets, stack.loop(), fd);
            if (watch != null) {
                watch.moveSelectorsTo(next);
                watch.detach();
            }
            watch = next;
            if (attach) {
                next.attach();
            }
        } catch (ErrnoException e) {
            throw Errors.of(e);
        }
    }

    void ensureOpen() throws ClosedChannelException {
        if (!channel.isOpen()) {
            throw new ClosedChannelException();
        }
    }

    /** Binds the socket to {@code isa} and records the address the kernel chose. */
    void bind(InetSocketAddress isa) throws IOException {
        try {
            stack.loop().checkRunning();
            sockets.bind(fd, Addresses.toKernel(isa));
            local = Addresses.fromKernel(sockets.getsockname(fd));
        } catch (ErrnoException e) {
            throw Errors.of(e);
        }
    }

    /** {@code getLocalAddress}: the address bound, null if none; the channel must be open. */
    SocketAddress localAddressIfOpen() throws ClosedChannelException {
        ensureOpen();
        return local;
    }

    /** The adaptor {@code make} returns, made once, as {@code socket()} hands out the same one each time. */
    @SuppressWarnings("unchecked")
    <A> A adaptor(Supplier<A> make) {
        synchronized (stateLock) {
            if (adaptor == null) {
                adaptor = make.get();
            }
            return (A) adaptor;
        }
    }

    /** The checks setOption and getOption make first, as the JDK's. */
    void checkSupported(SocketOption<?> name) {
        Objects.requireNonNull(name);
        if (!supportedOptions.contains(name)) {
            throw new UnsupportedOperationException("'" + name + "' not supported");
        }
    }

    /** setsockopt, on an open channel; {@code IP_TOS} is checked and kept. The caller checked {@code name}. */
    void setOption(SocketOption<?> name, Object value) throws IOException {
        synchronized (stateLock) {
            ensureOpen();
            Options.set(stack.loop(), sockets, fd, name, value);
            if (name == StandardSocketOptions.IP_TOS) {
                trafficClass = (Integer) value;
            }
        }
    }

    /** getsockopt, on an open channel; {@code IP_TOS} as kept. The caller checked {@code name}. */
    @SuppressWarnings("unchecked")
    <T> T getOption(SocketOption<T> name) throws IOException {
        synchronized (stateLock) {
            ensureOpen();
            if (name == StandardSocketOptions.IP_TOS) {
                return (T) Integer.valueOf(trafficClass);
            }
            return Options.get(stack.loop(), sockets, fd, name);
        }
    }

    /**
     * Runs {@code call}, which says EAGAIN while the socket is not ready, on the kernel's loop until it
     * succeeds; null once the channel is closed, or at once when not {@code blocking}. Blocking, it waits
     * for {@code events} up to {@code deadline} (0: no limit), then throws SocketTimeoutException
     * ({@code timedOut}). The caller brackets it with begin/end and the closer.
     */
    <T> T untilReady(Loop.Work<T> call, boolean blocking, long deadline, int events, String timedOut)
            throws IOException {
        for (;;) {
            if (!channel.isOpen()) {
                return null;
            }
            try {
                return stack.loop().run(call);
            } catch (ErrnoException e) {
                if (!channel.isOpen()) {
                    return null;
                }
                if (e.errno() != Errno.EAGAIN) {
                    throw Errors.of(e);
                }
            }
            if (!blocking) {
                return null;
            }
            if (deadline != 0 && stack.loop().now() >= deadline) {
                throw new SocketTimeoutException(timedOut);
            }
            try {
                watch.await(events, deadline);
            } catch (ErrnoException e) {
                throw Errors.of(e);
            }
        }
    }

    /** The channel is closed: wake its blocked callers; the last of them to leave closes the socket. */
    void close() throws IOException {
        watch.detach(); // blocked readers, writers, accepts and connects return and see the channel closed
        closer.close();
    }

    private void closeKernelSocket() throws IOException {
        if (!stack.loop().running()) {
            return; // the kernel closed its sockets as it shut down
        }
        try {
            if (closeWaits.getAsBoolean()) {
                sockets.setNonBlocking(fd, false); // close waits, as SO_LINGER asks of a blocking socket
            }
            sockets.close(fd);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EBADF) {
                throw Errors.of(e);
            }
        }
    }
}
