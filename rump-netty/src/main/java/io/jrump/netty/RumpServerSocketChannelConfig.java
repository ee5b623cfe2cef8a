package io.jrump.netty;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.stack.Sockets;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.ServerSocketChannelConfig;
import io.netty.util.NetUtil;

/**
 * The options of a {@link RumpServerSocketChannel}: SO_BACKLOG, SO_REUSEADDR, SO_RCVBUF (which
 * accepted connections start with) and {@link RumpChannelOption#STACK}; kept until the socket is
 * opened. Thread-safe as Netty's configs.
 */
public final class RumpServerSocketChannelConfig extends AbstractRumpChannelConfig implements ServerSocketChannelConfig {
    private final RumpServerSocketChannel ch;
    private volatile int backlog = NetUtil.SOMAXCONN;
    private volatile boolean reuseAddress;
    private volatile int receiveBuffer = -1;

    RumpServerSocketChannelConfig(RumpServerSocketChannel ch) {
        super(ch);
        this.ch = ch;
        options.add(ChannelOption.SO_RCVBUF, this::getReceiveBufferSize, this::setReceiveBufferSize)
                .add(ChannelOption.SO_REUSEADDR, this::isReuseAddress, this::setReuseAddress)
                .add(ChannelOption.SO_BACKLOG, this::getBacklog, this::setBacklog);
    }

    @Override
    void apply(Sockets s, int fd) throws ErrnoException {
        if (reuseAddress) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, 1);
        }
        if (receiveBuffer > 0) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, receiveBuffer);
        }
    }

    @Override
    public int getBacklog() {
        return backlog;
    }

    @Override
    public RumpServerSocketChannelConfig setBacklog(int n) {
        backlog = Math.max(1, n);
        return this;
    }

    @Override
    public boolean isReuseAddress() {
        return reuseAddress;
    }

    @Override
    public RumpServerSocketChannelConfig setReuseAddress(boolean on) {
        reuseAddress = on;
        socket.set(Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, on ? 1 : 0);
        return this;
    }

    @Override
    public int getReceiveBufferSize() {
        return receiveBuffer > 0 ? receiveBuffer * 2 : 131072;
    }

    @Override
    public RumpServerSocketChannelConfig setReceiveBufferSize(int bytes) {
        receiveBuffer = bytes;
        return this;
    }

    @Override
    public RumpServerSocketChannelConfig setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        return this;
    }

    @Override
    public RumpServerSocketChannelConfig setConnectTimeoutMillis(int millis) {
        super.setConnectTimeoutMillis(millis);
        return this;
    }

    @Override
    @Deprecated
    public RumpServerSocketChannelConfig setMaxMessagesPerRead(int n) {
        super.setMaxMessagesPerRead(n);
        return this;
    }

    @Override
    public RumpServerSocketChannelConfig setWriteSpinCount(int n) {
        super.setWriteSpinCount(n);
        return this;
    }

    @Override
    public RumpServerSocketChannelConfig setAllocator(ByteBufAllocator allocator) {
        super.setAllocator(allocator);
        return this;
    }

    @Override
    public RumpServerSocketChannelConfig setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
        super.setRecvByteBufAllocator(allocator);
        return this;
    }

    @Override
    public RumpServerSocketChannelConfig setAutoRead(boolean autoRead) {
        super.setAutoRead(autoRead);
        return this;
    }

    @Override
    public RumpServerSocketChannelConfig setMessageSizeEstimator(MessageSizeEstimator estimator) {
        super.setMessageSizeEstimator(estimator);
        return this;
    }

    @Override
    @Deprecated
    public RumpServerSocketChannelConfig setWriteBufferHighWaterMark(int bytes) {
        super.setWriteBufferHighWaterMark(bytes);
        return this;
    }

    @Override
    @Deprecated
    public RumpServerSocketChannelConfig setWriteBufferLowWaterMark(int bytes) {
        super.setWriteBufferLowWaterMark(bytes);
        return this;
    }

    @Override
    public RumpServerSocketChannelConfig setWriteBufferWaterMark(WriteBufferWaterMark mark) {
        super.setWriteBufferWaterMark(mark);
        return this;
    }

    @Override
    protected void autoReadCleared() {
        ch.readInterest = false;
    }
}
