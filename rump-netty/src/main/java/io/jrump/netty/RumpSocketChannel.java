package io.jrump.netty;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.socket.Readiness;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import io.jrump.netty.internal.Addresses;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.FileRegion;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ConnectionPendingException;
import java.nio.channels.NotYetConnectedException;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.TimeUnit;

/**
 * A TCP connection of a jrump stack, the transport's {@code NioSocketChannel}: a non-blocking
 * socket driven from its event loop, which is also the stack's, so reads and writes are direct
 * calls into TCP. Neither way copies: a read hands the pipeline slices of the socket's receive
 * queue (pooled buffers the frames were copied into), and a write hands the socket slices of the
 * written buffer, which its send queue keeps until they are acknowledged. Writes go to the socket
 * until its send buffer is full, then wait for POLLOUT — so the outbound buffer grows
 * and the channel turns unwritable at the high water mark, as over a real socket. Half-closure
 * (ALLOW_HALF_CLOSURE, shutdownOutput as SHUT_WR) and {@link FileRegion}s (copied through the
 * socket) work as on NIO; shutdownInput is kept by the channel (the stack has no SHUT_RD): later
 * data is not read. The socket is AF_INET6 and dual-stack unless the channel is opened with
 * {@code SocketProtocolFamily.INET}, as NIO's on a dual-stack host: it reaches IPv6 and IPv4 peers,
 * and an IPv4 peer's address is an {@code Inet4Address}. Used on its loop, as Netty channels are.
 */
public final class RumpSocketChannel extends AbstractRumpChannel implements SocketChannel {
    private final RumpSocketChannelConfig config = new RumpSocketChannelConfig(this);
    private boolean active;
    private boolean inputShutdown;
    private boolean outputShutdown;
    /** The end of input has been seen after the input was shut down (ChannelInputShutdownReadComplete fired). */
    private boolean inputDone;
    private boolean readPending;
    private boolean writeInterest;
    /** The peer's FIN has been seen (POLLRDHUP) and acted on once. */
    private boolean peerShutdownSeen;
    /** A read is owed whatever the interest: the end of input follows the input-shutdown event. */
    private boolean forceRead;
    private ChannelPromise connectPromise;
    private Future<?> connectTimeout;
    private SocketAddress requestedRemote;
    private final WritableByteChannel target = new SocketTarget();

    /**
     * A channel for {@code Bootstrap}; its socket opens when it registers with a
     * {@link RumpEventLoopGroup}: a dual-stack AF_INET6 one, which reaches IPv6 and IPv4 peers.
     */
    public RumpSocketChannel() {
        this(SocketProtocolFamily.INET6);
    }

    /**
     * As {@code NioSocketChannel(provider, family)}: INET opens an IPv4-only socket (an IPv6
     * address is refused with EAFNOSUPPORT), INET6 a dual-stack one; UNIX is refused
     * ({@link io.netty.channel.ChannelException}, EAFNOSUPPORT). Use it through
     * {@code Bootstrap.channelFactory(() -> new RumpSocketChannel(SocketProtocolFamily.INET))}.
     */
    public RumpSocketChannel(SocketProtocolFamily family) {
        super(null, Sockets.SOCK_STREAM, Addresses.domain(family));
    }

    RumpSocketChannel(RumpServerSocketChannel parent, NetStack stack, int fd) {
        super(parent, stack, fd, parent.domain);
        active = true;
    }

    @Override
    protected void doRegister() throws Exception {
        super.doRegister();
        if (active) {
            try {
                watch();
            } catch (ErrnoException e) {
                throw io(e);
            }
        }
    }

    @Override
    public ServerSocketChannel parent() {
        return (ServerSocketChannel) super.parent();
    }

    @Override
    public RumpSocketChannelConfig config() {
        return config;
    }

    @Override
    public boolean isActive() {
        return open && active;
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) super.remoteAddress();
    }

    // ---- half-closure --------------------------------------------------------------------------

    @Override
    public boolean isInputShutdown() {
        return inputShutdown || !isActive();
    }

    @Override
    public boolean isOutputShutdown() {
        return outputShutdown || !isActive();
    }

    @Override
    public boolean isShutdown() {
        return isInputShutdown() && isOutputShutdown();
    }

    @Override
    public ChannelFuture shutdownOutput() {
        return shutdownOutput(newPromise());
    }

    @Override
    public ChannelFuture shutdownOutput(ChannelPromise promise) {
        return onLoop(() -> ((AbstractUnsafe) unsafe()).shutdownOutput(promise), promise);
    }

    @Override
    protected void doShutdownOutput() throws Exception {
        if (!active) {
            throw new NotYetConnectedException();
        }
        outputShutdown = true;
        if (fd >= 0) {
            try {
                sockets.shutdown(fd, Sockets.SHUT_WR);
            } catch (ErrnoException e) {
                throw io(e);
            }
        }
    }

    @Override
    public ChannelFuture shutdownInput() {
        return shutdownInput(newPromise());
    }

    @Override
    public ChannelFuture shutdownInput(ChannelPromise promise) {
        return onLoop(() -> shutdownInput0(promise), promise);
    }

    /** Runs a shutdown step on the loop (at once if already there), since it touches the loop's socket. */
    private ChannelFuture onLoop(Runnable step, ChannelPromise promise) {
        EventLoop loop = eventLoop();
        if (loop.inEventLoop()) {
            step.run();
        } else {
            loop.execute(step);
        }
        return promise;
    }

    private void shutdownInput0(ChannelPromise promise) {
        if (!isOpen()) {
            promise.setFailure(new ClosedChannelException());
            return;
        }
        if (!isActive()) {
            promise.setFailure(new NotYetConnectedException());
            return;
        }
        inputShutdown = true;
        promise.setSuccess();
        if (readInterest) {
            queueReadiness(); // the next read sees the end of the input, as after SHUT_RD
        }
    }

    @Override
    public ChannelFuture shutdown() {
        return shutdown(newPromise());
    }

    @Override
    public ChannelFuture shutdown(ChannelPromise promise) {
        ChannelFuture output = shutdownOutput();
        output.addListener((ChannelFutureListener) f -> {
            ChannelFuture input = shutdownInput();
            input.addListener((ChannelFutureListener) g -> {
                Throwable cause = f.cause() != null ? f.cause() : g.cause();
                if (cause != null) {
                    promise.tryFailure(cause);
                } else {
                    promise.trySuccess();
                }
            });
        });
        return promise;
    }

    // ---- the life of the socket ----------------------------------------------------------------

    @Override
    protected void doDisconnect() throws Exception {
        doClose();
    }

    @Override
    protected void doClose() throws Exception {
        ChannelPromise p = connectPromise;
        if (p != null) {
            connectPromise = null;
            p.tryFailure(new ClosedChannelException());
        }
        if (connectTimeout != null) {
            connectTimeout.cancel(false);
            connectTimeout = null;
        }
        active = false;
        super.doClose();
    }

    @Override
    protected void doBeginRead() {
        if (inputDone) {
            return;
        }
        readPending = true;
        readInterest = true;
        if (active) {
            queueReadiness();
        }
    }

    void clearReadInterest() {
        if (isRegistered() && !eventLoop().inEventLoop()) {
            eventLoop().execute(this::clearReadInterest);
            return;
        }
        readPending = false;
        readInterest = false;
    }

    @Override
    void readinessChanged(int events) {
        if (connectPromise != null) {
            if ((events & (Readiness.POLLOUT | Readiness.POLLERR | Readiness.POLLHUP)) != 0) {
                ((SocketUnsafe) unsafe()).finishConnect(events);
            }
            return;
        }
        if (!isActive()) {
            return;
        }
        if (writeInterest && (events & (Readiness.POLLOUT | Readiness.POLLERR | Readiness.POLLHUP)) != 0) {
            writeInterest = false;
            ((SocketUnsafe) unsafe()).forceFlush();
        }
        boolean readable = (events & (Readiness.POLLIN | Readiness.POLLERR | Readiness.POLLHUP)) != 0 || inputShutdown;
        boolean peerShutdown = (events & Readiness.POLLRDHUP) != 0 && !peerShutdownSeen;
        if (peerShutdown) {
            peerShutdownSeen = true;
        }
        // The peer's FIN is read once even without a read pending, as the epoll transport does on
        // EPOLLRDHUP: the pipeline learns of the half-closure (or the close) without asking.
        if ((readInterest && readable || peerShutdown || forceRead) && !inputDone && isActive()) {
            forceRead = false;
            ((SocketUnsafe) unsafe()).read();
        }
    }

    // ---- reading and writing -------------------------------------------------------------------

    /**
     * Up to {@code max} received bytes as a buffer of the socket's own memory, no copy: null if none
     * are there now, an empty buffer at the end of the input.
     */
    private ByteBuf readBytes(int max) throws IOException {
        if (inputShutdown) {
            return Unpooled.EMPTY_BUFFER;
        }
        try {
            return sockets.recv(fd, max);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EAGAIN) {
                return null;
            }
            throw io(e);
        }
    }

    /** Hands what the socket takes now of {@code buf} to it, without a copy; returns how much. */
    private int send(ByteBuf buf) throws IOException {
        try {
            return sockets.send(fd, buf);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EAGAIN) {
                return 0;
            }
            throw io(e);
        }
    }

    /** Sends what the socket takes now of {@code src} (advancing it), copied: 0 when its send buffer is full. */
    private int send(ByteBuffer src) throws IOException {
        try {
            return sockets.send(fd, src, Sockets.MSG_DONTWAIT);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EAGAIN) {
                return 0;
            }
            throw io(e);
        }
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) throws Exception {
        for (;;) {
            Object msg = in.current();
            if (msg == null) {
                writeInterest = false;
                return;
            }
            if (msg instanceof ByteBuf buf) {
                // The socket keeps slices of the buffer itself (no copy); removing the message
                // drops only the outbound buffer's reference.
                int n = buf.isReadable() ? send(buf) : 0;
                if (!buf.isReadable()) {
                    in.remove();
                    continue;
                }
                if (n > 0) {
                    in.progress(n);
                }
                writeInterest = true; // the send buffer is full: POLLOUT flushes the rest
                return;
            } else if (msg instanceof FileRegion region) {
                if (region.transferred() >= region.count()) {
                    in.remove();
                    continue;
                }
                long n = region.transferTo(target, region.transferred());
                if (n > 0) {
                    in.progress(n);
                }
                if (region.transferred() >= region.count()) {
                    in.remove();
                } else if (n <= 0) {
                    writeInterest = true;
                    return;
                }
            } else {
                throw new Error("unexpected message " + msg.getClass().getName());
            }
        }
    }

    @Override
    protected Object filterOutboundMessage(Object msg) {
        if (msg instanceof ByteBuf || msg instanceof FileRegion) {
            return msg;
        }
        throw new UnsupportedOperationException("unsupported message type: " + msg.getClass().getName()
                + " (expected: ByteBuf, FileRegion)");
    }

    /** The socket as a byte channel, for {@link FileRegion#transferTo}: takes what fits now. */
    private final class SocketTarget implements WritableByteChannel {
        @Override
        public int write(ByteBuffer src) throws IOException {
            return send(src);
        }

        @Override
        public boolean isOpen() {
            return RumpSocketChannel.this.isOpen();
        }

        @Override
        public void close() {
        }
    }

    @Override
    protected AbstractUnsafe newUnsafe() {
        return new SocketUnsafe();
    }

    private final class SocketUnsafe extends AbstractUnsafe {
        void forceFlush() {
            super.flush0();
        }

        @Override
        protected void flush0() {
            if (writeInterest) {
                return; // waiting for POLLOUT: the readiness task flushes
            }
            super.flush0();
        }

        @Override
        public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
            if (promise.isDone() || !ensureOpen(promise)) { // cancellable: the attempt is non-blocking
                return;
            }
            if (connectPromise != null) {
                promise.setFailure(new ConnectionPendingException());
                return;
            }
            if (active) {
                promise.setFailure(new AlreadyConnectedException());
                return;
            }
            try {
                if (local != null) {
                    doBind(local);
                }
                try {
                    // as the JDK: the wildcard of either family means this host's loopback
                    sockets.connect(fd, Addresses.toStackPeer(remote, domain));
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EINPROGRESS) {
                        throw io(e);
                    }
                }
                connectPromise = promise;
                requestedRemote = remote;
                int millis = config.getConnectTimeoutMillis();
                if (millis > 0) {
                    connectTimeout = eventLoop().schedule(() -> {
                        ChannelPromise p = connectPromise;
                        if (p != null && p.tryFailure(new ConnectTimeoutException(
                                "connection timed out after " + millis + " ms: " + remote))) {
                            connectPromise = null;
                            close(voidPromise());
                        }
                    }, millis, TimeUnit.MILLISECONDS);
                }
                promise.addListener((ChannelFutureListener) f -> {
                    if (f.isCancelled()) {
                        if (connectTimeout != null) {
                            connectTimeout.cancel(false);
                        }
                        connectPromise = null;
                        close(voidPromise());
                    }
                });
                watch();
            } catch (Throwable t) {
                promise.tryFailure(annotateConnectException(t, remote));
                closeIfClosed();
            }
        }

        void finishConnect(int events) {
            ChannelPromise p = connectPromise;
            connectPromise = null;
            if (connectTimeout != null) {
                connectTimeout.cancel(false);
                connectTimeout = null;
            }
            int error;
            try {
                error = sockets.getsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_ERROR);
            } catch (ErrnoException e) {
                error = e.errno().number();
            }
            if (error == 0 && (events & Readiness.POLLOUT) != 0) {
                boolean wasActive = isActive();
                active = true;
                boolean nowActive = isActive(); // before the promise's listeners, which may close the channel
                boolean promised = p.trySuccess();
                if (!wasActive && nowActive) {
                    pipeline().fireChannelActive();
                }
                if (!promised) {
                    close(voidPromise());
                } else if (readInterest || writeInterest) {
                    queueReadiness();
                }
                return;
            }
            Errno errno = error != 0 ? Errno.ofNumber(error) : Errno.ECONNREFUSED;
            IOException cause = io(new ErrnoException(errno, "connect to " + requestedRemote));
            p.tryFailure(annotateConnectException(cause, requestedRemote));
            close(voidPromise());
        }

        void read() {
            ChannelPipeline pipeline = pipeline();
            RecvByteBufAllocator.Handle handle = recvBufAllocHandle();
            handle.reset(config);
            ByteBuf buf = null;
            boolean close = false;
            boolean drained = false;
            try {
                do {
                    // The socket's own buffers, handed over without a copy, as many bytes as the
                    // handle would have allocated for.
                    buf = readBytes(Math.max(1, handle.guess()));
                    handle.lastBytesRead(buf == null ? 0 : buf.isReadable() ? buf.readableBytes() : -1);
                    if (handle.lastBytesRead() <= 0) {
                        if (buf != null) {
                            buf.release();
                        }
                        buf = null;
                        close = handle.lastBytesRead() < 0;
                        drained = true;
                        break;
                    }
                    handle.incMessagesRead(1);
                    readPending = false;
                    pipeline.fireChannelRead(buf);
                    buf = null;
                } while (handle.continueReading());
                handle.readComplete();
                pipeline.fireChannelReadComplete();
                if (close) {
                    closeOnRead(pipeline);
                }
            } catch (Throwable t) {
                if (buf != null) {
                    if (buf.isReadable()) {
                        readPending = false;
                        pipeline.fireChannelRead(buf);
                    } else {
                        buf.release();
                    }
                }
                handle.readComplete();
                pipeline.fireChannelReadComplete();
                pipeline.fireExceptionCaught(t);
                if (t instanceof IOException || t instanceof OutOfMemoryError) {
                    closeOnRead(pipeline);
                }
                return;
            } finally {
                if (!readPending && !config.isAutoRead()) {
                    readInterest = false;
                }
            }
            if (readInterest && isActive() && !inputDone && (!drained || close)) {
                queueReadiness(); // more is there than one read took, or the end must be reported
            }
        }

        private void closeOnRead(ChannelPipeline pipeline) {
            if (!isOpen()) {
                return;
            }
            if (!inputShutdown) {
                if (config.isAllowHalfClosure()) {
                    inputShutdown = true;
                    pipeline.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
                    forceRead = true; // then ChannelInputShutdownReadComplete, as epoll reports it
                    queueReadiness();
                } else {
                    close(voidPromise());
                }
            } else if (!inputDone) {
                inputDone = true;
                readInterest = false;
                pipeline.fireUserEventTriggered(ChannelInputShutdownReadComplete.INSTANCE);
            }
        }
    }
}
