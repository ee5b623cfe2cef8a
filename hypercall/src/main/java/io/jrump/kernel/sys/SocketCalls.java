package io.jrump.kernel.sys;

import io.jrump.hypercall.ErrnoException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * The socket calls a network component (rump-net) offers the kernel's {@link Syscalls}, with
 * Linux's constants, addresses as {@link InetSocketAddress} and descriptors in the kernel's
 * {@link DescriptorTable}. Blocking calls block the caller, never the kernel's event loop.
 */
public interface SocketCalls {
    /** What {@code recvfrom} got: the byte count, the sender, and whether the datagram was cut short. */
    record Received(int length, InetSocketAddress from, boolean truncated) {
    }

    int socket(int domain, int type, int protocol) throws ErrnoException;

    void bind(int fd, InetSocketAddress local) throws ErrnoException;

    void connect(int fd, InetSocketAddress peer) throws ErrnoException;

    void listen(int fd, int backlog) throws ErrnoException;

    int accept(int fd) throws ErrnoException;

    int sendto(int fd, ByteBuffer src, InetSocketAddress to, int flags) throws ErrnoException;

    int send(int fd, ByteBuffer src, int flags) throws ErrnoException;

    Received recvfrom(int fd, ByteBuffer dst, int flags) throws ErrnoException;

    Received recv(int fd, ByteBuffer dst, int flags) throws ErrnoException;

    void shutdown(int fd, int how) throws ErrnoException;

    InetSocketAddress getsockname(int fd) throws ErrnoException;

    InetSocketAddress getpeername(int fd) throws ErrnoException;

    void setsockopt(int fd, int level, int option, int value) throws ErrnoException;

    void setsockopt(int fd, int level, int option, String value) throws ErrnoException;

    int getsockopt(int fd, int level, int option) throws ErrnoException;

    String getsockoptString(int fd, int level, int option) throws ErrnoException;

    int poll(int fd, int events) throws ErrnoException;

    void setNonBlocking(int fd, boolean on) throws ErrnoException;
}
