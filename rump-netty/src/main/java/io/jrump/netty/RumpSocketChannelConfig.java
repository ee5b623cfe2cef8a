package io.jrump.netty;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.stack.Sockets;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannelConfig;

/**
 * The options of a {@link RumpSocketChannel}, mapped to the stack's socket options: SO_RCVBUF,
 * SO_SNDBUF, TCP_NODELAY (on by default, as Netty's NIO transport sets it), SO_KEEPALIVE,
 * SO_LINGER, SO_REUSEADDR; ALLOW_HALF_CLOSURE and Netty's own (AUTO_READ, the write-buffer water
 * marks, CONNECT_TIMEOUT_MILLIS, the allocator). Set before the socket exists, they are kept and
 * applied when it is opened. IP_TOS is kept but not sent (the stack sends TOS 0). Thread-safe as
 * Netty's configs: a setter from another thread runs its socket call on the loop.
 */
public final class RumpSocketChannelConfig extends AbstractRumpChannelConfig implements SocketChannelConfig {
    private final RumpSocketChannel ch;
    private volatile boolean tcpNoDelay = true;
    private volatile boolean keepAlive;
    private volatile boolean reuseAddress;
    private volatile int soLinger = -1;
    private volatile int sendBuffer = -1;
    private volatile int receiveBuffer = -1;
    private volatile int trafficClass;
    private volatile boolean allowHalfClosure;

    RumpSocketChannelConfig(RumpSocketChannel ch) {
        super(ch);
        this.ch = ch;
        options.add(ChannelOption.SO_RCVBUF, this::getReceiveBufferSize, this::setReceiveBufferSize)
                .add(ChannelOption.SO_SNDBUF, this::getSendBufferSize, this::setSendBufferSize)
                .add(ChannelOption.TCP_NODELAY, this::isTcpNoDelay, this::setTcpNoDelay)
                .add(ChannelOption.SO_KEEPALIVE, this::isKeepAlive, this::setKeepAlive)
                .add(ChannelOption.SO_REUSEADDR, this::isReuseAddress, this::setReuseAddress)
                .add(ChannelOption.SO_LINGER, this::getSoLinger, this::setSoLinger)
                .add(ChannelOption.IP_TOS, this::getTrafficClass, this::setTrafficClass)
                .add(ChannelOption.ALLOW_HALF_CLOSURE, this::isAllowHalfClosure, this::setAllowHalfClosure);
    }

    @Override
    void apply(Sockets s, int fd) throws ErrnoException {
        s.setsockopt(fd, Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, tcpNoDelay ? 1 : 0);
        if (keepAlive) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_KEEPALIVE, 1);
        }
        if (reuseAddress) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, 1);
        }
        if (soLinger >= 0) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_LINGER, soLinger);
        }
        if (sendBuffer > 0) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, sendBuffer);
        }
        if (receiveBuffer > 0) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, receiveBuffer);
        }
    }

    @Override
    public boolean isTcpNoDelay() {
        return socket.getOr(Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, tcpNoDelay ? 1 : 0) != 0;
    }

    @Override
    public RumpSocketChannelConfig setTcpNoDelay(boolean on) {
        tcpNoDelay = on;
        socket.set(Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, on ? 1 : 0);
        return this;
    }

    @Override
    public int getSoLinger() {
        return socket.getOr(Sockets.SOL_SOCKET, Sockets.SO_LINGER, soLinger);
    }

    @Override
    public RumpSocketChannelConfig setSoLinger(int seconds) {
        soLinger = seconds < 0 ? -1 : seconds;
        socket.set(Sockets.SOL_SOCKET, Sockets.SO_LINGER, soLinger);
        return this;
    }

    @Override
    public int getSendBufferSize() {
        return socket.getOr(Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, sendBuffer > 0 ? sendBuffer * 2 : 16384);
    }

    @Override
    public RumpSocketChannelConfig setSendBufferSize(int bytes) {
        sendBuffer = bytes;
        socket.set(Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, bytes);
        return this;
    }

    @Override
    public int getReceiveBufferSize() {
        return socket.getOr(Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, receiveBuffer > 0 ? receiveBuffer * 2 : 131072);
    }

    @Override
    public RumpSocketChannelConfig setReceiveBufferSize(int bytes) {
        receiveBuffer = bytes;
        socket.set(Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, bytes);
        return this;
    }

    @Override
    public boolean isKeepAlive() {
        return socket.getOr(Sockets.SOL_SOCKET, Sockets.SO_KEEPALIVE, keepAlive ? 1 : 0) != 0;
    }

    @Override
    public RumpSocketChannelConfig setKeepAlive(boolean on) {
        keepAlive = on;
        socket.set(Sockets.SOL_SOCKET, Sockets.SO_KEEPALIVE, on ? 1 : 0);
        return this;
    }

    @Override
    public int getTrafficClass() {
        return trafficClass;
    }

    @Override
    public RumpSocketChannelConfig setTrafficClass(int tos) {
        trafficClass = tos;
        return this;
    }

    @Override
    public boolean isReuseAddress() {
        return socket.getOr(Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, reuseAddress ? 1 : 0) != 0;
    }

    @Override
    public RumpSocketChannelConfig setReuseAddress(boolean on) {
        reuseAddress = on;
        socket.set(Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, on ? 1 : 0);
        return this;
    }

    @Override
    public RumpSocketChannelConfig setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
        return this;
    }

    @Override
    public boolean isAllowHalfClosure() {
        return allowHalfClosure;
    }

    @Override
    public RumpSocketChannelConfig setAllowHalfClosure(boolean on) {
        allowHalfClosure = on;
        return this;
    }

    @Override
    public RumpSocketChannelConfig setConnectTimeoutMillis(int millis) {
        super.setConnectTimeoutMillis(millis);
        return this;
    }

    @Override
    @Deprecated
    public RumpSocketChannelConfig setMaxMessagesPerRead(int n) {
        super.setMaxMessagesPerRead(n);
        return this;
    }

    @Override
    public RumpSocketChannelConfig setWriteSpinCount(int n) {
        super.setWriteSpinCount(n);
        return this;
    }

    @Override
    public RumpSocketChannelConfig setAllocator(ByteBufAllocator allocator) {
        super.setAllocator(allocator);
        return this;
    }

    @Override
    public RumpSocketChannelConfig setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
        super.setRecvByteBufAllocator(allocator);
        return this;
    }

    @Override
    public RumpSocketChannelConfig setAutoRead(boolean autoRead) {
        super.setAutoRead(autoRead);
        return this;
    }

    @Override
    public RumpSocketChannelConfig setAutoClose(boolean autoClose) {
        super.setAutoClose(autoClose);
        return this;
    }

    @Override
    public RumpSocketChannelConfig setMessageSizeEstimator(MessageSizeEstimator estimator) {
        super.setMessageSizeEstimator(estimator);
        return this;
    }

    @Override
    public RumpSocketChannelConfig setWriteBufferWaterMark(WriteBufferWaterMark mark) {
        super.setWriteBufferWaterMark(mark);
        return this;
    }

    @Override
    @Deprecated
    public RumpSocketChannelConfig setWriteBufferHighWaterMark(int bytes) {
        super.setWriteBufferHighWaterMark(bytes);
        return this;
    }

    @Override
    @Deprecated
    public RumpSocketChannelConfig setWriteBufferLowWaterMark(int bytes) {
        super.setWriteBufferLowWaterMark(bytes);
        return this;
    }

    @Override
    protected void autoReadCleared() {
        ch.clearReadInterest();
    }
}
