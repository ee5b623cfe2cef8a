package io.jrump.net.stack;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.DescriptorTable;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.socket.LoopCalls;
import io.jrump.net.socket.Readiness;
import io.jrump.net.tcp.CongestionControls;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * The BSD socket API of one stack, with the kernel's names, constants and errno values:
 * {@code socket}, {@code bind}, {@code connect}, {@code sendto}/{@code send},
 * {@code recvfrom}/{@code recv}, {@code poll}, {@code getsockopt}/{@code setsockopt},
 * {@code getsockname}/{@code getpeername}, {@code close}. Descriptors are small ints, the lowest
 * free first. Calls may come from any thread; each runs on the stack's event loop, and a blocking
 * call waits there without holding it (on the simulation host the wait runs the simulation).
 *
 * <p>TCP ({@code SOCK_STREAM}: listen, accept, connect, send, recv, shutdown), UDP, and ICMP
 * echo ("ping") sockets as Linux has them ({@code socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)},
 * {@code socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6)}), in both families. An {@code AF_INET6}
 * socket is dual-stack unless {@code IPV6_V6ONLY} is set before bind: it reaches and is reached
 * by IPv4 peers, which it names by IPv4-mapped addresses ({@code ::ffff:198.18.0.2}), as Linux
 * with {@code net.ipv6.bindv6only=0}.
 */
public final class Sockets implements DescriptorTable.Owner {
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int IPPROTO_ICMP = 1;
    public static final int IPPROTO_TCP = 6;
    public static final int IPPROTO_UDP = 17;
    public static final int IPPROTO_IPV6 = 41;
    public static final int IPPROTO_ICMPV6 = 58;
    /** At IPPROTO_IPV6: 1 for an AF_INET6 socket that takes no IPv4; set before bind. */
    public static final int IPV6_V6ONLY = 26;
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_BROADCAST = 6;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_KEEPALIVE = 9;
    public static final int SO_RCVLOWAT = 18;
    /** Here an int: the linger time in seconds, 0 for an abortive close (RST), negative for off. */
    public static final int SO_LINGER = 13;
    public static final int SO_ERROR = 4;
    public static final int MSG_DONTWAIT = 0x40;

    /** An address and port, as {@code struct sockaddr_in} or {@code sockaddr_in6} holds them. */
    public record SocketAddress(IpAddress address, int port) {
        @Override
        public String toString() {
            return format(address, port);
        }

        /** {@code 198.18.0.1:80}, or {@code [2001:db8::1]:80} for IPv6. */
        public static String format(IpAddress address, int port) {
            return address.version() == 6 ? "[" + address + "]:" + port : address + ":" + port;
        }
    }

    /** What a {@code recvfrom} got: the length of the datagram, where from, and whether it was cut to fit. */
    public record Received(int length, SocketAddress from, boolean truncated) {
    }

    private final NetStack stack;
    private final LoopCalls calls;
    private final Udp udp;
    private final Tcp tcp;
    /** Descriptor → a DatagramSocket or a StreamSocket, in the kernel's table beside its files. */
    private final DescriptorTable fds;

    Sockets(NetStack stack, LoopCalls calls, Udp udp, Tcp tcp, DescriptorTable fds) {
        this.stack = stack;
        this.calls = calls;
        this.udp = udp;
        this.tcp = tcp;
        this.fds = fds;
    }

    @Override
    public String kind() {
        return "socket";
    }

    /** read(2) on a socket: recv with no flags. */
    @Override
    public int read(int fd, ByteBuffer dst) throws ErrnoException {
        return recv(fd, dst, 0).length();
    }

    /** write(2) on a socket: send with no flags. */
    @Override
    public int write(int fd, ByteBuffer src) throws ErrnoException {
        return send(fd, src, 0);
    }

    private Object any(int fd) throws ErrnoException {
        return fds.get(fd, this, Errno.ENOTSOCK);
    }

    private DatagramSocket socket(int fd) throws ErrnoException {
        if (any(fd) instanceof DatagramSocket d) {
            return d;
        }
        throw new ErrnoException(Errno.EOPNOTSUPP, "socket " + fd + " is a stream socket");
    }

    private StreamSocket stream(int fd) throws ErrnoException {
        if (any(fd) instanceof StreamSocket t) {
            return t;
        }
        throw new ErrnoException(Errno.EOPNOTSUPP, "socket " + fd + " is a datagram socket");
    }

    private int install(Object socket) throws ErrnoException {
        return fds.allocate(this, socket);
    }

    /** socket(2). */
    public int socket(int domain, int type, int protocol) throws ErrnoException {
        return calls.run(() -> {
            if (domain != AF_INET && domain != AF_INET6) {
                throw new ErrnoException(Errno.EAFNOSUPPORT, "address family " + domain + " (AF_INET and AF_INET6 only)");
            }
            int family = domain == AF_INET6 ? 6 : 4;
            if (type == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) {
                return install(new StreamSocket(family));
            }
            int ping = family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
            if (type != SOCK_DGRAM || !(protocol == 0 || protocol == IPPROTO_UDP || protocol == ping)) {
                throw new ErrnoException(Errno.EPROTONOSUPPORT, "type " + type + ", protocol " + protocol
                        + (domain == AF_INET6 ? " in AF_INET6" : " in AF_INET"));
            }
            return install(new DatagramSocket(protocol == ping ? ping : IPPROTO_UDP, family));
        });
    }

    /**
     * An address a caller gave a socket of {@code family}, as the stack holds it: an IPv4-mapped
     * one becomes the IPv4 address (so {@code ::ffff:0.0.0.0} is the IPv4 wildcard alone), and
     * the IPv4 wildcard {@code 0.0.0.0} itself, on an AF_INET6 socket, is its dual-stack wildcard
     * {@code ::}, as Java's any-local address is. {@code EAFNOSUPPORT} for an IPv6 address on an
     * AF_INET socket; {@code failure} for an IPv4 one on a V6ONLY socket.
     */
    private static IpAddress inward(int family, boolean v6Only, IpAddress a, Errno failure) throws ErrnoException {
        if (family == 4) {
            if (a.version() != 4) {
                throw new ErrnoException(Errno.EAFNOSUPPORT, "an AF_INET socket given the IPv6 address " + a);
            }
            return a;
        }
        if (a.version() == 4 && a.isUnspecified()) {
            return Ipv6Address.UNSPECIFIED;
        }
        IpAddress u = a.unmapped();
        if (u.version() == 4 && v6Only) {
            throw new ErrnoException(failure, "an IPV6_V6ONLY socket given the IPv4 address " + a);
        }
        return u;
    }

    /** An address the stack holds, as a socket of {@code family} names it: IPv4-mapped on AF_INET6. */
    private static IpAddress outward(int family, IpAddress a) {
        return family == 6 ? a.mapped() : a;
    }

    private static SocketAddress outward(int family, IpAddress a, int port) {
        return new SocketAddress(outward(family, a), port);
    }

    /** bind(2); port 0 picks an ephemeral port. {@code EADDRNOTAVAIL} for an address not ours. */
    public void bind(int fd, SocketAddress local) throws ErrnoException {
        calls.run(() -> {
            Object any = any(fd);
            int family = any instanceof StreamSocket t ? t.family : ((DatagramSocket) any).family;
            boolean v6Only = any instanceof StreamSocket t ? t.v6Only : ((DatagramSocket) any).v6Only;
            IpAddress a = inward(family, v6Only, local.address(), Errno.EINVAL);
            if (!a.isUnspecified() && !a.isBroadcast() && !stack.isLocal(a)) {
                throw new ErrnoException(Errno.EADDRNOTAVAIL, a + " is not an address of this stack");
            }
            if (any instanceof StreamSocket t) {
                if (t.localPort != 0) {
                    throw new ErrnoException(Errno.EINVAL, "socket " + fd + " is already bound");
                }
                t.localPort = tcp.ports.bind(t, a, local.port(), t.reuseAddress, t.v6Only, port -> !tcp.usesLocalPort(port));
                t.localAddress = a;
                return null;
            }
            udp.bind(socket(fd), a, local.port());
            return null;
        });
    }

    /** connect(2): the default destination, and the only source datagrams are taken from. */
    public void connect(int fd, SocketAddress peer) throws ErrnoException {
        if (calls.run(() -> any(fd)) instanceof StreamSocket) {
            connectStream(fd, peer);
            return;
        }
        calls.run(() -> {
            DatagramSocket s = socket(fd);
            IpAddress to = inward(s.family, s.v6Only, peer.address(), Errno.ENETUNREACH);
            stack.sourceFor(to); // ENETUNREACH now, as Linux's connect(2)
            if (!s.bound()) {
                udp.bind(s, IpAddress.unspecified(s.family), 0);
            }
            s.peer = to;
            s.peerPort = peer.port();
            return null;
        });
    }

    /** sendto(2): one datagram; the whole of {@code data} is sent or none of it. */
    public int sendto(int fd, ByteBuffer data, SocketAddress to, int flags) throws ErrnoException {
        byte[] bytes = new byte[data.remaining()];
        data.duplicate().get(bytes);
        int n = calls.run(() -> {
            DatagramSocket s = socket(fd);
            ErrnoException pending = s.takeError();
            if (pending != null) {
                throw pending;
            }
            if (to == null) {
                if (!s.connected()) {
                    throw new ErrnoException(Errno.EDESTADDRREQ, "socket " + fd + " is not connected");
                }
                return udp.send(s, bytes, s.peer, s.peerPort);
            }
            return udp.send(s, bytes, inward(s.family, s.v6Only, to.address(), Errno.ENETUNREACH), to.port());
        });
        data.position(data.position() + n);
        return n;
    }

    /** send(2) on a connected socket: for TCP, blocks until all of {@code data} is queued (or fails). */
    public int send(int fd, ByteBuffer data, int flags) throws ErrnoException {
        if (calls.run(() -> any(fd)) instanceof StreamSocket) {
            return sendStream(fd, data, flags);
        }
        return sendto(fd, data, null, flags);
    }

    /**
     * recvfrom(2): the next datagram into {@code dst} (cut to fit, the rest dropped, as UDP does).
     * Blocks while there is none, unless the socket is non-blocking or {@code MSG_DONTWAIT}
     * ({@code EAGAIN}).
     */
    public Received recvfrom(int fd, ByteBuffer dst, int flags) throws ErrnoException {
        DatagramSocket.Datagram d = calls.call(() -> receiveWhenReady(fd, flags));
        int n = Math.min(d.data().length, dst.remaining());
        dst.put(d.data(), 0, n);
        return new Received(d.data().length, new SocketAddress(d.from(), d.port()), n < d.data().length);
    }

    private CompletableFuture<DatagramSocket.Datagram> receiveWhenReady(int fd, int flags) throws ErrnoException {
        DatagramSocket s = socket(fd);
        ErrnoException pending = s.takeError();
        if (pending != null) {
            throw pending;
        }
        DatagramSocket.Datagram d = s.dequeue();
        if (d != null) {
            return CompletableFuture.completedFuture(d);
        }
        if (s.nonBlocking || (flags & MSG_DONTWAIT) != 0) {
            throw new ErrnoException(Errno.EAGAIN, "no datagram waiting on socket " + fd);
        }
        // Wait for data (or an error, or close), then try again on the loop.
        return s.readiness.when(Readiness.POLLIN).thenCompose(ready -> {
            try {
                return receiveWhenReady(fd, flags);
            } catch (ErrnoException e) {
                return CompletableFuture.failedFuture(e);
            }
        });
    }

    /** recv(2): for TCP, the bytes that are there (at least one; 0 at the end of the stream), blocking while none are. */
    public Received recv(int fd, ByteBuffer dst, int flags) throws ErrnoException {
        if (calls.run(() -> any(fd)) instanceof StreamSocket) {
            return recvStream(fd, dst, flags);
        }
        return recvfrom(fd, dst, flags);
    }

    /** poll(2) for one socket: the events present now of {@code wanted} (plus errors and hang-ups). */
    public int poll(int fd, int wanted) throws ErrnoException {
        return calls.run(() -> readiness(fd).events() & (wanted | Readiness.POLLERR | Readiness.POLLHUP));
    }

    private Readiness readiness(int fd) throws ErrnoException {
        Object s = any(fd);
        if (s instanceof DatagramSocket d) {
            return d.readiness;
        }
        Readiness r = ((StreamSocket) s).readiness();
        return r != null ? r : new Readiness();
    }

    /** Watches a socket's readiness (for selectors and event loops); the listener runs on the stack's loop. */
    public void watch(int fd, Readiness.Listener listener) throws ErrnoException {
        calls.run(() -> {
            readiness(fd).addListener(listener);
            return null;
        });
    }

    public void setNonBlocking(int fd, boolean on) throws ErrnoException {
        calls.run(() -> {
            Object s = any(fd);
            if (s instanceof StreamSocket t) {
                t.nonBlocking = on;
            } else {
                ((DatagramSocket) s).nonBlocking = on;
            }
            return null;
        });
    }

    public static final int TCP_NODELAY = 1;
    public static final int TCP_KEEPIDLE = 4;
    public static final int TCP_KEEPINTVL = 5;
    public static final int TCP_KEEPCNT = 6;

    /**
     * setsockopt(2): SO_REUSEADDR, SO_BROADCAST, SO_RCVBUF at SOL_SOCKET for UDP; for TCP,
     * SO_REUSEADDR, SO_KEEPALIVE, SO_SNDBUF, SO_RCVBUF (doubled, as Linux does; the receive buffer
     * should be set before listen or connect, later it only grows), SO_LINGER at SOL_SOCKET, and
     * TCP_NODELAY, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT at IPPROTO_TCP. {@code ENOPROTOOPT} for
     * others, {@code EINVAL} for a value out of range.
     */
    public void setsockopt(int fd, int level, int option, int value) throws ErrnoException {
        calls.run(() -> {
            if (any(fd) instanceof StreamSocket t) {
                setStreamOption(t, level, option, value);
                return null;
            }
            DatagramSocket s = socket(fd);
            if (level == IPPROTO_IPV6 && option == IPV6_V6ONLY) {
                s.v6Only = v6Only(s.family, s.bound(), fd, value);
                return null;
            }
            if (level != SOL_SOCKET) {
                throw new ErrnoException(Errno.ENOPROTOOPT, "level " + level);
            }
            switch (option) {
                case SO_REUSEADDR -> s.reuseAddress = value != 0;
                case SO_BROADCAST -> s.broadcast = value != 0;
                case SO_RCVBUF -> s.receiveBuffer = Math.max(2048, Math.min(value, 64 << 20) * 2); // Linux doubles it
                default -> throw new ErrnoException(Errno.ENOPROTOOPT, "option " + option);
            }
            return null;
        });
    }

    /** IPV6_V6ONLY's new value: only on an AF_INET6 socket (ENOPROTOOPT), and before bind (EINVAL), as Linux. */
    private static boolean v6Only(int family, boolean bound, int fd, int value) throws ErrnoException {
        if (family != 6) {
            throw new ErrnoException(Errno.ENOPROTOOPT, "IPV6_V6ONLY on the AF_INET socket " + fd);
        }
        if (bound) {
            throw new ErrnoException(Errno.EINVAL, "IPV6_V6ONLY on socket " + fd + ", which is already bound");
        }
        return value != 0;
    }

    private static int inRange(int value, int min, int max, String what) throws ErrnoException {
        if (value < min || value > max) {
            throw new ErrnoException(Errno.EINVAL, what + " " + value + " out of " + min + ".." + max);
        }
        return value;
    }

    private static int doubled(int value, int max) {
        return (int) Math.max(TcpSocketOptions.MIN_BUFFER, Math.min(2L * Math.max(0, value), max));
    }

    private void setStreamOption(StreamSocket t, int level, int option, int value) throws ErrnoException {
        TcpSocketOptions o = t.options;
        TcpConnection c = t.connection;
        if (level == IPPROTO_IPV6 && option == IPV6_V6ONLY) {
            t.v6Only = v6Only(t.family, t.localPort != 0 || c != null, -1, value);
            return;
        }
        if (level == IPPROTO_TCP) {
            switch (option) {
                case TCP_NODELAY -> {
                    o.noDelay = value != 0; // a connection shares its socket's options
                    if (c != null) {
                        c.trySend();
                    }
                }
                case TCP_KEEPIDLE -> o.keepIdleSeconds = inRange(value, 1, 32767, "TCP_KEEPIDLE");
                case TCP_KEEPINTVL -> o.keepIntervalSeconds = inRange(value, 1, 32767, "TCP_KEEPINTVL");
                case TCP_KEEPCNT -> o.keepCount = inRange(value, 1, 127, "TCP_KEEPCNT");
                default -> throw new ErrnoException(Errno.ENOPROTOOPT, "IPPROTO_TCP option " + option);
            }
        } else if (level == SOL_SOCKET) {
            switch (option) {
                case SO_REUSEADDR -> t.reuseAddress = value != 0;
                case SO_KEEPALIVE -> o.keepAlive = value != 0;
                case SO_LINGER -> o.lingerSeconds = value < 0 ? -1 : value;
                case SO_RCVLOWAT -> {
                    o.receiveLowWater = Math.max(1, value); // Linux takes 0 as 1
                    if (c != null) {
                        c.updateReadable();
                    }
                }
                case SO_SNDBUF -> {
                    o.sendBuffer = doubled(value, TcpSocketOptions.MAX_SEND_BUFFER);
                    o.sendBufferLocked = true;
                    if (c != null) {
                        c.sendBufferLimit = o.sendBuffer;
                        if (c.sendSpace() > 0 && c.error == null) {
                            c.readiness.add(Readiness.POLLOUT);
                        } else {
                            c.readiness.remove(Readiness.POLLOUT);
                        }
                    }
                }
                case SO_RCVBUF -> {
                    o.receiveBuffer = doubled(value, TcpSocketOptions.MAX_RECEIVE_BUFFER);
                    o.receiveBufferLocked = true;
                    if (c != null && o.receiveBuffer > c.receiveBufferLimit) {
                        c.receiveBufferLimit = o.receiveBuffer; // never shrink a window already offered
                    }
                }
                default -> throw new ErrnoException(Errno.ENOPROTOOPT, "SOL_SOCKET option " + option);
            }
        } else {
            throw new ErrnoException(Errno.ENOPROTOOPT, "level " + level);
        }
        if (c != null && (option == SO_KEEPALIVE && level == SOL_SOCKET || level == IPPROTO_TCP && option != TCP_NODELAY)) {
            c.armKeepalive();
        }
    }

    private int getStreamOption(StreamSocket t, int level, int option) throws ErrnoException {
        TcpSocketOptions o = t.options;
        if (level == IPPROTO_IPV6 && option == IPV6_V6ONLY && t.family == 6) {
            return t.v6Only ? 1 : 0;
        }
        if (level == IPPROTO_TCP) {
            return switch (option) {
                case TCP_NODELAY -> o.noDelay ? 1 : 0;
                case TCP_KEEPIDLE -> o.keepIdleSeconds;
                case TCP_KEEPINTVL -> o.keepIntervalSeconds;
                case TCP_KEEPCNT -> o.keepCount;
                default -> throw new ErrnoException(Errno.ENOPROTOOPT, "IPPROTO_TCP option " + option);
            };
        }
        if (level != SOL_SOCKET) {
            throw new ErrnoException(Errno.ENOPROTOOPT, "level " + level);
        }
        return switch (option) {
            case SO_REUSEADDR -> t.reuseAddress ? 1 : 0;
            case SO_KEEPALIVE -> o.keepAlive ? 1 : 0;
            case SO_LINGER -> o.lingerSeconds;
            case SO_RCVLOWAT -> o.receiveLowWater;
            case SO_SNDBUF -> t.connection != null ? t.connection.sendBufferLimit : o.sendBuffer;
            case SO_RCVBUF -> t.connection != null ? t.connection.receiveBufferLimit : o.receiveBuffer;
            case SO_ERROR -> t.connection != null && t.connection.error != null ? t.connection.error.errno().number() : 0;
            default -> throw new ErrnoException(Errno.ENOPROTOOPT, "SOL_SOCKET option " + option);
        };
    }

    public static final int TCP_CONGESTION = 13;

    /**
     * setsockopt(2) for an option whose value is a name: TCP_CONGESTION at IPPROTO_TCP on a TCP
     * socket — {@code cubic} or {@code reno}; before connect or listen it chooses the algorithm, on
     * a connection the new one takes over from the current congestion window. {@code ENOENT} for
     * an algorithm not available here (as Linux), {@code ENOPROTOOPT} for another option.
     */
    public void setsockopt(int fd, int level, int option, String value) throws ErrnoException {
        calls.run(() -> {
            if (level != IPPROTO_TCP || option != TCP_CONGESTION) {
                throw new ErrnoException(Errno.ENOPROTOOPT, "level " + level + " option " + option + " takes a number");
            }
            StreamSocket t = stream(fd);
            t.options.congestion = CongestionControls.check(value);
            if (t.connection != null) {
                t.connection.congestionChanged();
            }
            return null;
        });
    }

    /** getsockopt(2) for TCP_CONGESTION: the algorithm the socket's connection uses, or will. */
    public String getsockoptString(int fd, int level, int option) throws ErrnoException {
        return calls.run(() -> {
            if (level != IPPROTO_TCP || option != TCP_CONGESTION) {
                throw new ErrnoException(Errno.ENOPROTOOPT, "level " + level + " option " + option + " is a number");
            }
            StreamSocket t = stream(fd);
            return tcp.congestionFor(t.connection != null ? t.connection.options : t.options);
        });
    }

    /** getsockopt(2) for the options {@link #setsockopt} takes, and SO_ERROR. */
    public int getsockopt(int fd, int level, int option) throws ErrnoException {
        return calls.run(() -> {
            if (any(fd) instanceof StreamSocket t) {
                return getStreamOption(t, level, option);
            }
            DatagramSocket s = socket(fd);
            if (level == IPPROTO_IPV6 && option == IPV6_V6ONLY && s.family == 6) {
                return s.v6Only ? 1 : 0;
            }
            if (level != SOL_SOCKET) {
                throw new ErrnoException(Errno.ENOPROTOOPT, "level " + level);
            }
            return switch (option) {
                case SO_REUSEADDR -> s.reuseAddress ? 1 : 0;
                case SO_BROADCAST -> s.broadcast ? 1 : 0;
                case SO_RCVBUF -> s.receiveBuffer;
                case SO_ERROR -> {
                    ErrnoException e = s.takeError();
                    yield e == null ? 0 : e.errno().number();
                }
                default -> throw new ErrnoException(Errno.ENOPROTOOPT, "option " + option);
            };
        });
    }

    /** getsockname(2): the local address and port, of a TCP or UDP socket. */
    public SocketAddress getsockname(int fd) throws ErrnoException {
        return calls.run(() -> {
            if (any(fd) instanceof StreamSocket t) {
                TcpConnection c = t.connection;
                return c != null ? outward(t.family, c.localAddress, c.localPort)
                        : outward(t.family, t.localAddress, t.localPort);
            }
            DatagramSocket s = socket(fd);
            return outward(s.family, s.localAddress, s.localPort);
        });
    }

    /** getpeername(2): the peer of a connected TCP or UDP socket; ENOTCONN otherwise. */
    public SocketAddress getpeername(int fd) throws ErrnoException {
        return calls.run(() -> {
            if (any(fd) instanceof StreamSocket t) {
                if (t.connection == null) {
                    throw new ErrnoException(Errno.ENOTCONN, "socket " + fd);
                }
                return outward(t.family, t.connection.remoteAddress, t.connection.remotePort);
            }
            DatagramSocket s = socket(fd);
            if (!s.connected()) {
                throw new ErrnoException(Errno.ENOTCONN, "socket " + fd);
            }
            return outward(s.family, s.peer, s.peerPort);
        });
    }

    /**
     * close(2): unbinds, and wakes a call blocked on the socket with {@code EBADF}. For TCP under
     * SO_LINGER with a positive time (and a blocking socket), waits until the peer has acknowledged
     * everything, FIN included, or that time has passed; with 0, resets the connection.
     */
    @Override
    public void close(int fd) throws ErrnoException {
        calls.call(() -> {
            if (any(fd) instanceof StreamSocket t) {
                fds.remove(fd, this);
                closeStream(t);
                TcpConnection c = t.connection;
                if (c != null && t.options.lingerSeconds > 0 && !t.nonBlocking) {
                    return c.lingerUntilSent(t.options.lingerSeconds * 1_000_000_000L);
                }
                return CompletableFuture.completedFuture(null);
            }
            DatagramSocket s = socket(fd);
            fds.remove(fd, this);
            udp.unbind(s);
            s.closed = true;
            s.readiness.failWaiters(new ErrnoException(Errno.EBADF, "socket " + fd + " closed"));
            return CompletableFuture.completedFuture(null);
        });
    }

    // ---- TCP -------------------------------------------------------------------------------------

    public static final int SHUT_RD = 0;
    public static final int SHUT_WR = 1;
    public static final int SHUT_RDWR = 2;

    /** listen(2): binds an ephemeral port first if the socket has none. */
    public void listen(int fd, int backlog) throws ErrnoException {
        calls.run(() -> {
            StreamSocket t = stream(fd);
            if (t.connection != null) {
                throw new ErrnoException(Errno.EINVAL, "socket " + fd + " is connected");
            }
            if (t.listener != null) {
                return null;
            }
            if (t.localPort == 0) {
                t.localPort = tcp.ports.bind(t, t.localAddress, 0, t.reuseAddress, t.v6Only,
                        port -> !tcp.usesLocalPort(port));
            }
            t.listener = tcp.listen(t.localAddress, t.v6Only, t.localPort, backlog, t.options);
            return null;
        });
    }

    /** accept(2): the next established connection as a new socket; blocks while there is none. */
    public int accept(int fd) throws ErrnoException {
        return calls.call(() -> acceptWhenReady(fd));
    }

    private CompletableFuture<Integer> acceptWhenReady(int fd) throws ErrnoException {
        StreamSocket t = stream(fd);
        if (t.listener == null) {
            throw new ErrnoException(Errno.EINVAL, "socket " + fd + " is not listening");
        }
        TcpConnection c = t.listener.acceptQueue.poll();
        if (c != null) {
            if (t.listener.acceptQueue.isEmpty()) {
                t.listener.readiness.remove(Readiness.POLLIN);
            }
            StreamSocket n = new StreamSocket(t.family);
            n.connection = c;
            c.hasSocket = true;
            n.localAddress = c.localAddress;
            n.localPort = c.localPort;
            n.options = c.options;
            return CompletableFuture.completedFuture(install(n));
        }
        if (t.nonBlocking) {
            throw new ErrnoException(Errno.EAGAIN, "no connection waiting on socket " + fd);
        }
        return t.listener.readiness.when(Readiness.POLLIN).thenCompose(x -> retry(() -> acceptWhenReady(fd)));
    }

    private static <T> CompletableFuture<T> retry(LoopCalls.Call<T> again) {
        try {
            return again.start();
        } catch (ErrnoException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private void connectStream(int fd, SocketAddress given) throws ErrnoException {
        calls.call(() -> {
            StreamSocket t = stream(fd);
            SocketAddress peer = new SocketAddress(inward(t.family, t.v6Only, given.address(), Errno.ENETUNREACH),
                    given.port());
            if (t.connection != null) {
                throw new ErrnoException(t.connection.state == TcpConnection.State.SYN_SENT ? Errno.EALREADY : Errno.EISCONN,
                        "socket " + fd);
            }
            if (t.listener != null) {
                throw new ErrnoException(Errno.EINVAL, "socket " + fd + " is listening");
            }
            if (t.localPort == 0) {
                IpAddress from = tcp.source(t.localAddress, peer.address());
                t.localPort = tcp.ports.bind(t, t.localAddress, 0, t.reuseAddress, t.v6Only,
                        port -> !tcp.holds(from, port, peer.address(), peer.port()));
            }
            TcpConnection c = tcp.connect(t.localAddress, t.localPort, peer.address(), peer.port(), t.options);
            t.options = c.options;
            t.connection = c;
            c.hasSocket = true;
            if (t.nonBlocking) {
                throw new ErrnoException(Errno.EINPROGRESS, "connecting to " + peer);
            }
            return c.readiness.when(Readiness.POLLOUT).thenCompose(x -> {
                if (c.error != null) {
                    return CompletableFuture.failedFuture(c.error);
                }
                return CompletableFuture.completedFuture(null);
            });
        });
    }

    /**
     * send(2) for a Netty {@code ByteBuf}: what fits in the send buffer now joins the send queue,
     * and {@code data}'s reader index moves past it; the caller keeps its own reference. When that
     * reference is the only one ({@code refCnt() == 1}, as for a buffer written to a Netty
     * channel) the queue keeps a retained slice, without copying, until the bytes are
     * acknowledged; the bytes must then not change (Netty's rule for a written buffer). A buffer
     * with other holders is copied. Never blocks. TCP only.
     *
     * @return how many bytes were taken, at least 1
     * @throws ErrnoException {@code EAGAIN} when the send buffer is full; else as {@link #send}
     */
    public int send(int fd, ByteBuf data) throws ErrnoException {
        return calls.run(() -> {
            TcpConnection c = writableConnection(fd);
            int n = c.write(data);
            if (n == 0 && data.isReadable()) {
                throw new ErrnoException(Errno.EAGAIN, "send buffer of socket " + fd + " is full");
            }
            return n;
        });
    }

    /**
     * recv(2) into a buffer the caller owns and must release, without copying: up to {@code max}
     * received bytes as retained slices of the receive queue. Empty at the end of the stream.
     * Never blocks. TCP only.
     *
     * @throws ErrnoException {@code EAGAIN} when nothing is there now; else as {@link #recv}
     */
    public ByteBuf recv(int fd, int max) throws ErrnoException {
        return calls.run(() -> {
            StreamSocket t = stream(fd);
            TcpConnection c = t.connection;
            if (c == null) {
                throw new ErrnoException(Errno.ENOTCONN, "socket " + fd);
            }
            if (readable(c, 1)) {
                return c.readRetained(max);
            }
            if (c.error != null) {
                throw c.error;
            }
            throw new ErrnoException(Errno.EAGAIN, "nothing to read on socket " + fd);
        });
    }

    /**
     * Whether a read returns now: {@code target} bytes are there, or the end of the stream, or the
     * data before an error.
     */
    private static boolean readable(TcpConnection c, int target) {
        return c.received() >= target || c.finReceived || c.error == null && c.state == TcpConnection.State.CLOSED
                || c.error != null && c.received() > 0;
    }

    /** The connection of a socket that may send: {@code ENOTCONN}, its error, or {@code EPIPE} if not. */
    private TcpConnection writableConnection(int fd) throws ErrnoException {
        StreamSocket t = stream(fd);
        TcpConnection c = t.connection;
        if (c == null) {
            throw new ErrnoException(Errno.ENOTCONN, "socket " + fd);
        }
        if (c.error != null) {
            throw c.error;
        }
        if (t.shutWrite || c.finQueued || c.state == TcpConnection.State.CLOSED) {
            throw new ErrnoException(Errno.EPIPE, "socket " + fd + " cannot send any more");
        }
        return c;
    }

    private int sendStream(int fd, ByteBuffer data, int flags) throws ErrnoException {
        Lent lent = new Lent(data);
        try {
            return calls.call(() -> sendWhenReady(fd, lent, 0, flags));
        } finally {
            lent.revoke();
        }
    }

    private CompletableFuture<Integer> sendWhenReady(int fd, Lent data, int done, int flags) throws ErrnoException {
        StreamSocket t = stream(fd);
        TcpConnection c = writableConnection(fd);
        int took = data.writeTo(c);
        if (took < 0) {
            return CompletableFuture.completedFuture(done); // the caller has given up waiting
        }
        int sent = done + took;
        if (data.remaining() == 0) {
            return CompletableFuture.completedFuture(sent);
        }
        if (t.nonBlocking || (flags & MSG_DONTWAIT) != 0) {
            if (sent == 0) {
                throw new ErrnoException(Errno.EAGAIN, "send buffer of socket " + fd + " is full");
            }
            return CompletableFuture.completedFuture(sent);
        }
        return c.readiness.when(Readiness.POLLOUT).thenCompose(x -> retry(() -> sendWhenReady(fd, data, sent, flags)));
    }

    /**
     * A caller's buffer lent to the stack for one call, so that bytes move between it and the
     * socket's queue with one copy and no array in between. The loop may get to it after the
     * caller stopped waiting (an interrupt, a timeout); from then on it is the caller's alone,
     * and the lock keeps a copy from racing that moment.
     */
    private static final class Lent {
        private final ByteBuffer buffer;
        private boolean revoked;

        Lent(ByteBuffer buffer) {
            this.buffer = buffer;
        }

        /** Queues what fits into the connection's send queue; -1 once revoked. */
        synchronized int writeTo(TcpConnection c) {
            return revoked ? -1 : c.write(buffer);
        }

        /** Reads what is there from the connection's receive queue; -1 once revoked. */
        synchronized int readFrom(TcpConnection c) {
            return revoked ? -1 : c.read(buffer);
        }

        synchronized int remaining() {
            return buffer.remaining();
        }

        synchronized void revoke() {
            revoked = true;
        }
    }

    private Received recvStream(int fd, ByteBuffer dst, int flags) throws ErrnoException {
        Lent lent = new Lent(dst);
        int got;
        try {
            got = calls.call(() -> recvWhenReady(fd, lent, dst.remaining(), flags));
        } finally {
            lent.revoke();
        }
        StreamSocket t = calls.run(() -> stream(fd));
        TcpConnection c = t.connection;
        return new Received(got, outward(t.family, c.remoteAddress, c.remotePort), false);
    }

    private CompletableFuture<Integer> recvWhenReady(int fd, Lent dst, int max, int flags) throws ErrnoException {
        StreamSocket t = stream(fd);
        TcpConnection c = t.connection;
        if (c == null) {
            throw new ErrnoException(Errno.ENOTCONN, "socket " + fd);
        }
        if (max == 0) {
            return CompletableFuture.completedFuture(0);
        }
        boolean blocking = !t.nonBlocking && (flags & MSG_DONTWAIT) == 0;
        // A blocking recv waits for SO_RCVLOWAT bytes (or as many as asked for, if fewer).
        int target = blocking ? Math.min(c.lowWater(), max) : 1;
        if (readable(c, target)) {
            return CompletableFuture.completedFuture(Math.max(0, dst.readFrom(c)));
        }
        if (c.error != null) {
            throw c.error;
        }
        if (!blocking) {
            throw new ErrnoException(Errno.EAGAIN, "nothing to read on socket " + fd);
        }
        return c.readiness.when(Readiness.POLLIN).thenCompose(x -> retry(() -> recvWhenReady(fd, dst, max, flags)));
    }

    /** shutdown(2): SHUT_WR sends a FIN after the queued data. */
    public void shutdown(int fd, int how) throws ErrnoException {
        calls.run(() -> {
            StreamSocket t = stream(fd);
            if (t.connection == null) {
                throw new ErrnoException(Errno.ENOTCONN, "socket " + fd);
            }
            if (how == SHUT_WR || how == SHUT_RDWR) {
                t.shutWrite = true;
                t.connection.closeSending();
            }
            return null;
        });
    }

    private void closeStream(StreamSocket t) {
        if (t.listener != null) {
            tcp.closeListener(t.listener);
        }
        if (t.connection != null) {
            if (t.connection.received() > 0 || t.options.lingerSeconds == 0) {
                // Unread data: RFC 2525 says reset, as Linux does; SO_LINGER 0: an abortive close.
                t.connection.abort();
            } else {
                t.connection.closeSending();
            }
            t.connection.orphan();
            t.connection.readiness.failWaiters(new ErrnoException(Errno.EBADF, "socket closed"));
        }
        if (t.localPort != 0 && (t.connection == null || t.connection.listener == null)) {
            tcp.ports.unbind(t, t.localPort);
        }
    }

    /** The connection behind a TCP socket, or null (for tests in this package; on the loop). */
    TcpConnection connectionOf(int fd) throws ErrnoException {
        return calls.run(() -> stream(fd).connection);
    }

    /** Runs {@code work} on the stack's event loop (for tests in this package). */
    <T> T onLoop(LoopCalls.Immediate<T> work) throws ErrnoException {
        return calls.run(work);
    }

    /** How many TCP connections the stack holds, in any state. */
    public int tcpConnections() throws ErrnoException {
        return calls.run(tcp::connectionCount);
    }
}
