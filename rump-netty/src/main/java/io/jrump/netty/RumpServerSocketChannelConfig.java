package io.jrump.netty;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.ServerSocketChannelConfig;
import io.netty.util.NetUtil;
import java.util.Map;

/**
 * The options of a {@link RumpServerSocketChannel}: SO_BACKLOG, SO_REUSEADDR, SO_RCVBUF (which
 * accepted connections start with) and {@link RumpChannelOption#STACK}; kept until the socket is
 * opened. Thread-safe as Netty's configs.
 */
public final class RumpServerSocketChannelConfig extends DefaultChannelConfig implements ServerSocketChannelConfig {
    private final RumpServerSocketChannel ch;
    private volatile int backlog = NetUtil.SOMAXCONN;
    private volatile boolean reuseAddress;
    private volatile int receiveBuffer = -1;
    volatile NetStack stack;

    RumpServerSocketChannelConfig(RumpServerSocketChannel ch) {
        super(ch);
        this.ch = ch;
    }

    void apply(Sockets s, int fd) throws ErrnoException {
        if (reuseAddress) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, 1);
        }
        if (receiveBuffer > 0) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, receiveBuffer);
        }
    }

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), ChannelOption.SO_RCVBUF, ChannelOption.SO_REUSEADDR,
                ChannelOption.SO_BACKLOG);
    }

    @SuppressWarnings("unchecked")
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        if (option == ChannelOption.SO_RCVBUF) {
            return (T) Integer.valueOf(getReceiveBufferSize());
        }
        if (option == ChannelOption.SO_REUSEADDR) {
            return (T) Boolean.valueOf(isReuseAddress());
        }
        if (option == ChannelOption.SO_BACKLOG) {
            return (T) Integer.valueOf(getBacklog());
        }
        if (option == RumpChannelOption.STACK) {
            return (T) stack;
        }
        return super.getOption(option);
    }

    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (option == ChannelOption.SO_RCVBUF) {
            setReceiveBufferSize((Integer) value);
        } else if (option == ChannelOption.SO_REUSEADDR) {
            setReuseAddress((Boolean) value);
        } else if (option == ChannelOption.SO_BACKLOG) {
            setBacklog((Integer) value);
        } else if (option == RumpChannelOption.STACK) {
            stack = (NetStack) value;
        } else {
            return super.setOption(option, value);
        }
        return true;
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
        if (ch.fd >= 0) {
            try {
                ch.sockets.setsockopt(ch.fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, on ? 1 : 0);
            } catch (ErrnoException e) {
                throw new io.netty.channel.ChannelException(e);
            }
        }
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
