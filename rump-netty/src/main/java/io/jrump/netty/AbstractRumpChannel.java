package io.jrump.netty;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.socket.Readiness;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import io.jrump.netty.internal.Addresses;
import io.netty.channel.AbstractChannel;
import io.netty.channel.Channel;
import io.netty.channel.ChannelMetadata;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.RecvByteBufAllocator;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;

/**
 * What the channels share: a socket of the stack on the channel's loop, opened when the channel
 * registers, non-blocking, and watched — a readiness change schedules {@link #readinessChanged}
 * as a task on the same loop, after the stack's current work, never inside it. Used on the loop
 * only, as Netty channels are.
 */
abstract class AbstractRumpChannel extends AbstractChannel {
    /** No disconnect; up to 16 messages a read, as Netty's NIO channels. */
    private static final ChannelMetadata METADATA = new ChannelMetadata(false, 16);
    /** The stack, chosen at registration (or given by the listener for an accepted channel). */
    NetStack stack;
    Sockets sockets;
    /** The socket's descriptor, or -1 before registration and after close. */
    int fd = -1;
    boolean open = true;
    /** The channel wants to read (doBeginRead was called and not yet satisfied, or auto-read). */
    boolean readInterest;
    /** A readiness task is queued. */
    private boolean readinessQueued;
    private boolean watching;
    private InetSocketAddress local;
    private InetSocketAddress remote;

    /** {@code Sockets.SOCK_STREAM} or {@code SOCK_DGRAM}: what registering opens. */
    private final int socketType;
    /**
     * {@code Sockets.AF_INET6} (dual-stack: IPv4 peers too, as Netty's NIO channels on a
     * dual-stack host) or {@code AF_INET} (IPv4 only): the family of the socket registering opens.
     */
    final int domain;

    AbstractRumpChannel(Channel parent, int socketType, int domain) {
        super(parent);
        this.socketType = socketType;
        this.domain = domain;
    }

    /** An accepted connection: its socket, of its listener's {@code domain}, is open already. */
    AbstractRumpChannel(Channel parent, NetStack stack, int fd, int domain) {
        super(parent);
        this.socketType = Sockets.SOCK_STREAM;
        this.domain = domain;
        this.stack = stack;
        this.sockets = stack.sockets();
        this.fd = fd;
    }

    @Override
    public abstract AbstractRumpChannelConfig config();

    /** The stack a new channel would use: the one its config names, or (null) the loop's first. */
    private NetStack chosenStack() {
        return config().stack;
    }

    /** Applies the options set before the socket existed. */
    void applyOptions() throws ErrnoException {
        config().apply(sockets, fd);
    }

    @Override
    public ChannelMetadata metadata() {
        return METADATA;
    }

    /** What to do now that the socket's readiness may have changed (on the loop). */
    abstract void readinessChanged(int events);

    @Override
    protected boolean isCompatible(EventLoop loop) {
        if (!(loop instanceof RumpEventLoop l)) {
            return false;
        }
        NetStack s = stack != null ? stack : chosenStack();
        return s == null ? l.defaultStack() != null : l.runs(s);
    }

    @Override
    protected void doRegister() throws Exception {
        if (fd < 0 && !open) {
            return; // closed before it registered: no socket to open
        }
        if (fd < 0 && stack == null) {
            stack = chosenStack() != null ? chosenStack() : ((RumpEventLoop) eventLoop()).defaultStack();
            sockets = stack.sockets();
        }
        try {
            if (fd < 0) {
                fd = sockets.socket(domain, socketType, 0);
            }
            // opened here or accepted by a listener, every socket starts non-blocking with its config applied
            sockets.setNonBlocking(fd, true);
            applyOptions();
        } catch (ErrnoException e) {
            throw io(e);
        }
    }

    /** Starts watching the socket (once it has a connection or a listener, which hold its readiness). */
    final void watch() throws ErrnoException {
        if (watching) {
            return;
        }
        watching = true;
        sockets.watch(fd, events -> {
            if (open) {
                queueReadiness();
            }
        });
        queueReadiness();
    }

    final void queueReadiness() {
        if (readinessQueued) {
            return;
        }
        readinessQueued = true;
        eventLoop().execute(() -> {
            readinessQueued = false;
            if (fd >= 0) {
                int events;
                try {
                    events = sockets.poll(fd, Readiness.POLLIN | Readiness.POLLOUT | Readiness.POLLRDHUP);
                } catch (ErrnoException e) {
                    return; // closed meanwhile
                }
                readinessChanged(events);
            }
        });
    }

    /**
     * Ends a read of messages (datagrams, accepted connections) as Netty's NIO channels do: read
     * complete, then the failure if any; then the read interest ends unless auto-read, and if more
     * may be waiting another readiness pass is queued.
     */
    final void endMessageRead(RecvByteBufAllocator.Handle handle, Throwable failure, boolean moreMayWait) {
        ChannelPipeline pipeline = pipeline();
        handle.readComplete();
        pipeline.fireChannelReadComplete();
        if (failure != null) {
            pipeline.fireExceptionCaught(failure);
        }
        if (!config().isAutoRead()) {
            readInterest = false;
        } else if (moreMayWait && isOpen()) {
            queueReadiness();
        }
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    protected SocketAddress localAddress0() {
        if (local == null && fd >= 0) {
            try {
                Sockets.SocketAddress a = sockets.getsockname(fd);
                if (a.port() != 0) {
                    local = Addresses.toInet(a);
                }
            } catch (ErrnoException e) {
                return null;
            }
        }
        return local;
    }

    @Override
    protected SocketAddress remoteAddress0() {
        if (remote == null && fd >= 0) {
            try {
                remote = Addresses.toInet(sockets.getpeername(fd));
            } catch (ErrnoException e) {
                return null;
            }
        }
        return remote;
    }

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        try {
            sockets.bind(fd, Addresses.toStack(localAddress, domain));
        } catch (ErrnoException e) {
            throw io(e);
        }
    }

    @Override
    protected void doClose() throws Exception {
        open = false;
        if (fd >= 0) {
            int closing = fd;
            fd = -1;
            try {
                sockets.close(closing);
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EBADF) {
                    throw io(e);
                }
            }
        }
    }

    /** The {@code java} exception Netty code expects for an errno. */
    static IOException io(ErrnoException e) {
        return switch (e.errno()) {
            case ECONNREFUSED -> withCause(new ConnectException("Connection refused: " + e.getMessage()), e);
            case ENETUNREACH, EHOSTUNREACH -> withCause(new java.net.NoRouteToHostException(e.getMessage()), e);
            case EADDRINUSE -> withCause(new java.net.BindException("Address already in use: " + e.getMessage()), e);
            case EADDRNOTAVAIL -> withCause(new java.net.BindException("Cannot assign requested address: "
                    + e.getMessage()), e);
            case EBADF -> withCause(new ClosedChannelException(), e);
            case ECONNRESET -> withCause(new IOException("Connection reset by peer: " + e.getMessage()), e);
            case EPIPE -> withCause(new IOException("Broken pipe: " + e.getMessage()), e);
            default -> e;
        };
    }

    private static <T extends IOException> T withCause(T x, ErrnoException cause) {
        x.initCause(cause);
        return x;
    }
}
