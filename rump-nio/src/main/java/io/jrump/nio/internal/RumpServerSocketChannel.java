package io.jrump.nio.internal;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.socket.Readiness;
import io.jrump.net.stack.Sockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.net.SocketTimeoutException;
import java.nio.channels.AlreadyBoundException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NotYetBoundException;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Objects;
import java.util.Set;

/**
 * A listening TCP {@link ServerSocketChannel} on a jrump stack; {@code SO_REUSEADDR} is on from the
 * start, as the JDK sets it on Linux. Thread-safe: one accept at a time ({@code acceptLock}), state
 * under {@code stateLock}, taken last.
 */
public final class RumpServerSocketChannel extends ServerSocketChannel implements RumpChannel {
    private final Stack stack;
    private final Sockets sockets;
    private final int fd;
    private final SocketWatch watch;
    private final Object acceptLock = new Object();
    private final Object stateLock = new Object();
    private final DeferredClose closer = new DeferredClose(this::closeKernelSocket);
    private volatile InetSocketAddress local;
    private ServerSocket adaptor;

    public RumpServerSocketChannel(Stack stack) throws IOException {
        super(stack.provider());
        this.stack = stack;
        this.sockets = stack.sockets();
        try {
            stack.loop().checkRunning();
            fd = sockets.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            sockets.setNonBlocking(fd, true);
            sockets.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, 1);
        } catch (ErrnoException e) {
            throw Errors.of(e);
        }
        watch = new SocketWatch(sockets, stack.loop(), fd);
    }

    @Override
    public SocketWatch watch() {
        return watch;
    }

    private void ensureOpen() throws ClosedChannelException {
        if (!isOpen()) {
            throw new ClosedChannelException();
        }
    }

    @Override
    public ServerSocketChannel bind(SocketAddress localAddress, int backlog) throws IOException {
        synchronized (stateLock) {
            ensureOpen();
            if (local != null) {
                throw new AlreadyBoundException();
            }
            InetSocketAddress isa = localAddress == null ? new InetSocketAddress(0) : Addresses.check(localAddress);
            try {
                stack.loop().checkRunning();
                sockets.bind(fd, Addresses.toKernel(isa));
                sockets.listen(fd, backlog < 1 ? 50 : backlog);
                local = Addresses.fromKernel(sockets.getsockname(fd));
                watch.attach();
            } catch (ErrnoException e) {
                throw Errors.of(e);
            }
        }
        return this;
    }

    @Override
    public SocketChannel accept() throws IOException {
        return accept(0);
    }

    /** accept, in blocking mode waiting {@code timeoutNanos} at most (0: no limit) before SocketTimeoutException. */
    SocketChannel accept(long timeoutNanos) throws IOException {
        synchronized (acceptLock) {
            ensureOpen();
            if (local == null) {
                throw new NotYetBoundException();
            }
            boolean blocking = isBlocking();
            long deadline = stack.loop().deadline(timeoutNanos);
            int conn = -1;
            try {
                closer.enter();
                begin();
                for (;;) {
                    if (!isOpen()) {
                        break;
                    }
                    try {
                        conn = stack.loop().run(() -> sockets.accept(fd));
                        break;
                    } catch (ErrnoException e) {
                        if (!isOpen()) {
                            break;
                        }
                        if (e.errno() != Errno.EAGAIN) {
                            throw Errors.of(e);
                        }
                    }
                    if (!blocking) {
                        break;
                    }
                    if (deadline != 0 && stack.loop().now() >= deadline) {
                        throw new SocketTimeoutException("Accept timed out");
                    }
                    try {
                        watch.await(Readiness.POLLIN, deadline);
                    } catch (ErrnoException e) {
                        throw Errors.of(e);
                    }
                }
            } finally {
                try {
                    end(conn >= 0);
                } finally {
                    closer.exit();
                }
            }
            return conn < 0 ? null : new RumpSocketChannel(stack, conn);
        }
    }

    @Override
    public ServerSocket socket() {
        synchronized (stateLock) {
            if (adaptor == null) {
                adaptor = ServerSocketAdaptor.of(this);
            }
            return adaptor;
        }
    }

    @Override
    public SocketAddress getLocalAddress() throws IOException {
        ensureOpen();
        return local;
    }

    InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public <T> ServerSocketChannel setOption(SocketOption<T> name, T value) throws IOException {
        Objects.requireNonNull(name);
        if (!supportedOptions().contains(name)) {
            throw new UnsupportedOperationException("'" + name + "' not supported");
        }
        synchronized (stateLock) {
            ensureOpen();
            Options.set(stack.loop(), sockets, fd, name, value);
        }
        return this;
    }

    @Override
    public <T> T getOption(SocketOption<T> name) throws IOException {
        Objects.requireNonNull(name);
        if (!supportedOptions().contains(name)) {
            throw new UnsupportedOperationException("'" + name + "' not supported");
        }
        synchronized (stateLock) {
            ensureOpen();
            return Options.get(stack.loop(), sockets, fd, name);
        }
    }

    @Override
    public Set<SocketOption<?>> supportedOptions() {
        return Options.LISTENER;
    }

    @Override
    public int translateReadyOps(int events, int interestOps) {
        if ((events & (Readiness.POLLERR | Readiness.POLLHUP)) != 0) {
            return interestOps;
        }
        return (events & Readiness.POLLIN) != 0 ? SelectionKey.OP_ACCEPT : 0;
    }

    @Override
    protected void implConfigureBlocking(boolean block) {
        watch.wakeAll();
    }

    @Override
    protected void implCloseSelectableChannel() throws IOException {
        watch.detach();
        closer.close();
    }

    private void closeKernelSocket() throws IOException {
        if (!stack.loop().running()) {
            return; // the kernel closed its sockets as it shut down
        }
        try {
            sockets.close(fd);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EBADF) {
                throw Errors.of(e);
            }
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + (!isOpen() ? "closed" : local == null ? "unbound" : local.toString()) + "]";
    }
}
