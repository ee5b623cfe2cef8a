package io.jrump.netty;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.socket.Readiness;
import io.jrump.net.stack.Sockets;
import io.jrump.netty.internal.Addresses;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * A listening TCP socket of a jrump stack, the transport's {@code NioServerSocketChannel}: binding
 * listens (with SO_BACKLOG), reading accepts, each connection a {@link RumpSocketChannel} on the
 * same stack, registered on the same loop. Used on its loop, as Netty channels are.
 */
public final class RumpServerSocketChannel extends AbstractRumpChannel implements ServerSocketChannel {
    private final RumpServerSocketChannelConfig config = new RumpServerSocketChannelConfig(this);
    private boolean listening;

    /** A dual-stack (AF_INET6) listener: it accepts IPv6 and IPv4 clients, as NIO's on a dual-stack host. */
    public RumpServerSocketChannel() {
        this(SocketProtocolFamily.INET6);
    }

    /**
     * As {@code NioServerSocketChannel(provider, family)}: INET listens on an IPv4-only socket,
     * INET6 on a dual-stack one; UNIX is refused ({@link io.netty.channel.ChannelException},
     * EAFNOSUPPORT). Accepted channels have the listener's family.
     */
    public RumpServerSocketChannel(SocketProtocolFamily family) {
        super(null, Sockets.SOCK_STREAM, Addresses.domain(family));
    }

    @Override
    public RumpServerSocketChannelConfig config() {
        return config;
    }

    @Override
    public boolean isActive() {
        return open && listening;
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return null;
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return null;
    }

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        super.doBind(localAddress);
        try {
            sockets.listen(fd, config.getBacklog());
            listening = true;
            watch();
        } catch (ErrnoException e) {
            throw io(e);
        }
    }

    @Override
    protected void doDisconnect() {
        throw new UnsupportedOperationException();
    }

    @Override
    protected void doBeginRead() {
        readInterest = true;
        if (fd >= 0 && listening) {
            queueReadiness();
        }
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) {
        throw new UnsupportedOperationException();
    }

    @Override
    protected Object filterOutboundMessage(Object msg) {
        throw new UnsupportedOperationException();
    }

    @Override
    void readinessChanged(int events) {
        if (readInterest && (events & (Readiness.POLLIN | Readiness.POLLERR | Readiness.POLLHUP)) != 0) {
            ((ServerUnsafe) unsafe()).accept();
        }
    }

    @Override
    protected AbstractUnsafe newUnsafe() {
        return new ServerUnsafe();
    }

    private final class ServerUnsafe extends AbstractUnsafe {
        @Override
        public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
            promise.setFailure(new UnsupportedOperationException("a server channel does not connect"));
        }

        void accept() {
            ChannelPipeline pipeline = pipeline();
            RecvByteBufAllocator.Handle handle = recvBufAllocHandle();
            handle.reset(config);
            Throwable failure = null;
            try {
                do {
                    int child;
                    try {
                        child = sockets.accept(fd);
                    } catch (ErrnoException e) {
                        if (e.errno() != Errno.EAGAIN) {
                            failure = io(e);
                        }
                        break;
                    }
                    handle.incMessagesRead(1);
                    pipeline.fireChannelRead(new RumpSocketChannel(RumpServerSocketChannel.this, stack, child));
                } while (handle.continueReading());
            } catch (Throwable t) {
                failure = t;
            }
            endMessageRead(handle, failure, true); // more may be waiting than one read took
        }
    }
}
