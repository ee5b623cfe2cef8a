package io.jrump.net.stack;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.SocketCalls;
import io.jrump.net.IpAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * The stack's {@link Sockets} as the kernel's socket calls ({@code kernel.sys()}): the same calls,
 * with addresses as {@link InetSocketAddress}: {@code Inet4Address} and {@code Inet6Address} (an
 * IPv4-mapped address comes back as the {@code Inet4Address}, as the JDK gives it); an unresolved
 * address is {@code EINVAL} (the kernel does no name lookups). Thread-safe.
 */
final class SocketSyscalls implements SocketCalls {
    private final Sockets sockets;

    SocketSyscalls(Sockets sockets) {
        this.sockets = sockets;
    }

    static Sockets.SocketAddress ours(InetSocketAddress a) throws ErrnoException {
        if (a == null) {
            throw new ErrnoException(Errno.EFAULT, "no address");
        }
        if (a.isUnresolved()) {
            throw new ErrnoException(Errno.EINVAL, a + " is unresolved: the kernel takes addresses, not names");
        }
        return new Sockets.SocketAddress(IpAddress.of(a.getAddress()), a.getPort());
    }

    static InetSocketAddress java(Sockets.SocketAddress a) {
        if (a == null) {
            return null;
        }
        return new InetSocketAddress(a.address().toInetAddress(), a.port());
    }

    private static Received java(Sockets.Received r) {
        return new Received(r.length(), java(r.from()), r.truncated());
    }

    @Override
    public int socket(int domain, int type, int protocol) throws ErrnoException {
        return sockets.socket(domain, type, protocol);
    }

    @Override
    public void bind(int fd, InetSocketAddress local) throws ErrnoException {
        sockets.bind(fd, ours(local));
    }

    @Override
    public void connect(int fd, InetSocketAddress peer) throws ErrnoException {
        sockets.connect(fd, ours(peer));
    }

    @Override
    public void listen(int fd, int backlog) throws ErrnoException {
        sockets.listen(fd, backlog);
    }

    @Override
    public int accept(int fd) throws ErrnoException {
        return sockets.accept(fd);
    }

    @Override
    public int sendto(int fd, ByteBuffer src, InetSocketAddress to, int flags) throws ErrnoException {
        return sockets.sendto(fd, src, ours(to), flags);
    }

    @Override
    public int send(int fd, ByteBuffer src, int flags) throws ErrnoException {
        return sockets.send(fd, src, flags);
    }

    @Override
    public Received recvfrom(int fd, ByteBuffer dst, int flags) throws ErrnoException {
        return java(sockets.recvfrom(fd, dst, flags));
    }

    @Override
    public Received recv(int fd, ByteBuffer dst, int flags) throws ErrnoException {
        return java(sockets.recv(fd, dst, flags));
    }

    @Override
    public void shutdown(int fd, int how) throws ErrnoException {
        sockets.shutdown(fd, how);
    }

    @Override
    public InetSocketAddress getsockname(int fd) throws ErrnoException {
        return java(sockets.getsockname(fd));
    }

    @Override
    public InetSocketAddress getpeername(int fd) throws ErrnoException {
        return java(sockets.getpeername(fd));
    }

    @Override
    public void setsockopt(int fd, int level, int option, int value) throws ErrnoException {
        sockets.setsockopt(fd, level, option, value);
    }

    @Override
    public void setsockopt(int fd, int level, int option, String value) throws ErrnoException {
        sockets.setsockopt(fd, level, option, value);
    }

    @Override
    public int getsockopt(int fd, int level, int option) throws ErrnoException {
        return sockets.getsockopt(fd, level, option);
    }

    @Override
    public String getsockoptString(int fd, int level, int option) throws ErrnoException {
        return sockets.getsockoptString(fd, level, option);
    }

    @Override
    public int poll(int fd, int events) throws ErrnoException {
        return sockets.poll(fd, events);
    }

    @Override
    public void setNonBlocking(int fd, boolean on) throws ErrnoException {
        sockets.setNonBlocking(fd, on);
    }
}
