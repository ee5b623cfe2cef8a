package io.jrump.nio.internal;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.socket.Readiness;
import io.jrump.net.stack.Sockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.nio.channels.AlreadyBoundException;
import java.nio.channels.NotYetBoundException;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Set;

/**
 * A listening TCP {@link ServerSocketChannel} on a jrump stack; {@code SO_REUSEADDR} is on from the
 * start, as the JDK sets it on Linux. Thread-safe: one accept at a time ({@code acceptLock}), state
 * under the {@link KernelSocket}'s {@code stateLock}, taken last.
 */
public final class RumpServerSocketChannel extends ServerSocketChannel implements RumpChannel {
    private final Stack stack;
    private final Sockets sockets;
    private final Object acceptLock = new Object();
    private final KernelSocket kernel;

    public RumpServerSocketChannel(Stack stack, int domain) throws IOException {
        super(stack.provider());
        this.stack = stack;
        this.sockets = stack.sockets();
        kernel = KernelSocket.open(stack, this, domain, Sockets.SOCK_STREAM, Options.LISTENER, () -> false);
        try {
            sockets.setsockopt(kernel.fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, 1);
        } catch (ErrnoException e) {
            throw Errors.of(e);
        }
    }

    @Override
    public SocketWatch watch() {
        return kernel.watch;
    }

    @Override
    public ServerSocketChannel bind(SocketAddress localAddress, int backlog) throws IOException {
        synchronized (kernel.stateLock) {
            kernel.ensureOpen();
            if (kernel.local != null) {
                throw new AlreadyBoundException();
            }
            InetSocketAddress isa = localAddress == null ? new InetSocketAddress(0) : Addresses.check(localAddress, kernel.domain);
            try {
                stack.loop().checkRunning();
                sockets.bind(kernel.fd, Addresses.toKernel(isa));
                sockets.listen(kernel.fd, backlog < 1 ? 50 : backlog);
                kernel.local = Addresses.fromKernel(sockets.getsockname(kernel.fd));
                kernel.watch.attach();
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
            kernel.ensureOpen();
            if (kernel.local == null) {
                throw new NotYetBoundException();
            }
            boolean blocking = isBlocking();
            long deadline = stack.loop().deadline(timeoutNanos);
            int conn = -1;
            try {
                kernel.closer.enter();
                begin();
                Integer accepted = kernel.untilReady(() -> sockets.accept(kernel.fd), blocking, deadline,
                        Readiness.POLLIN, "Accept timed out");
                conn = accepted == null ? -1 : accepted;
            } finally {
                try {
                    end(conn >= 0);
                } finally {
                    kernel.closer.exit();
                }
            }
            return conn < 0 ? null : new RumpSocketChannel(stack, kernel.domain, conn);
        }
    }

    @Override
    public ServerSocket socket() {
        return kernel.adaptor(() -> ServerSocketAdaptor.of(this));
    }

    @Override
    public SocketAddress getLocalAddress() throws IOException {
        return kernel.localAddressIfOpen();
    }

    InetSocketAddress localAddress() {
        return kernel.local;
    }

    @Override
    public <T> ServerSocketChannel setOption(SocketOption<T> name, T value) throws IOException {
        kernel.checkSupported(name);
        kernel.setOption(name, value);
        return this;
    }

    @Override
    public <T> T getOption(SocketOption<T> name) throws IOException {
        kernel.checkSupported(name);
        return kernel.getOption(name);
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
        kernel.watch.wakeAll();
    }

    @Override
    protected void implCloseSelectableChannel() throws IOException {
        kernel.close();
    }

    @Override
    public String toString() {
        InetSocketAddress local = kernel.local;
        return getClass().getSimpleName() + "[" + (!isOpen() ? "closed" : local == null ? "unbound" : local.toString()) + "]";
    }
}
