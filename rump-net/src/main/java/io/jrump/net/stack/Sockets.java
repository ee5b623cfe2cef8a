package io.jrump.net.stack;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.jrump.net.socket.LoopCalls;
import io.jrump.net.socket.Readiness;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The BSD socket API of one stack, with the kernel's names, constants and errno values:
 * {@code socket}, {@code bind}, {@code connect}, {@code sendto}/{@code send},
 * {@code recvfrom}/{@code recv}, {@code poll}, {@code getsockopt}/{@code setsockopt},
 * {@code getsockname}/{@code getpeername}, {@code close}. Descriptors are small ints, the lowest
 * free first. Calls may come from any thread; each runs on the stack's event loop, and a blocking
 * call waits there without holding it (on the simulation host the wait runs the simulation).
 *
 * <p>Today: UDP sockets and ICMP echo ("ping") sockets as Linux has them
 * ({@code socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)}). TCP ({@code SOCK_STREAM}) is
 * {@code EPROTONOSUPPORT} until its state machine lands.
 */
public final class Sockets {
    public static final int AF_INET = 2;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int IPPROTO_ICMP = 1;
    public static final int IPPROTO_TCP = 6;
    public static final int IPPROTO_UDP = 17;
    public static final int SOL_SOCKET = 1;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_BROADCAST = 6;
    public static final int SO_RCVBUF = 8;
    public static final int SO_ERROR = 4;
    public static final int MSG_DONTWAIT = 0x40;

    /** An address and port, as {@code struct sockaddr_in} holds them. */
    public record SocketAddress(Ipv4Address address, int port) {
        @Override
        public String toString() {
            return address + ":" + port;
        }
    }

    /** What a {@code recvfrom} got: the length of the datagram, where from, and whether it was cut to fit. */
    public record Received(int length, SocketAddress from, boolean truncated) {
    }

    private static final int MAX_SOCKETS = 65536;

    private final NetStack stack;
    private final LoopCalls calls;
    private final Udp udp;
    private final Map<Integer, DatagramSocket> fds = new HashMap<>();

    Sockets(NetStack stack, LoopCalls calls, Udp udp) {
        this.stack = stack;
        this.calls = calls;
        this.udp = udp;
    }

    private DatagramSocket socket(int fd) throws ErrnoException {
        DatagramSocket s = fds.get(fd);
        if (s == null) {
            throw new ErrnoException(Errno.EBADF, "socket " + fd);
        }
        return s;
    }

    /** socket(2). */
    public int socket(int domain, int type, int protocol) throws ErrnoException {
        return calls.run(() -> {
            if (domain != AF_INET) {
                throw new ErrnoException(Errno.EAFNOSUPPORT, "address family " + domain + " (AF_INET only)");
            }
            if (type == SOCK_STREAM) {
                throw new ErrnoException(Errno.EPROTONOSUPPORT, "TCP sockets are not there yet");
            }
            if (type != SOCK_DGRAM || !(protocol == 0 || protocol == IPPROTO_UDP || protocol == IPPROTO_ICMP)) {
                throw new ErrnoException(Errno.EPROTONOSUPPORT, "type " + type + ", protocol " + protocol);
            }
            if (fds.size() >= MAX_SOCKETS) {
                throw new ErrnoException(Errno.EMFILE, fds.size() + " sockets open");
            }
            int fd = 0;
            while (fds.containsKey(fd)) {
                fd++;
            }
            fds.put(fd, new DatagramSocket(protocol == IPPROTO_ICMP ? IPPROTO_ICMP : IPPROTO_UDP));
            return fd;
        });
    }

    /** bind(2); port 0 picks an ephemeral port. {@code EADDRNOTAVAIL} for an address not ours. */
    public void bind(int fd, SocketAddress local) throws ErrnoException {
        calls.run(() -> {
            DatagramSocket s = socket(fd);
            Ipv4Address a = local.address();
            if (!a.isUnspecified() && !a.isBroadcast() && !isLocalAddress(a)) {
                throw new ErrnoException(Errno.EADDRNOTAVAIL, a + " is not an address of this stack");
            }
            udp.bind(s, a, local.port());
            return null;
        });
    }

    private boolean isLocalAddress(Ipv4Address a) {
        for (Interface i : stack.interfacesOnLoop()) {
            if (i.owns(a)) {
                return true;
            }
        }
        return a.isLoopback();
    }

    /** connect(2): the default destination, and the only source datagrams are taken from. */
    public void connect(int fd, SocketAddress peer) throws ErrnoException {
        calls.run(() -> {
            DatagramSocket s = socket(fd);
            stack.route(peer.address());
            if (!s.bound()) {
                udp.bind(s, Ipv4Address.ANY, 0);
            }
            s.peer = peer.address();
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
            SocketAddress dst = to;
            if (dst == null) {
                if (!s.connected()) {
                    throw new ErrnoException(Errno.EDESTADDRREQ, "socket " + fd + " is not connected");
                }
                dst = new SocketAddress(s.peer, s.peerPort);
            }
            return udp.send(s, bytes, dst.address(), dst.port());
        });
        data.position(data.position() + n);
        return n;
    }

    /** send(2) on a connected socket. */
    public int send(int fd, ByteBuffer data, int flags) throws ErrnoException {
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

    public Received recv(int fd, ByteBuffer dst, int flags) throws ErrnoException {
        return recvfrom(fd, dst, flags);
    }

    /** poll(2) for one socket: the events present now of {@code wanted} (plus errors and hang-ups). */
    public int poll(int fd, int wanted) throws ErrnoException {
        return calls.run(() -> socket(fd).readiness.events() & (wanted | Readiness.POLLERR | Readiness.POLLHUP));
    }

    /** Watches a socket's readiness (for selectors and event loops); the listener runs on the stack's loop. */
    public void watch(int fd, Readiness.Listener listener) throws ErrnoException {
        calls.run(() -> {
            socket(fd).readiness.addListener(listener);
            return null;
        });
    }

    public void setNonBlocking(int fd, boolean on) throws ErrnoException {
        calls.run(() -> {
            socket(fd).nonBlocking = on;
            return null;
        });
    }

    /** setsockopt(2) at SOL_SOCKET: SO_REUSEADDR, SO_BROADCAST, SO_RCVBUF. */
    public void setsockopt(int fd, int level, int option, int value) throws ErrnoException {
        calls.run(() -> {
            DatagramSocket s = socket(fd);
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

    public int getsockopt(int fd, int level, int option) throws ErrnoException {
        return calls.run(() -> {
            DatagramSocket s = socket(fd);
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

    public SocketAddress getsockname(int fd) throws ErrnoException {
        return calls.run(() -> {
            DatagramSocket s = socket(fd);
            return new SocketAddress(s.localAddress, s.localPort);
        });
    }

    public SocketAddress getpeername(int fd) throws ErrnoException {
        return calls.run(() -> {
            DatagramSocket s = socket(fd);
            if (!s.connected()) {
                throw new ErrnoException(Errno.ENOTCONN, "socket " + fd);
            }
            return new SocketAddress(s.peer, s.peerPort);
        });
    }

    /** close(2): unbinds, and wakes a call blocked on the socket with {@code EBADF}. */
    public void close(int fd) throws ErrnoException {
        calls.run(() -> {
            DatagramSocket s = socket(fd);
            fds.remove(fd);
            udp.unbind(s);
            s.closed = true;
            s.readiness.failWaiters(new ErrnoException(Errno.EBADF, "socket " + fd + " closed"));
            return null;
        });
    }
}
