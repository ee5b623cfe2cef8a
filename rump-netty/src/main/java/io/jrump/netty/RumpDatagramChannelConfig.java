package io.jrump.netty;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.stack.Sockets;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DatagramChannelConfig;
import java.net.InetAddress;
import java.net.NetworkInterface;

/**
 * The options of a {@link RumpDatagramChannel}: SO_BROADCAST, SO_RCVBUF, SO_REUSEADDR mapped to the
 * stack's socket options; SO_SNDBUF, IP_TOS and the multicast options kept but without effect (the
 * stack sends each datagram at once, TOS 0, and has no multicast). Datagrams are read into
 * 2048-byte buffers by default, as Netty's NIO transport reads them. Thread-safe as Netty's configs.
 */
public final class RumpDatagramChannelConfig extends AbstractRumpChannelConfig implements DatagramChannelConfig {
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
    volatile boolean activeOnRegistration;

    @SuppressWarnings("deprecation") // DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION
    RumpDatagramChannelConfig(RumpDatagramChannel ch) {
        super(ch, new FixedRecvByteBufAllocator(2048));
        this.ch = ch;
        options.add(ChannelOption.SO_BROADCAST, this::isBroadcast, this::setBroadcast)
                .add(ChannelOption.SO_RCVBUF, this::getReceiveBufferSize, this::setReceiveBufferSize)
                .add(ChannelOption.SO_SNDBUF, this::getSendBufferSize, this::setSendBufferSize)
                .add(ChannelOption.SO_REUSEADDR, this::isReuseAddress, this::setReuseAddress)
                .add(ChannelOption.IP_MULTICAST_LOOP_DISABLED, this::isLoopbackModeDisabled,
                        this::setLoopbackModeDisabled)
                .add(ChannelOption.IP_MULTICAST_ADDR, this::getInterface, this::setInterface)
                .add(ChannelOption.IP_MULTICAST_IF, this::getNetworkInterface, this::setNetworkInterface)
                .add(ChannelOption.IP_MULTICAST_TTL, this::getTimeToLive, this::setTimeToLive)
                .add(ChannelOption.IP_TOS, this::getTrafficClass, this::setTrafficClass)
                // active once registered, bound or not, as NIO's option makes it
                .addUnlisted(ChannelOption.DATAGRAM_CHANNEL_ACTIVE_ON_REGISTRATION, () -> activeOnRegistration,
                        v -> activeOnRegistration = v);
    }

    @Override
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
        return socket.get(Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, receiveBuffer > 0 ? receiveBuffer * 2 : 212992);
    }

    @Override
    public RumpDatagramChannelConfig setReceiveBufferSize(int bytes) {
        receiveBuffer = bytes;
        socket.set(Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, bytes);
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
        socket.set(Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, on ? 1 : 0);
        return this;
    }

    @Override
    public boolean isBroadcast() {
        return broadcast;
    }

    @Override
    public RumpDatagramChannelConfig setBroadcast(boolean on) {
        broadcast = on;
        socket.set(Sockets.SOL_SOCKET, Sockets.SO_BROADCAST, on ? 1 : 0);
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
