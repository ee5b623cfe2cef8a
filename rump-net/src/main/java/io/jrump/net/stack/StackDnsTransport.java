package io.jrump.net.stack;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostScheduler;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.dns.DnsServer;
import io.jrump.net.dns.DnsTransport;
import io.jrump.net.socket.Readiness;
import io.jrump.net.stack.Sockets.SocketAddress;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * A {@link DnsTransport} on a stack's own sockets, for {@link io.jrump.net.dns.DnsResolver}: every
 * call and callback on the stack's event loop, every socket non-blocking. A UDP query gets a fresh
 * socket bound to an ephemeral port, which the stack's port table picks from a random start drawn
 * from the host's randomness (RFC 6056; RFC 5452 §9.2 asks for the unpredictable port). Readiness
 * changes are not acted on where they are signalled (inside the protocol code) but in a task queued
 * on the loop, where the sockets may be read, written and closed. IPv4 name servers only: the
 * stack has no IPv6 sockets yet ({@code EAFNOSUPPORT}).
 */
final class StackDnsTransport implements DnsTransport {
    /** The most bytes taken from a TCP socket per read; the resolver frames the stream itself. */
    private static final int TCP_READ_CHUNK = 16 * 1024;
    /** The largest UDP payload over IPv4 (65535 - 20 - 8). */
    private static final int MAX_DATAGRAM = 65_507;

    private final Sockets sockets;
    private final HostScheduler loop;

    StackDnsTransport(Sockets sockets, HostScheduler loop) {
        this.sockets = sockets;
        this.loop = loop;
    }

    @Override
    public UdpSocket openUdp(Consumer<Datagram> receiver) throws ErrnoException {
        // Dual-stack: one socket asks IPv4 and IPv6 servers alike.
        int fd = sockets.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, Sockets.IPPROTO_UDP);
        try {
            sockets.setNonBlocking(fd, true);
            sockets.bind(fd, new SocketAddress(Ipv6Address.UNSPECIFIED, 0)); // ephemeral: a random start
            Udp socket = new Udp(fd, receiver);
            sockets.watch(fd, socket::readinessChanged);
            return socket;
        } catch (ErrnoException e) {
            closeQuietly(fd);
            throw e;
        }
    }

    @Override
    public TcpConnection openTcp(DnsServer server, Consumer<byte[]> receiver, Consumer<ErrnoException> closed)
            throws ErrnoException {
        SocketAddress peer = address(server);
        int fd = sockets.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, Sockets.IPPROTO_TCP);
        try {
            sockets.setNonBlocking(fd, true);
            try {
                sockets.connect(fd, peer);
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EINPROGRESS) {
                    throw e;
                }
            }
            Tcp connection = new Tcp(fd, receiver, closed);
            sockets.watch(fd, connection::readinessChanged); // the connection's readiness exists once connecting
            return connection;
        } catch (ErrnoException e) {
            closeQuietly(fd);
            throw e;
        }
    }

    private static SocketAddress address(DnsServer server) {
        return new SocketAddress(IpAddress.of(server.address()), server.port());
    }

    private void closeQuietly(int fd) {
        try {
            sockets.close(fd);
        } catch (ErrnoException ignored) {
            // already gone: nothing left to release
        }
    }

    /** Runs a drain once per burst of readiness changes, later on the loop. */
    private abstract class Drained {
        final int fd;
        boolean closed;
        private boolean queued;

        Drained(int fd) {
            this.fd = fd;
        }

        final void readinessChanged(int events) {
            if (!queued && !closed) {
                queued = true;
                loop.execute(() -> {
                    queued = false;
                    if (!closed) {
                        drain();
                    }
                });
            }
        }

        abstract void drain();

        public void close() {
            if (!closed) {
                closed = true;
                closeQuietly(fd);
            }
        }
    }

    private final class Udp extends Drained implements UdpSocket {
        private final Consumer<Datagram> receiver;
        private final ByteBuffer buffer = ByteBuffer.allocate(MAX_DATAGRAM);

        Udp(int fd, Consumer<Datagram> receiver) {
            super(fd);
            this.receiver = receiver;
        }

        @Override
        public void send(DnsServer to, byte[] payload) throws ErrnoException {
            if (closed) {
                throw new ErrnoException(Errno.EBADF, "DNS UDP socket closed");
            }
            sockets.sendto(fd, ByteBuffer.wrap(payload), address(to), 0);
        }

        @Override
        void drain() {
            // Bounded by the socket's receive buffer: each pass takes one datagram or stops.
            while (!closed) {
                Sockets.Received r;
                buffer.clear();
                try {
                    r = sockets.recvfrom(fd, buffer, Sockets.MSG_DONTWAIT);
                } catch (ErrnoException e) {
                    if (e.errno() == Errno.EAGAIN) {
                        return;
                    }
                    continue; // an ICMP error reported once; the resolver's timer handles the silence
                }
                if (r.truncated() || r.from().port() == 0) {
                    continue; // cannot be a whole DNS answer from a server port
                }
                byte[] payload = new byte[r.length()];
                buffer.flip().get(payload);
                receiver.accept(new Datagram(new DnsServer(r.from().address().toInetAddress(), r.from().port()), payload));
            }
        }
    }

    private final class Tcp extends Drained implements TcpConnection {
        private final Consumer<byte[]> receiver;
        private final Consumer<ErrnoException> closedBy;
        private final ArrayDeque<ByteBuf> unsent = new ArrayDeque<>();

        Tcp(int fd, Consumer<byte[]> receiver, Consumer<ErrnoException> closedBy) {
            super(fd);
            this.receiver = receiver;
            this.closedBy = closedBy;
        }

        /** Queued until the connection is writable; sent from the loop's next drain. */
        @Override
        public void send(byte[] bytes) throws ErrnoException {
            if (closed) {
                throw new ErrnoException(Errno.EBADF, "DNS TCP connection closed");
            }
            unsent.add(Unpooled.wrappedBuffer(bytes));
            readinessChanged(0);
        }

        @Override
        void drain() {
            try {
                flush();
                while (!closed) {
                    ByteBuf chunk;
                    try {
                        chunk = sockets.recv(fd, TCP_READ_CHUNK);
                    } catch (ErrnoException e) {
                        if (e.errno() == Errno.EAGAIN) {
                            return;
                        }
                        throw e;
                    }
                    byte[] bytes = new byte[chunk.readableBytes()];
                    chunk.readBytes(bytes);
                    chunk.release();
                    if (bytes.length == 0) {
                        end(null);
                        return;
                    }
                    receiver.accept(bytes);
                }
            } catch (ErrnoException e) {
                end(e);
            }
        }

        private void flush() throws ErrnoException {
            while (!closed && !unsent.isEmpty()
                    && (sockets.poll(fd, Readiness.POLLOUT) & Readiness.POLLOUT) != 0) {
                ByteBuf head = unsent.peek();
                try {
                    sockets.send(fd, head);
                } catch (ErrnoException e) {
                    if (e.errno() == Errno.EAGAIN) {
                        return; // the send buffer is full: POLLOUT comes back with room
                    }
                    throw e;
                }
                if (!head.isReadable()) {
                    unsent.poll().release();
                }
            }
        }

        private void end(ErrnoException e) {
            if (!closed) {
                close();
                closedBy.accept(e);
            }
        }

        @Override
        public void close() {
            super.close();
            while (!unsent.isEmpty()) {
                unsent.poll().release();
            }
        }
    }

}
