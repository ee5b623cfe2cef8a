package io.jrump.net.stack;

import static io.jrump.net.wire.TcpSegment.ACK;
import static io.jrump.net.wire.TcpSegment.FIN;
import static io.jrump.net.wire.TcpSegment.RST;
import static io.jrump.net.wire.TcpSegment.SYN;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOffload;
import io.jrump.kernel.Callout;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.IpAddress;
import io.jrump.net.socket.PortTable;
import io.jrump.net.socket.Readiness;
import io.jrump.net.tcp.CongestionControls;
import io.jrump.net.tcp.IsnGenerator;
import io.jrump.net.tcp.SynCookies;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.IpRepr;
import io.jrump.net.wire.TcpRepr;
import io.jrump.net.wire.TcpSegment;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * TCP's demultiplexing: connections by their four-tuple, listeners by address and port, ports
 * for active opens, initial sequence numbers per RFC 6528, SYN cookies (RFC 4987) when a
 * listener's queue is full, and resets for segments nobody wants (RFC 9293 3.10.7.1). The stack-wide
 * switches mirror Linux's sysctls {@code net.ipv4.tcp_sack}, {@code tcp_timestamps} and
 * {@code tcp_syncookies}. Runs on the event loop.
 */
final class Tcp {
    private record Key(IpAddress local, int localPort, IpAddress remote, int remotePort) {
    }

    private final NetStack stack;
    private final RumpKernel kernel;
    final PortTable<Object> ports;
    private final Map<Key, TcpConnection> connections = new HashMap<>();
    /** How many connections use each local port: a closed socket's TIME_WAIT still holds its port. */
    private final Map<Integer, Integer> connectionsByLocalPort = new HashMap<>();
    /** Listeners by port: more than one where their addresses do not overlap (an IPv4 and a V6ONLY one). */
    private final Map<Integer, List<TcpListener>> listeners = new HashMap<>();
    private final IsnGenerator isn;
    // Counted for every segment: held, not looked up by name each time.
    private final AtomicLong segmentsIn;
    private final AtomicLong segmentsOut;
    final AtomicLong dataSegmentsOut;
    private final SynCookies cookies;
    boolean sackEnabled = true;
    boolean timestampsEnabled = true;
    boolean synCookiesEnabled = true;
    /** net.ipv4.tcp_congestion_control: the algorithm of connections whose socket did not choose one. */
    String defaultCongestion = CongestionControls.CUBIC;

    Tcp(NetStack stack, RumpKernel kernel) {
        this.stack = stack;
        this.kernel = kernel;
        this.ports = new PortTable<>(() -> (int) stack.host().random().nextLong());
        byte[] secret = new byte[16];
        stack.host().random().nextBytes(secret);
        this.isn = new IsnGenerator(secret);
        byte[] cookieSecret = new byte[16];
        stack.host().random().nextBytes(cookieSecret);
        this.cookies = new SynCookies(cookieSecret);
        this.segmentsIn = stack.statsCounter().counter("tcp.in");
        this.segmentsOut = stack.statsCounter().counter("tcp.out");
        this.dataSegmentsOut = stack.statsCounter().counter("tcp.out.data");
    }

    /** The congestion control a socket with {@code options} uses: its TCP_CONGESTION, else the stack's default. */
    String congestionFor(TcpSocketOptions options) {
        return options.congestion != null ? options.congestion : defaultCongestion;
    }

    int randomInt() {
        return (int) stack.host().random().nextLong();
    }

    void add(String name, long n) {
        stack.statsCounter().add(name, n);
    }

    Callout newCallout(String name) {
        return kernel.newCallout(name);
    }

    long now() {
        return stack.now();
    }

    void count(String name) {
        stack.statsCounter().count(name);
    }

    /**
     * The MSS to offer toward {@code remote}: the path MTU less the IP and TCP headers (40 bytes
     * for IPv4, 60 for IPv6; RFC 9293 §3.7.1, RFC 8200 §8.3).
     */
    int mssFor(IpAddress remote) {
        int headers = remote.version() == 6 ? 60 : 40;
        try {
            return Math.max(64, Math.min(65535 - headers, stack.pathMtu(remote) - headers));
        } catch (ErrnoException e) {
            return remote.version() == 6 ? 1220 : 536;
        }
    }

    int connectionCount() {
        return connections.size();
    }

    /** Every connection, ordered by local then remote port. */
    List<TcpInfo> connectionInfo() {
        List<TcpInfo> out = new ArrayList<>();
        for (TcpConnection c : connections.values()) {
            out.add(TcpInfo.of(c));
        }
        out.sort(Comparator.comparingInt(TcpInfo::localPort).thenComparingInt(TcpInfo::remotePort));
        return out;
    }

    // ---- opening ---------------------------------------------------------------------------------

    TcpListener listen(IpAddress address, boolean v6Only, int port, int backlog, TcpSocketOptions options)
            throws ErrnoException {
        List<TcpListener> onPort = listeners.computeIfAbsent(port, p -> new ArrayList<>(1));
        for (TcpListener o : onPort) {
            if (o.reaches(address) || PortTable.covers(address, v6Only, o.address)) {
                throw new ErrnoException(Errno.EADDRINUSE, "port " + port + " is already listening");
            }
        }
        TcpListener l = new TcpListener(address, v6Only, port, backlog, options);
        onPort.add(l);
        return l;
    }

    /** The listener a segment to {@code destination:port} reaches: its own address before a wildcard. */
    private TcpListener listener(IpAddress destination, int port) {
        List<TcpListener> onPort = listeners.get(port);
        if (onPort == null) {
            return null;
        }
        TcpListener best = null;
        for (TcpListener l : onPort) {
            if (l.address.equals(destination)) {
                return l;
            }
            if (l.reaches(destination) && (best == null || l.address.version() == destination.version())) {
                best = l;
            }
        }
        return best;
    }

    void closeListener(TcpListener l) {
        List<TcpListener> onPort = listeners.get(l.port);
        if (onPort != null && onPort.remove(l) && onPort.isEmpty()) {
            listeners.remove(l.port);
        }
        l.closed = true;
        for (TcpConnection c : l.acceptQueue) {
            c.abort();
        }
        l.acceptQueue.clear();
        l.readiness.add(Readiness.POLLHUP);
    }

    private void add(Key key, TcpConnection c) {
        connections.put(key, c);
        connectionsByLocalPort.merge(key.localPort(), 1, Integer::sum);
    }

    /**
     * Whether a connection, in any state, uses {@code port} locally: bind(2) and listen(2) pick an
     * ephemeral port no connection uses, as Linux keeps a TIME_WAIT socket's port bound.
     */
    boolean usesLocalPort(int port) {
        return connectionsByLocalPort.containsKey(port);
    }

    /** Whether a connection (in any state, TIME_WAIT too) holds this four-tuple. */
    boolean holds(IpAddress source, int localPort, IpAddress remote, int remotePort) {
        return connections.containsKey(new Key(source, localPort, remote, remotePort));
    }

    /** The source address a connection from {@code local} (maybe the wildcard) to {@code remote} uses. */
    IpAddress source(IpAddress local, IpAddress remote) throws ErrnoException {
        if (!local.isUnspecified()) {
            if (local.version() != remote.version()) {
                throw new ErrnoException(Errno.EINVAL, "a socket bound to " + local + " cannot reach " + remote);
            }
            return local;
        }
        return stack.sourceFor(remote);
    }

    /** An active open from {@code local:localPort} (the port already bound) to {@code remote:remotePort}. */
    TcpConnection connect(IpAddress local, int localPort, IpAddress remote, int remotePort,
            TcpSocketOptions options) throws ErrnoException {
        IpAddress from = source(local, remote);
        Key key = new Key(from, localPort, remote, remotePort);
        if (connections.containsKey(key)) {
            throw new ErrnoException(Errno.EADDRINUSE, from + ":" + localPort + " > " + remote + ":" + remotePort);
        }
        TcpConnection c = new TcpConnection(this, from, localPort, remote, remotePort, options);
        add(key, c);
        c.connect(isn.isn(from, localPort, remote, remotePort, now()));
        count("tcp.active_opens");
        return c;
    }

    /** A connection reached ESTABLISHED; a passive one goes to its listener's accept queue. */
    void established(TcpConnection c) {
        TcpListener l = c.listener;
        if (l != null) {
            if (c.listenerCounted) {
                l.embryonic--;
                c.listenerCounted = false;
            }
            if (l.closed) {
                c.abort();
                return;
            }
            l.acceptQueue.add(c);
            l.readiness.add(Readiness.POLLIN);
        }
    }

    void forget(TcpConnection c) {
        if (connections.remove(new Key(c.localAddress, c.localPort, c.remoteAddress, c.remotePort)) != null) {
            connectionsByLocalPort.computeIfPresent(c.localPort, (port, n) -> n == 1 ? null : n - 1);
        }
        if (c.listener != null && c.listenerCounted) {
            c.listener.embryonic--;
            c.listenerCounted = false;
        }
    }

    // ---- input -----------------------------------------------------------------------------------

    /**
     * A segment at {@code [index, index + length)} of {@code buf}; {@code checksumTrusted} when
     * the NIC verified its checksum or left it partial.
     */
    void input(IpRepr ip, ByteBuf buf, int index, int length, boolean checksumTrusted) {
        TcpRepr seg;
        try {
            seg = TcpRepr.parse(TcpSegment.parse(buf, index, length), ip.source(), ip.destination(), !checksumTrusted);
        } catch (ErrnoException e) {
            count("tcp.drop.malformed");
            return;
        }
        segmentsIn.incrementAndGet();
        if (ip.destination().isBroadcast() || ip.destination().isMulticast()) {
            count("tcp.drop.broadcast");
            return;
        }
        TcpConnection c = connections.get(new Key(ip.destination(), seg.destinationPort(), ip.source(), seg.sourcePort()));
        if (c != null) {
            c.input(seg);
            return;
        }
        TcpListener l = listener(ip.destination(), seg.destinationPort());
        if (l != null && seg.hasFlags(SYN) && !seg.hasFlags(ACK) && !seg.hasFlags(RST)) {
            if (l.full()) {
                if (synCookiesEnabled) {
                    sendCookie(ip, seg, l);
                } else {
                    count("tcp.drop.listen_queue_full"); // the peer will retry its SYN
                }
                return;
            }
            TcpConnection n = new TcpConnection(this, ip.destination(), seg.destinationPort(), ip.source(),
                    seg.sourcePort(), l.options);
            n.listener = l;
            n.listenerCounted = true;
            l.embryonic++;
            add(new Key(ip.destination(), seg.destinationPort(), ip.source(), seg.sourcePort()), n);
            count("tcp.passive_opens");
            n.acceptSyn(seg, isn.isn(ip.destination(), seg.destinationPort(), ip.source(), seg.sourcePort(), now()));
            return;
        }
        if (l != null && synCookiesEnabled && !l.closed
                && seg.hasFlags(ACK) && !seg.hasFlags(SYN) && !seg.hasFlags(RST) && acceptCookie(ip, seg, l)) {
            return;
        }
        count("tcp.drop.no_socket");
        if (!seg.hasFlags(RST)) {
            // RFC 9293: a reset for a segment to no connection.
            if (seg.hasFlags(ACK)) {
                reset(ip.destination(), seg.destinationPort(), ip.source(), seg.sourcePort(), seg.acknowledgmentNumber(), 0,
                        false);
            } else {
                int len = seg.payload().readableBytes() + (seg.hasFlags(SYN) ? 1 : 0) + (seg.hasFlags(FIN) ? 1 : 0);
                reset(ip.destination(), seg.destinationPort(), ip.source(), seg.sourcePort(), 0,
                        seg.sequenceNumber() + len, true);
            }
        }
    }

    /**
     * RFC 4987 3.6: a SYN-ACK whose ISN is the cookie, and nothing kept. Options other than the MSS
     * (window scale, SACK, timestamps) are not offered: the cookie has no room for them.
     */
    private void sendCookie(IpRepr ip, TcpRepr syn, TcpListener l) {
        int peerMss = syn.maxSegmentSize() > 0 ? syn.maxSegmentSize() : 536;
        int cookie = cookies.encode(ip.destination(), syn.destinationPort(), ip.source(), syn.sourcePort(),
                syn.sequenceNumber(), Math.min(peerMss, mssFor(ip.source())), now());
        count("tcp.syncookies.sent");
        send(ip.destination(), ip.source(), new TcpRepr(syn.destinationPort(), syn.sourcePort(), cookie,
                syn.sequenceNumber() + 1, SYN | ACK, cookieWindow(l.options), 0, mssFor(ip.source()),
                -1, false, null, List.of(), Unpooled.EMPTY_BUFFER), 0);
    }

    /** The window a cookie's SYN-ACK offers (unscaled: the cookie keeps no window scale). */
    static int cookieWindow(TcpSocketOptions options) {
        return Math.min(65535, options.receiveBuffer);
    }

    /** An ACK for a listener: if it returns a valid cookie, the connection is made, established. */
    private boolean acceptCookie(IpRepr ip, TcpRepr seg, TcpListener l) {
        OptionalInt mss = cookies.check(ip.destination(), seg.destinationPort(), ip.source(), seg.sourcePort(),
                seg.sequenceNumber(), seg.acknowledgmentNumber(), now());
        if (mss.isEmpty()) {
            count("tcp.syncookies.failed");
            return false;
        }
        if (l.acceptQueue.size() >= TcpListener.SOMAXCONN) {
            count("tcp.drop.accept_queue_full");
            return true; // dropped: the peer's retransmission may find room
        }
        TcpConnection n = new TcpConnection(this, ip.destination(), seg.destinationPort(), ip.source(),
                seg.sourcePort(), l.options);
        n.listener = l;
        add(new Key(ip.destination(), seg.destinationPort(), ip.source(), seg.sourcePort()), n);
        count("tcp.syncookies.ok");
        count("tcp.passive_opens");
        n.acceptCookie(seg, mss.getAsInt());
        return true;
    }

    // ---- output ----------------------------------------------------------------------------------

    /**
     * The most payload one segment toward {@code remote} may carry: {@code mss}, or, when the
     * outgoing interface segments TCP for us (TSO), the largest multiple of {@code mss} that fits
     * an IPv4 packet with the longest TCP header.
     */
    int segmentLimit(IpAddress remote, int mss) {
        boolean v6 = remote.version() == 6;
        Set<NicOffload> offloads = stack.txOffloads(remote);
        boolean tso = offloads.contains(NicOffload.TX_CHECKSUM)
                && offloads.contains(v6 ? NicOffload.TX_TCP6_SEGMENTATION : NicOffload.TX_TCP4_SEGMENTATION);
        if (!tso) {
            return mss;
        }
        return Math.max(mss, (v6 ? TSO6_MAX_PAYLOAD : TSO_MAX_PAYLOAD) / mss * mss);
    }

    /** 65,535 IP bytes less a 20-byte IP header and a TCP header with 40 bytes of options. */
    static final int TSO_MAX_PAYLOAD = 65535 - 20 - 60;
    /** 65,535 bytes of IPv6 payload (the fixed header is not counted) less a TCP header with 40 bytes of options. */
    static final int TSO6_MAX_PAYLOAD = 65535 - 60;

    /**
     * Where segments and socket queues get their memory: Netty's pooled allocator, so that a
     * steady transfer reuses the same few buffers. Every buffer taken goes back (the NIC path
     * releases a frame once the host has taken its bytes; connections release their queues).
     */
    ByteBufAllocator alloc() {
        return PooledByteBufAllocator.DEFAULT;
    }

    /** The kernel stops: every connection fails with ENETDOWN and gives its queues back to the pool. */
    void haltAll() {
        for (TcpConnection c : new ArrayList<>(connections.values())) {
            c.halt();
        }
    }

    /** The connection {@code local:localPort > remote:remotePort}, if any, learns the peer is unreachable. */
    void unreachable(IpAddress local, int localPort, IpAddress remote, int remotePort, Errno errno) {
        TcpConnection c = connections.get(new Key(local, localPort, remote, remotePort));
        if (c != null) {
            c.unreachable(errno);
        }
    }

    /** The path MTU toward {@code remote} went down: its connections send smaller segments. */
    void pathMtuLowered(IpAddress remote, int mtu) {
        for (TcpConnection c : connections.values()) {
            if (c.remoteAddress.equals(remote)) {
                c.pathMtuLowered(mtu);
            }
        }
    }

    void output(TcpConnection c, TcpRepr seg) {
        send(c.localAddress, c.remoteAddress, seg, 0);
    }

    /** A segment whose payload may exceed the MSS, to be cut by the NIC into {@code mss}-byte ones. */
    void output(TcpConnection c, TcpRepr seg, int mss) {
        send(c.localAddress, c.remoteAddress, seg, seg.payload().readableBytes() > mss ? mss : 0);
    }

    /**
     * Emits and sends a segment: with a partial checksum when the outgoing NIC completes it, and
     * with {@code segmentSize > 0} as one large segment for the NIC to cut (TSO).
     */
    private void send(IpAddress from, IpAddress to, TcpRepr seg, int segmentSize) {
        boolean offload = stack.txOffloads(to).contains(NicOffload.TX_CHECKSUM);
        ByteBuf b = alloc().directBuffer(NetStack.HEADROOM + seg.bufferLength());
        seg.emit(b, NetStack.HEADROOM, from, to, offload);
        b.setIndex(NetStack.HEADROOM, NetStack.HEADROOM + seg.bufferLength());
        segmentsOut.incrementAndGet();
        stack.ipOut(from, to, IpProtocol.TCP, b, NetStack.DEFAULT_TTL,
                offload ? new NetStack.L4Offload(TcpSegment.CHECKSUM, segmentSize, seg.headerLength()) : null);
    }

    void sendReset(TcpConnection c, int seq, int ack, boolean withAck) {
        reset(c.localAddress, c.localPort, c.remoteAddress, c.remotePort, seq, ack, withAck);
    }

    private void reset(IpAddress from, int fromPort, IpAddress to, int toPort, int seq, int ack, boolean withAck) {
        count("tcp.out.reset");
        send(from, to, TcpRepr.of(fromPort, toPort, seq, withAck ? ack : 0, RST | (withAck ? ACK : 0), 0,
                Unpooled.EMPTY_BUFFER), 0);
    }
}
