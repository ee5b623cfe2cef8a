package io.jrump.netty;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.socket.Readiness;
import io.jrump.net.stack.Sockets;
import io.jrump.netty.internal.Addresses;
import io.netty.buffer.ByteBuf;
import io.netty.channel.AddressedEnvelope;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketProtocolFamily;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.UnresolvedAddressException;

/**
 * A UDP socket of a jrump stack, the transport's {@code NioDatagramChannel}: reads give
 * {@link DatagramPacket}s (a datagram longer than the buffer is cut, as UDP does), writes take
 * {@link DatagramPacket}s, {@link AddressedEnvelope}s of a {@code ByteBuf}, or a {@code ByteBuf}
 * once connected. Each datagram is sent at once (the stack queues none), so a datagram channel is
 * always writable. The channel is dual-stack (AF_INET6) unless opened with
 * {@code SocketProtocolFamily.INET}: it sends to IPv6 and IPv4 addresses, and a packet from an IPv4
 * sender names it by its {@code Inet4Address}. An ICMP port unreachable for a connected socket surfaces as a
 * {@link PortUnreachableException} in the pipeline; the channel stays open. Not there: multicast
 * (the join, leave and block calls fail with {@code UnsupportedOperationException}) and disconnect.
 * Used on its loop, as Netty channels are.
 */
public final class RumpDatagramChannel extends AbstractRumpChannel implements DatagramChannel {
    private final RumpDatagramChannelConfig config = new RumpDatagramChannelConfig(this);
    private boolean bound;
    private boolean connected;

    /** A dual-stack (AF_INET6) UDP socket: it sends to and receives from IPv6 and IPv4 peers. */
    public RumpDatagramChannel() {
        this(SocketProtocolFamily.INET6);
    }

    /**
     * As {@code NioDatagramChannel(family)}: INET opens an IPv4-only socket (an IPv6 address is
     * refused with EAFNOSUPPORT), INET6 a dual-stack one; UNIX is refused
     * ({@link io.netty.channel.ChannelException}, EAFNOSUPPORT).
     */
    public RumpDatagramChannel(SocketProtocolFamily family) {
        super(null, Sockets.SOCK_DGRAM, Addresses.domain(family));
    }

    @Override
    void applyOptions() throws ErrnoException {
        super.applyOptions();
        watch(); // a datagram socket has its readiness from the start
    }

    @Override
    public RumpDatagramChannelConfig config() {
        return config;
    }

    @Override
    public boolean isActive() {
        return open && fd >= 0 && (bound || connected || config.activeOnRegistration && isRegistered());
    }

    @Override
    public boolean isConnected() {
        return connected;
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) super.localAddress();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) super.remoteAddress();
    }

    @Override
    protected SocketAddress remoteAddress0() {
        return connected ? super.remoteAddress0() : null;
    }

    @Override
    protected void doBind(SocketAddress localAddress) throws Exception {
        super.doBind(localAddress);
        bound = true;
    }

    @Override
    protected void doDisconnect() {
        throw new UnsupportedOperationException("disconnecting a datagram channel");
    }

    @Override
    protected void doClose() throws Exception {
        connected = false;
        super.doClose();
    }

    @Override
    protected void doBeginRead() {
        readInterest = true;
        if (fd >= 0) {
            queueReadiness();
        }
    }

    @Override
    void readinessChanged(int events) {
        if (readInterest && isActive() && (events & (Readiness.POLLIN | Readiness.POLLERR)) != 0) {
            ((DatagramUnsafe) unsafe()).read();
        }
    }

    @Override
    protected Object filterOutboundMessage(Object msg) {
        if (msg instanceof DatagramPacket || msg instanceof ByteBuf) {
            return msg;
        }
        if (msg instanceof AddressedEnvelope<?, ?> e && e.content() instanceof ByteBuf) {
            return msg;
        }
        throw new UnsupportedOperationException("unsupported message type: " + msg.getClass().getName()
                + " (expected: DatagramPacket, AddressedEnvelope<ByteBuf, SocketAddress>, ByteBuf)");
    }

    @Override
    protected void doWrite(ChannelOutboundBuffer in) throws Exception {
        for (;;) {
            Object msg = in.current();
            if (msg == null) {
                return;
            }
            try {
                ByteBuf data;
                SocketAddress to;
                if (msg instanceof AddressedEnvelope<?, ?> e) {
                    data = (ByteBuf) e.content();
                    to = e.recipient();
                } else {
                    data = (ByteBuf) msg;
                    to = null;
                }
                send(data, to);
                in.remove();
            } catch (Exception e) {
                in.remove(e); // one datagram failed; the others still go, as on NIO
            }
        }
    }

    private void send(ByteBuf data, SocketAddress to) throws IOException {
        Sockets.SocketAddress dst = null;
        if (to != null) {
            if (to instanceof InetSocketAddress inet && inet.isUnresolved()) {
                throw new UnresolvedAddressException();
            }
            try {
                dst = Addresses.toStack(to, domain);
            } catch (ErrnoException e) {
                throw io(e);
            }
        }
        ByteBuffer bytes = data.nioBufferCount() == 1
                ? data.nioBuffer(data.readerIndex(), data.readableBytes())
                : ByteBuffer.wrap(io.netty.buffer.ByteBufUtil.getBytes(data));
        try {
            sockets.sendto(fd, bytes, dst, 0);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ECONNREFUSED) {
                throw (PortUnreachableException) new PortUnreachableException(e.getMessage()).initCause(e);
            }
            throw io(e);
        }
    }

    // ---- multicast: not supported -------------------------------------------------------------

    private ChannelFuture noMulticast(ChannelPromise promise) {
        promise.setFailure(new UnsupportedOperationException("multicast is not supported by the jrump stack"));
        return promise;
    }

    @Override
    public ChannelFuture joinGroup(InetAddress group) {
        return noMulticast(newPromise());
    }

    @Override
    public ChannelFuture joinGroup(InetAddress group, ChannelPromise promise) {
        return noMulticast(promise);
    }

    @Override
    public ChannelFuture joinGroup(InetSocketAddress group, NetworkInterface nic) {
        return noMulticast(newPromise());
    }

    @Override
    public ChannelFuture joinGroup(InetSocketAddress group, NetworkInterface nic, ChannelPromise promise) {
        return noMulticast(promise);
    }

    @Override
    public ChannelFuture joinGroup(InetAddress group, NetworkInterface nic, InetAddress source) {
        return noMulticast(newPromise());
    }

    @Override
    public ChannelFuture joinGroup(InetAddress group, NetworkInterface nic, InetAddress source, ChannelPromise promise) {
        return noMulticast(promise);
    }

    @Override
    public ChannelFuture leaveGroup(InetAddress group) {
        return noMulticast(newPromise());
    }

    @Override
    public ChannelFuture leaveGroup(InetAddress group, ChannelPromise promise) {
        return noMulticast(promise);
    }

    @Override
    public ChannelFuture leaveGroup(InetSocketAddress group, NetworkInterface nic) {
        return noMulticast(newPromise());
    }

    @Override
    public ChannelFuture leaveGroup(InetSocketAddress group, NetworkInterface nic, ChannelPromise promise) {
        return noMulticast(promise);
    }

    @Override
    public ChannelFuture leaveGroup(InetAddress group, NetworkInterface nic, InetAddress source) {
        return noMulticast(newPromise());
    }

    @Override
    public ChannelFuture leaveGroup(InetAddress group, NetworkInterface nic, InetAddress source, ChannelPromise promise) {
        return noMulticast(promise);
    }

    @Override
    public ChannelFuture block(InetAddress group, NetworkInterface nic, InetAddress source) {
        return noMulticast(newPromise());
    }

    @Override
    public ChannelFuture block(InetAddress group, NetworkInterface nic, InetAddress source, ChannelPromise promise) {
        return noMulticast(promise);
    }

    @Override
    public ChannelFuture block(InetAddress group, InetAddress source) {
        return noMulticast(newPromise());
    }

    @Override
    public ChannelFuture block(InetAddress group, InetAddress source, ChannelPromise promise) {
        return noMulticast(promise);
    }

    @Override
    protected AbstractUnsafe newUnsafe() {
        return new DatagramUnsafe();
    }

    private final class DatagramUnsafe extends AbstractUnsafe {
        @Override
        public void connect(SocketAddress remote, SocketAddress local, ChannelPromise promise) {
            if (!promise.setUncancellable() || !ensureOpen(promise)) {
                return;
            }
            boolean wasActive = isActive();
            try {
                if (local != null) {
                    doBind(local);
                }
                sockets.connect(fd, Addresses.toStack(remote, domain));
                connected = true;
                boolean nowActive = isActive();
                promise.setSuccess();
                if (!wasActive && nowActive) {
                    pipeline().fireChannelActive();
                }
            } catch (Throwable t) {
                Throwable cause = t instanceof ErrnoException e ? io(e) : t;
                promise.tryFailure(annotateConnectException(cause, remote));
                closeIfClosed();
            }
        }

        void read() {
            ChannelPipeline pipeline = pipeline();
            RecvByteBufAllocator.Handle handle = recvBufAllocHandle();
            handle.reset(config);
            Throwable failure = null;
            boolean drained = false;
            try {
                do {
                    ByteBuf buf = handle.allocate(config.getAllocator());
                    Sockets.Received r;
                    try {
                        r = sockets.recvfrom(fd, buf.nioBuffer(buf.writerIndex(), buf.writableBytes()), Sockets.MSG_DONTWAIT);
                    } catch (ErrnoException e) {
                        buf.release();
                        if (e.errno() == Errno.EAGAIN) {
                            drained = true;
                        } else if (e.errno() == Errno.ECONNREFUSED) {
                            failure = new PortUnreachableException(e.getMessage()).initCause(e);
                        } else {
                            failure = io(e);
                        }
                        break;
                    }
                    int n = Math.min(r.length(), buf.writableBytes());
                    buf.writerIndex(buf.writerIndex() + n);
                    handle.lastBytesRead(n);
                    handle.incMessagesRead(1);
                    pipeline.fireChannelRead(new DatagramPacket(buf, RumpDatagramChannel.this.localAddress(), Addresses.toInet(r.from())));
                } while (handle.continueReading());
            } catch (Throwable t) {
                failure = t;
            }
            endMessageRead(handle, failure, !drained);
        }
    }
}
