package io.jrump.netty;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DatagramChannelConfig;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.util.Map;

/**
 * The options of a {@link RumpDatagramChannel}: SO_BROADCAST, SO_RCVBUF, SO_REUSEADDR mapped to the
 * stack's socket options; SO_SNDBUF, IP_TOS and the multicast options kept but without effect (the
 * stack sends each datagram at once, TOS 0, and has no multicast). Datagrams are read into
 * 2048-byte buffers by default, as Netty's NIO transport reads them. Thread-safe as Netty's configs.
 */
public final class RumpDatagramChannelConfig extends DefaultChannelConfig implements DatagramChannelConfig {
    private final RumpDatagramChannel ch;
    private volatile boolean broadcast;
    private volatile boolean reuseAddress;
    private volatile int receiveBuffer = -1;
    private volatile int sendBuffer = -1;
    private volatile int trafficClass;
    private volatile int ttl = 64;
    private volatile boolean loopbackModeDisabled;
    private volatile InetAddress multicastInterface;
    private volatile NetworkInterface networkInterface;
    volatile NetStack stack;
    volatile boolean activeOnRegistration;

    RumpDatagramChannelConfig(RumpDatagramChannel ch) {
        super(ch, new FixedRecvByteBufAllocator(2048));
        this.ch = ch;
    }

    void apply(Sockets s, int fd) throws ErrnoException {
        if (broadcast) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_BROADCAST, 1);
        }
        if (reuseAddress) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, 1);
        }
        if (receiveBuffer > 0) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, receiveBuffer);
        }
    }

    private void set(int option, int value) {
        if (ch.fd >= 0) {
            try {
                ch.sockets.setsockopt(ch.fd, Sockets.SOL_SOCKET, option, value);
            } catch (ErrnoException e) {
                throw new ChannelException(e);
            }
        }
    }

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), ChannelOption.SO_BROADCAST, ChannelOption.SO_RCVBUF,
                ChannelOption.SO_SNDBUF, ChannelOption.SO_REUSEADDR, ChannelOption.IP_MULTICAST_LOOP_DISABLED,
                ChannelOption.IP_MULTICAST_ADDR, ChannelOption.IP_MULTICAST_IF, ChannelOption.IP_MULTICAST_TTL,
                ChannelOption.IP_TOS);
    }

    @SuppressWarnings({"unchecked", "deprecation"})
    @Override
    public <T> T getOption(ChannelOption<T> option) {
        if (option == ChannelOption.SO_BROADCAST) {
            return (T) Boolean.valueOf(isBroadcast());
        }
        if (option == ChannelOption.SO_RCVBUF) {
            return (T) Integer.valueOf(getReceiveBufferSize());
        }
        if (option == ChannelOption.SO_SNDBUF) {
            return (T) Integer.valueOf(getSendBufferSize());
        }
        if (option == ChannelOption.SO_REUSEADDR) {
            return (T) Boolean.valueOf(isReuseAddress());
        }
        if (option == ChannelOption.IP_MULTICAST_LOOP_DISABLED) {
            return (T) Boolean.valueOf(isLoopbackModeDisabled());
        }
        if (option == ChannelOption.IP_MULTICAST_ADDR) {
            return (T) getInterface();
        }
        if (option == ChannelOption.IP_MULTICAST_IF) {
            return (T) getNetworkInterface();
        }
        if (option == ChannelOption.IP_MULTICAST_TTL) {
            return (T) Integer.valueOf(getTimeToLive());
        }
        if (option == ChannelOption.IP_TOS) {
            return (T) Integer.valueOf(getTrafficClass());
        }
        if (option == RumpChannelOption.STACK) {
            return (T) stack;
        }
        if (option == ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION) {
            return (T) Boolean.valueOf(activeOnRegistration);
        }
        return super.getOption(option);
    }

    @SuppressWarnings("deprecation")
    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        if (option == ChannelOption.SO_BROADCAST) {
            setBroadcast((Boolean) value);
        } else if (option == ChannelOption.SO_RCVBUF) {
            setReceiveBufferSize((Integer) value);
        } else if (option == ChannelOption.SO_SNDBUF) {
            setSendBufferSize((Integer) value);
        } else if (option == ChannelOption.SO_REUSEADDR) {
            setReuseAddress((Boolean) value);
        } else if (option == ChannelOption.IP_MULTICAST_LOOP_DISABLED) {
            setLoopbackModeDisabled((Boolean) value);
        } else if (option == ChannelOption.IP_MULTICAST_ADDR) {
            setInterface((InetAddress) value);
        } else if (option == ChannelOption.IP_MULTICAST_IF) {
            setNetworkInterface((NetworkInterface) value);
        } else if (option == ChannelOption.IP_MULTICAST_TTL) {
            setTimeToLive((Integer) value);
        } else if (option == ChannelOption.IP_TOS) {
            setTrafficClass((Integer) value);
        } else if (option == RumpChannelOption.STACK) {
            stack = (NetStack) value;
        } else if (option == ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION) {
            activeOnRegistration = (Boolean) value; // active once registered, bound or not, as NIO's option makes it
        } else {
            return super.setOption(option, value);
        }
        return true;
    }

    @Override
    public int getSendBufferSize() {
        return sendBuffer > 0 ? sendBuffer : 212992;
    }

    @Override
    public RumpDatagramChannelConfig setSendBufferSize(int bytes) {
        sendBuffer = bytes;
        return this;
    }

    @Override
    public int getReceiveBufferSize() {
        if (ch.fd >= 0) {
            try {
                return ch.sockets.getsockopt(ch.fd, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF);
            } catch (ErrnoException e) {
                throw new ChannelException(e);
            }
        }
        return receiveBuffer > 0 ? receiveBuffer * 2 : 212992;
    }

    @Override
    public RumpDatagramChannelConfig setReceiveBufferSize(int bytes) {
        receiveBuffer = bytes;
        set(Sockets.SO_RCVBUF, bytes);
        return this;
    }

    @Override
    public int getTrafficClass() {
        return trafficClass;
    }

    @Override
    public RumpDatagramChannelConfig setTrafficClass(int tos) {
        trafficClass = tos;
        return this;
    }

    @Override
    public boolean isReuseAddress() {
        return reuseAddress;
    }

    @Override
    public RumpDatagramChannelConfig setReuseAddress(boolean on) {
        reuseAddress = on;
        set(Sockets.SO_REUSEADDR, on ? 1 : 0);
        return this;
    }

    @Override
    public boolean isBroadcast() {
        return broadcast;
    }

    @Override
    public RumpDatagramChannelConfig setBroadcast(boolean on) {
        broadcast = on;
        set(Sockets.SO_BROADCAST, on ? 1 : 0);
        return this;
    }

    @Override
    public boolean isLoopbackModeDisabled() {
        return loopbackModeDisabled;
    }

    @Override
    public RumpDatagramChannelConfig setLoopbackModeDisabled(boolean disabled) {
        loopbackModeDisabled = disabled;
        return this;
    }

    @Override
    public int getTimeToLive() {
        return ttl;
    }

    @Override
    public RumpDatagramChannelConfig setTimeToLive(int ttl) {
        this.ttl = ttl;
        return this;
    }

    @Override
    public InetAddress getInterface() {
        return multicastInterface;
    }

    @Override
    public RumpDatagramChannelConfig setInterface(InetAddress address) {
        multicastInterface = address;
        return this;
    }

    @Override
    public NetworkInterface getNetworkInterface() {
        return networkInterface;
    }

    @Override
    public RumpDatagramChannelConfig setNetworkInterface(NetworkInterface nic) {
        networkInterface = nic;
        return this;
    }

    @Override
    @Deprecated
    public RumpDatagramChannelConfig setMaxMessagesPerRead(int n) {
        super.setMaxMessagesPerRead(n);
        return this;
    }

    @Override
    public RumpDatagramChannelConfig setWriteSpinCount(int n) {
        super.setWriteSpinCount(n);
        return this;
    }

    @Override
    public RumpDatagramChannelConfig setConnectTimeoutMillis(int millis) {
        super.setConnectTimeoutMillis(millis);
        return this;
    }

    @Override
    public RumpDatagramChannelConfig setAllocator(ByteBufAllocator allocator) {
        super.setAllocator(allocator);
        return this;
    }

    @Override
    public RumpDatagramChannelConfig setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
        super.setRecvByteBufAllocator(allocator);
        return this;
    }

    @Override
    public RumpDatagramChannelConfig setAutoRead(boolean autoRead) {
        super.setAutoRead(autoRead);
        return this;
    }

    @Override
    public RumpDatagramChannelConfig setAutoClose(boolean autoClose) {
        super.setAutoClose(autoClose);
        return this;
    }

    @Override
    public RumpDatagramChannelConfig setMessageSizeEstimator(MessageSizeEstimator estimator) {
        super.setMessageSizeEstimator(estimator);
        return this;
    }

    @Override
    public RumpDatagramChannelConfig setWriteBufferWaterMark(WriteBufferWaterMark mark) {
        super.setWriteBufferWaterMark(mark);
        return this;
    }

    @Override
    protected void autoReadCleared() {
        ch.readInterest = false;
    }
}
