package io.jrump.nio.internal;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.socket.Readiness;
import io.jrump.net.stack.Sockets;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AlreadyBoundException;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.MembershipKey;
import java.nio.channels.NotYetConnectedException;
import java.nio.channels.SelectionKey;
import java.util.Objects;
import java.util.Set;

/**
 * A UDP {@link DatagramChannel} on a jrump stack (IPv4; no multicast). {@code disconnect} opens a new
 * kernel socket bound to the same local address, since the stack has no {@code connect(AF_UNSPEC)}.
 * Thread-safe as the JDK's: one reader and one writer at a time, state under the
 * {@link KernelSocket}'s {@code stateLock}, taken last.
 */
public final class RumpDatagramChannel extends DatagramChannel implements RumpChannel {
    private final Stack stack;
    private final Sockets sockets;
    private final Object readLock = new Object();
    private final Object writeLock = new Object();
    private final KernelSocket kernel;
    private volatile InetSocketAddress remote;
    private volatile boolean boundExplicitly;
    private volatile int sendBuffer = 106_496; // Linux's default wmem_default, halved as the JDK reads it

    public RumpDatagramChannel(Stack stack, int domain) throws IOException {
        super(stack.provider());
        this.stack = stack;
        this.sockets = stack.sockets();
        kernel = KernelSocket.open(stack, this, domain, Sockets.SOCK_DGRAM, Options.DATAGRAM, () -> false);
        try {
            kernel.watch.attach();
        } catch (ErrnoException e) {
            throw Errors.of(e);
        }
    }

    @Override
    public SocketWatch watch() {
        return kernel.watch;
    }

    @Override
    public DatagramChannel bind(SocketAddress localAddress) throws IOException {
        synchronized (readLock) {
            synchronized (writeLock) {
                synchronized (kernel.stateLock) {
                    kernel.ensureOpen();
                    if (kernel.local != null) {
                        throw new AlreadyBoundException();
                    }
                    kernel.bind(localAddress == null ? new InetSocketAddress(0) : Addresses.check(localAddress, kernel.domain));
                    boundExplicitly = true;
                }
            }
        }
        return this;
    }

    private void bindIfUnbound() throws IOException {
        synchronized (kernel.stateLock) {
            if (kernel.local == null) {
                kernel.bind(new InetSocketAddress(0));
            }
        }
    }

    @Override
    public DatagramChannel connect(SocketAddress remoteAddress) throws IOException {
        InetSocketAddress isa = Addresses.check(remoteAddress, kernel.domain);
        synchronized (readLock) {
            synchronized (writeLock) {
                synchronized (kernel.stateLock) {
                    kernel.ensureOpen();
                    if (remote != null) {
                        throw new AlreadyConnectedException();
                    }
                    try {
                        stack.loop().checkRunning();
                        sockets.connect(kernel.fd, Addresses.toKernelPeer(isa));
                        kernel.local = Addresses.fromKernel(sockets.getsockname(kernel.fd));
                    } catch (ErrnoException e) {
                        throw Errors.of(e);
                    }
                    remote = isa;
                }
            }
        }
        return this;
    }

    @Override
    public DatagramChannel disconnect() throws IOException {
        synchronized (readLock) {
            synchronized (writeLock) {
                synchronized (kernel.stateLock) {
                    if (!isOpen() || remote == null) {
                        return this;
                    }
                    InetSocketAddress was = kernel.local;
                    int old = kernel.fd;
                    try {
                        boolean reuse = sockets.getsockopt(old, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR) != 0;
                        boolean broadcast = sockets.getsockopt(old, Sockets.SOL_SOCKET, Sockets.SO_BROADCAST) != 0;
                        sockets.close(old);
                        kernel.openKernelSocket(Sockets.SOCK_DGRAM, true);
                        sockets.setsockopt(kernel.fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, reuse ? 1 : 0);
                        sockets.setsockopt(kernel.fd, Sockets.SOL_SOCKET, Sockets.SO_BROADCAST, broadcast ? 1 : 0);
                    } catch (ErrnoException e) {
                        throw Errors.of(e);
                    }
                    remote = null;
                    kernel.local = null;
                    // The port stays; the address too if bind chose it, else the wildcard again (as Linux after AF_UNSPEC).
                    kernel.bind(boundExplicitly ? was : new InetSocketAddress(was.getPort()));
                }
            }
        }
        return this;
    }

    @Override
    public boolean isConnected() {
        return remote != null;
    }

    @Override
    public SocketAddress receive(ByteBuffer dst) throws IOException {
        return receive(dst, 0);
    }

    /** receive, in blocking mode waiting {@code timeoutNanos} at most (0: no limit) before SocketTimeoutException. */
    SocketAddress receive(ByteBuffer dst, long timeoutNanos) throws IOException {
        Objects.requireNonNull(dst);
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("Read-only buffer");
        }
        synchronized (readLock) {
            kernel.ensureOpen();
            bindIfUnbound();
            boolean blocking = isBlocking();
            long deadline = stack.loop().deadline(timeoutNanos);
            InetSocketAddress from = null;
            try {
                kernel.closer.enter();
                begin();
                Sockets.Received r = kernel.untilReady(() -> sockets.recvfrom(kernel.fd, dst, Sockets.MSG_DONTWAIT),
                        blocking, deadline, Readiness.POLLIN, "Receive timed out");
                from = r == null ? null : Addresses.fromKernel(r.from());
            } finally {
                try {
                    end(from != null);
                } finally {
                    kernel.closer.exit();
                }
            }
            return from;
        }
    }

    @Override
    public int send(ByteBuffer src, SocketAddress target) throws IOException {
        Objects.requireNonNull(src);
        InetSocketAddress isa = Addresses.check(target, kernel.domain);
        synchronized (writeLock) {
            kernel.ensureOpen();
            InetSocketAddress peer = remote;
            if (peer != null && !peer.equals(isa)) {
                throw new AlreadyConnectedException();
            }
            bindIfUnbound();
            int n = 0;
            try {
                kernel.closer.enter();
                begin();
                stack.loop().checkRunning();
                n = sockets.sendto(kernel.fd, src, peer != null ? null : Addresses.toKernelPeer(isa), 0);
                return n;
            } catch (ErrnoException e) {
                if (!isOpen()) {
                    return 0;
                }
                throw Errors.of(e);
            } finally {
                try {
                    end(n > 0 || !src.hasRemaining());
                } finally {
                    kernel.closer.exit();
                }
            }
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (remote == null) {
            kernel.ensureOpen();
            throw new NotYetConnectedException();
        }
        int before = dst.position();
        return receive(dst) == null ? 0 : dst.position() - before;
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, dsts.length);
        if (remote == null) {
            kernel.ensureOpen();
            throw new NotYetConnectedException();
        }
        long room = RumpSocketChannel.remaining(dsts, offset, length);
        ByteBuffer one = ByteBuffer.allocate((int) Math.min(room, 65_536));
        if (receive(one) == null) {
            return 0;
        }
        one.flip();
        long n = one.remaining();
        for (int i = offset; i < offset + length && one.hasRemaining(); i++) {
            ByteBuffer part = one.slice();
            part.limit(Math.min(part.remaining(), dsts[i].remaining()));
            dsts[i].put(part);
            one.position(one.position() + part.limit());
        }
        return n;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        InetSocketAddress peer = remote;
        if (peer == null) {
            kernel.ensureOpen();
            throw new NotYetConnectedException();
        }
        return send(src, peer);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, srcs.length);
        InetSocketAddress peer = remote;
        if (peer == null) {
            kernel.ensureOpen();
            throw new NotYetConnectedException();
        }
        ByteBuffer one = RumpSocketChannel.gather(srcs, offset, length, 65_536);
        int n = send(one, peer);
        RumpSocketChannel.advance(srcs, offset, length, n);
        return n;
    }

    @Override
    public DatagramSocket socket() {
        return kernel.adaptor(() -> DatagramSocketAdaptor.of(this));
    }

    @Override
    public SocketAddress getLocalAddress() throws IOException {
        return kernel.localAddressIfOpen();
    }

    InetSocketAddress localAddress() {
        return kernel.local;
    }

    @Override
    public SocketAddress getRemoteAddress() throws IOException {
        kernel.ensureOpen();
        return remote;
    }

    InetSocketAddress remoteAddress() {
        return remote;
    }

    @Override
    public <T> DatagramChannel setOption(SocketOption<T> name, T value) throws IOException {
        kernel.checkSupported(name);
        if (name != StandardSocketOptions.SO_SNDBUF) {
            kernel.setOption(name, value);
            return this;
        }
        synchronized (kernel.stateLock) {
            kernel.ensureOpen();
            int v = Options.toKernel(name, value); // the stack sends datagrams at once: kept, not used
            sendBuffer = Math.max(2304, v);
        }
        return this;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T getOption(SocketOption<T> name) throws IOException {
        kernel.checkSupported(name);
        if (name != StandardSocketOptions.SO_SNDBUF) {
            return kernel.getOption(name);
        }
        synchronized (kernel.stateLock) {
            kernel.ensureOpen();
            return (T) Integer.valueOf(sendBuffer);
        }
    }

    @Override
    public Set<SocketOption<?>> supportedOptions() {
        return Options.DATAGRAM;
    }

    @Override
    public MembershipKey join(InetAddress group, NetworkInterface interf) {
        throw new UnsupportedOperationException("multicast is not supported by the jrump stack");
    }

    @Override
    public MembershipKey join(InetAddress group, NetworkInterface interf, InetAddress source) {
        throw new UnsupportedOperationException("multicast is not supported by the jrump stack");
    }

    @Override
    public int translateReadyOps(int events, int interestOps) {
        if ((events & (Readiness.POLLERR | Readiness.POLLHUP)) != 0) {
            return interestOps;
        }
        int ready = 0;
        if ((events & Readiness.POLLIN) != 0) {
            ready |= SelectionKey.OP_READ;
        }
        if ((events & Readiness.POLLOUT) != 0) {
            ready |= SelectionKey.OP_WRITE;
        }
        return ready;
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
        return getClass().getSimpleName() + "[" + (!isOpen() ? "closed" : "local=" + kernel.local + (remote != null
                ? " remote=" + remote : "")) + "]";
    }
}
