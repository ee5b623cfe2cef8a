package io.jrump.nio.internal;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.socket.Readiness;
import io.jrump.net.stack.Sockets;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketOption;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.AlreadyBoundException;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ConnectionPendingException;
import java.nio.channels.IllegalBlockingModeException;
import java.nio.channels.NoConnectionPendingException;
import java.nio.channels.NotYetConnectedException;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.Objects;
import java.util.Set;

/**
 * A TCP {@link SocketChannel} on a jrump stack. The kernel socket is always non-blocking; blocking
 * mode waits for its readiness (see {@link SocketWatch}). Thread-safe as the JDK's: one reader and one
 * writer at a time ({@code readLock}, {@code writeLock}; connect takes both, in that order), state
 * under the {@link KernelSocket}'s {@code stateLock}, taken last. Close wakes blocked callers (they get
 * {@link AsynchronousCloseException}, or {@link java.nio.channels.ClosedByInterruptException} when
 * an interrupt closed it) and closes the kernel socket once they have left.
 */
public final class RumpSocketChannel extends SocketChannel implements RumpChannel {
    private static final int UNCONNECTED = 0;
    private static final int PENDING = 1;
    private static final int CONNECTED = 2;
    static final int UNAVAILABLE = -2;

    private final Stack stack;
    private final Sockets sockets;
    private final KernelSocket kernel;
    private final Object readLock = new Object();
    private final Object writeLock = new Object();
    private volatile int state;
    private volatile InetSocketAddress remote;
    private volatile boolean inputShut;
    private volatile boolean outputShut;
    private volatile boolean eof;

    /** A new, unconnected channel. */
    public RumpSocketChannel(Stack stack, int domain) throws IOException {
        super(stack.provider());
        this.stack = stack;
        this.sockets = stack.sockets();
        kernel = KernelSocket.open(stack, this, domain, Sockets.SOCK_STREAM, Options.STREAM, this::closeWaits);
    }

    /** A channel for a connection {@code accept} returned as {@code fd}. */
    RumpSocketChannel(Stack stack, int domain, int fd) throws IOException {
        super(stack.provider());
        this.stack = stack;
        this.sockets = stack.sockets();
        kernel = KernelSocket.of(stack, this, domain, fd, Options.STREAM, this::closeWaits);
        try {
            sockets.setNonBlocking(kernel.fd, true);
            kernel.local = Addresses.fromKernel(sockets.getsockname(kernel.fd));
            remote = Addresses.fromKernel(sockets.getpeername(kernel.fd));
            kernel.watch.attach();
        } catch (ErrnoException e) {
            throw Errors.of(e);
        }
        state = CONNECTED;
    }

    @Override
    public SocketWatch watch() {
        return kernel.watch;
    }

    Stack stack() {
        return stack;
    }

    private void ensureConnected() throws ClosedChannelException {
        kernel.ensureOpen();
        if (state != CONNECTED) {
            throw new NotYetConnectedException();
        }
    }

    private void ensureWritable() throws ClosedChannelException {
        ensureConnected();
        if (outputShut) {
            throw new AsynchronousCloseException(); // as the JDK's write after shutdownOutput
        }
    }

    // ---- binding and connecting -------------------------------------------------------------------

    @Override
    public SocketChannel bind(SocketAddress localAddress) throws IOException {
        synchronized (readLock) {
            synchronized (writeLock) {
                synchronized (kernel.stateLock) {
                    kernel.ensureOpen();
                    if (state == PENDING) {
                        throw new ConnectionPendingException();
                    }
                    if (state == CONNECTED) {
                        throw new AlreadyConnectedException();
                    }
                    if (kernel.local != null) {
                        throw new AlreadyBoundException();
                    }
                    kernel.bind(localAddress == null ? new InetSocketAddress(0) : Addresses.check(localAddress, kernel.domain));
                }
            }
        }
        return this;
    }

    @Override
    public boolean connect(SocketAddress remoteAddress) throws IOException {
        return connect(remoteAddress, 0);
    }

    /** connect, in blocking mode waiting {@code timeoutNanos} at most (0: no limit) before SocketTimeoutException. */
    boolean connect(SocketAddress remoteAddress, long timeoutNanos) throws IOException {
        InetSocketAddress isa = Addresses.check(remoteAddress, kernel.domain);
        synchronized (readLock) {
            synchronized (writeLock) {
                synchronized (kernel.stateLock) {
                    kernel.ensureOpen();
                    if (state == CONNECTED) {
                        throw new AlreadyConnectedException();
                    }
                    if (state == PENDING) {
                        throw new ConnectionPendingException();
                    }
                }
                boolean blocking = isBlocking();
                try {
                    boolean done = false;
                    try {
                        kernel.closer.enter();
                        begin();
                        stack.loop().checkRunning();
                        try {
                            sockets.connect(kernel.fd, Addresses.toKernelPeer(isa));
                        } catch (ErrnoException e) {
                            if (e.errno() != Errno.EINPROGRESS) {
                                throw e;
                            }
                        }
                        synchronized (kernel.stateLock) {
                            state = PENDING;
                            remote = isa;
                        }
                        kernel.watch.attach();
                        if (!blocking) {
                            done = true;
                            return false;
                        }
                        done = finish(true, stack.loop().deadline(timeoutNanos));
                        if (!done && isOpen()) {
                            throw new SocketTimeoutException("Connect timed out");
                        }
                        return done;
                    } finally {
                        try {
                            end(done);
                        } finally {
                            kernel.closer.exit();
                        }
                    }
                } catch (ErrnoException e) {
                    close();
                    throw Errors.ofConnect(e);
                } catch (IOException | RuntimeException e) {
                    if (!(e instanceof AsynchronousCloseException)) {
                        close(); // the JDK closes a channel whose blocking connect failed
                    }
                    throw e;
                }
            }
        }
    }

    /**
     * Completes a pending connect: waits (if {@code wait}) until the handshake ends, then
     * true once connected; throws the connect's error (and closes) if it failed.
     */
    private boolean finish(boolean wait, long deadline) throws ErrnoException {
        for (;;) {
            if (!isOpen()) {
                return false;
            }
            int ev = kernel.watch.poll();
            if ((ev & (Readiness.POLLOUT | Readiness.POLLERR | Readiness.POLLHUP)) != 0) {
                int err = sockets.getsockopt(kernel.fd, Sockets.SOL_SOCKET, Sockets.SO_ERROR);
                if (err != 0) {
                    throw new ErrnoException(Errno.ofNumber(err), "connect to " + remote);
                }
                synchronized (kernel.stateLock) {
                    state = CONNECTED;
                    kernel.local = Addresses.fromKernel(sockets.getsockname(kernel.fd));
                }
                return true;
            }
            if (!wait || deadline != 0 && stack.loop().now() >= deadline) {
                return false;
            }
            kernel.watch.await(Readiness.POLLOUT, deadline);
        }
    }

    @Override
    public boolean finishConnect() throws IOException {
        synchronized (readLock) {
            synchronized (writeLock) {
                synchronized (kernel.stateLock) {
                    kernel.ensureOpen();
                    if (state == CONNECTED) {
                        return true;
                    }
                    if (state != PENDING) {
                        throw new NoConnectionPendingException();
                    }
                }
                ErrnoException failed = null;
                boolean done = false;
                try {
                    kernel.closer.enter();
                    begin();
                    done = finish(isBlocking(), 0);
                } catch (ErrnoException e) {
                    failed = e;
                } finally {
                    try {
                        end(done || failed != null);
                    } finally {
                        kernel.closer.exit();
                    }
                }
                if (failed != null) {
                    close(); // as the JDK: a failed connect closes the channel
                    throw Errors.ofConnect(failed);
                }
                return done;
            }
        }
    }

    @Override
    public boolean isConnected() {
        return state == CONNECTED;
    }

    @Override
    public boolean isConnectionPending() {
        return state == PENDING;
    }

    // ---- reading ---------------------------------------------------------------------------------

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return read(dst, 0);
    }

    /** read, in blocking mode waiting {@code timeoutNanos} at most (0: no limit) before SocketTimeoutException. */
    int read(ByteBuffer dst, long timeoutNanos) throws IOException {
        Objects.requireNonNull(dst);
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("Read-only buffer");
        }
        synchronized (readLock) {
            ensureConnected();
            if (inputShut || eof) {
                return -1;
            }
            boolean blocking = isBlocking();
            long deadline = stack.loop().deadline(timeoutNanos);
            int n = 0;
            try {
                kernel.closer.enter();
                begin();
                n = readBlocking(dst, blocking, deadline);
                return n == UNAVAILABLE ? 0 : n;
            } finally {
                try {
                    end(n > 0 || n == -1);
                } finally {
                    kernel.closer.exit();
                }
            }
        }
    }

    private int readBlocking(ByteBuffer dst, boolean blocking, long deadline) throws IOException {
        for (;;) {
            if (!isOpen() || inputShut) {
                return inputShut && isOpen() ? -1 : 0;
            }
            int n = readNow(dst);
            if (n != UNAVAILABLE || !blocking) {
                return n;
            }
            if (deadline != 0 && stack.loop().now() >= deadline) {
                throw new SocketTimeoutException("Read timed out");
            }
            try {
                kernel.watch.await(Readiness.POLLIN, deadline);
            } catch (ErrnoException e) {
                throw Errors.ofStream(e);
            }
        }
    }

    /** One non-blocking recv: bytes read, -1 at the end of the stream, or UNAVAILABLE. */
    private int readNow(ByteBuffer dst) throws IOException {
        if (!dst.hasRemaining()) {
            return 0;
        }
        try {
            int n = stack.loop().run(() -> sockets.recv(kernel.fd, dst, Sockets.MSG_DONTWAIT).length()); // one hop, not three
            if (n == 0) {
                eof = true;
                return -1;
            }
            return n;
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EAGAIN) {
                return UNAVAILABLE;
            }
            if (!isOpen()) {
                return 0;
            }
            throw Errors.ofStream(e);
        }
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, dsts.length);
        for (int i = offset; i < offset + length; i++) {
            Objects.requireNonNull(dsts[i]);
            if (dsts[i].isReadOnly()) {
                throw new IllegalArgumentException("Read-only buffer");
            }
        }
        synchronized (readLock) {
            ensureConnected();
            if (inputShut || eof) {
                return -1;
            }
            boolean blocking = isBlocking();
            long total = 0;
            boolean ended = false;
            try {
                kernel.closer.enter();
                begin();
                for (int i = offset; i < offset + length; i++) {
                    ByteBuffer b = dsts[i];
                    if (!b.hasRemaining()) {
                        continue;
                    }
                    // Only the first read may wait: after it, take what is there.
                    int n = total == 0 ? readBlocking(b, blocking, 0) : readNow(b);
                    if (n == -1) {
                        ended = total == 0;
                        break;
                    }
                    if (n <= 0) {
                        break;
                    }
                    total += n;
                    if (b.hasRemaining()) {
                        break;
                    }
                }
                return ended ? -1 : total;
            } finally {
                try {
                    end(total > 0 || ended);
                } finally {
                    kernel.closer.exit();
                }
            }
        }
    }

    // ---- writing ---------------------------------------------------------------------------------

    @Override
    public int write(ByteBuffer src) throws IOException {
        Objects.requireNonNull(src);
        synchronized (writeLock) {
            ensureWritable();
            boolean blocking = isBlocking();
            int total = 0;
            try {
                kernel.closer.enter();
                begin();
                total = writeBlocking(src, blocking);
                return total;
            } finally {
                try {
                    end(total > 0 || !src.hasRemaining());
                } finally {
                    kernel.closer.exit();
                }
            }
        }
    }

    private int writeBlocking(ByteBuffer src, boolean blocking) throws IOException {
        int total = 0;
        while (src.hasRemaining()) {
            if (!isOpen()) {
                return total;
            }
            int n = writeNow(src);
            if (n > 0) {
                total += n;
                if (!blocking) {
                    return total;
                }
                continue;
            }
            if (!blocking) {
                return total;
            }
            try {
                kernel.watch.await(Readiness.POLLOUT, 0);
            } catch (ErrnoException e) {
                throw Errors.ofStream(e);
            }
        }
        return total;
    }

    /** One non-blocking send: the bytes queued, 0 when the send buffer is full. */
    private int writeNow(ByteBuffer src) throws IOException {
        try {
            return stack.loop().run(() -> sockets.send(kernel.fd, src, Sockets.MSG_DONTWAIT)); // one hop, not two
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EAGAIN) {
                return 0;
            }
            if (!isOpen()) {
                return 0;
            }
            if (e.errno() == Errno.EPIPE && outputShut) {
                throw new AsynchronousCloseException();
            }
            throw Errors.ofStream(e);
        }
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, srcs.length);
        long want = remaining(srcs, offset, length);
        synchronized (writeLock) {
            ensureWritable();
            boolean blocking = isBlocking();
            long total = 0;
            try {
                kernel.closer.enter();
                begin();
                // Gathered into one send of at most 1 MiB at a time, as writev would hand the kernel.
                while (total < want && isOpen()) {
                    ByteBuffer gathered = gather(srcs, offset, length, 1 << 20);
                    int n = writeBlocking(gathered, blocking);
                    advance(srcs, offset, length, n);
                    total += n;
                    if (!blocking || gathered.hasRemaining()) {
                        break;
                    }
                }
                return total;
            } finally {
                try {
                    end(total > 0 || want == 0);
                } finally {
                    kernel.closer.exit();
                }
            }
        }
    }

    /** The bytes left in {@code bufs[offset..offset+length)}. */
    static long remaining(ByteBuffer[] bufs, int offset, int length) {
        long n = 0;
        for (int i = offset; i < offset + length; i++) {
            n += bufs[i].remaining();
        }
        return n;
    }

    static ByteBuffer gather(ByteBuffer[] srcs, int offset, int length, int max) {
        ByteBuffer out = ByteBuffer.allocate((int) Math.min(remaining(srcs, offset, length), max));
        for (int i = offset; i < offset + length && out.hasRemaining(); i++) {
            ByteBuffer s = srcs[i].duplicate();
            if (s.remaining() > out.remaining()) {
                s.limit(s.position() + out.remaining());
            }
            out.put(s);
        }
        return out.flip();
    }

    static void advance(ByteBuffer[] srcs, int offset, int length, long n) {
        for (int i = offset; i < offset + length && n > 0; i++) {
            int step = (int) Math.min(n, srcs[i].remaining());
            srcs[i].position(srcs[i].position() + step);
            n -= step;
        }
    }

    // ---- shutdown, addresses, options ------------------------------------------------------------

    @Override
    public SocketChannel shutdownInput() throws IOException {
        synchronized (kernel.stateLock) {
            kernel.ensureOpen();
            if (state != CONNECTED) {
                throw new NotYetConnectedException();
            }
            inputShut = true; // the stack has no SHUT_RD: reads return -1 from now on, as after Linux's
        }
        kernel.watch.wakeAll();
        return this;
    }

    @Override
    public SocketChannel shutdownOutput() throws IOException {
        synchronized (kernel.stateLock) {
            kernel.ensureOpen();
            if (state != CONNECTED) {
                throw new NotYetConnectedException();
            }
            if (!outputShut) {
                try {
                    stack.loop().checkRunning();
                    sockets.shutdown(kernel.fd, Sockets.SHUT_WR);
                } catch (ErrnoException e) {
                    throw Errors.of(e);
                }
                outputShut = true;
            }
        }
        return this;
    }

    boolean isInputShutdown() {
        return inputShut;
    }

    boolean isOutputShutdown() {
        return outputShut;
    }

    @Override
    public Socket socket() {
        return kernel.adaptor(() -> SocketAdaptor.of(this));
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
        return state == CONNECTED ? remote : null;
    }

    InetSocketAddress remoteAddress() {
        return state == CONNECTED ? remote : null;
    }

    @Override
    public <T> SocketChannel setOption(SocketOption<T> name, T value) throws IOException {
        kernel.checkSupported(name);
        if (!name.type().isInstance(value)) {
            throw new IllegalArgumentException("Invalid value '" + value + "'");
        }
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
        return Options.STREAM;
    }

    // ---- readiness, blocking mode, close ---------------------------------------------------------

    @Override
    public int translateReadyOps(int events, int interestOps) {
        if ((events & (Readiness.POLLERR | Readiness.POLLHUP)) != 0) {
            return interestOps;
        }
        int ready = 0;
        int s = state;
        if ((events & Readiness.POLLIN) != 0 && s == CONNECTED) {
            ready |= SelectionKey.OP_READ;
        }
        if ((events & Readiness.POLLOUT) != 0 && s == CONNECTED) {
            ready |= SelectionKey.OP_WRITE;
        }
        if ((events & Readiness.POLLOUT) != 0 && s == PENDING) {
            ready |= SelectionKey.OP_CONNECT;
        }
        if (inputShut && s == CONNECTED) {
            ready |= SelectionKey.OP_READ; // a read returns -1 at once
        }
        return ready;
    }

    @Override
    protected void implConfigureBlocking(boolean block) {
        kernel.watch.wakeAll(); // a caller blocked under the old mode looks again
    }

    @Override
    protected void implCloseSelectableChannel() throws IOException {
        kernel.close();
    }

    /** Whether closing the socket should wait for unsent data: a blocking channel with SO_LINGER on. */
    private boolean closeWaits() {
        return isBlocking() && lingers();
    }

    private boolean lingers() {
        try {
            return sockets.getsockopt(kernel.fd, Sockets.SOL_SOCKET, Sockets.SO_LINGER) > 0;
        } catch (ErrnoException e) {
            return false;
        }
    }

    void ensureBlocking() {
        if (!isBlocking()) {
            throw new IllegalBlockingModeException();
        }
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(getClass().getSimpleName()).append('[');
        if (!isOpen()) {
            b.append("closed");
        } else {
            b.append(switch (state) {
                case PENDING -> "connection-pending";
                case CONNECTED -> "connected";
                default -> "unconnected";
            });
            if (kernel.local != null) {
                b.append(" local=").append(kernel.local);
            }
            if (remote != null) {
                b.append(" remote=").append(remote);
            }
        }
        return b.append(']').toString();
    }
}
