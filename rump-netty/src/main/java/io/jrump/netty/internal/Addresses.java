package io.jrump.netty.internal;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.stack.Sockets;
import io.netty.channel.ChannelException;
import io.netty.channel.socket.SocketProtocolFamily;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * Conversions between {@code java.net} addresses and the stack's, IPv4 and IPv6. The stack checks
 * an address against the socket's family itself: an AF_INET socket refuses an IPv6 address with
 * {@code EAFNOSUPPORT}; an AF_INET6 (dual-stack) socket takes IPv4 addresses too and names IPv4
 * peers by IPv4-mapped addresses, which come back here as {@code Inet4Address}es, as the JDK
 * gives them. The scope of an IPv6 link-local address is not carried. Stateless, thread-safe.
 */
public final class Addresses {
    private Addresses() {
    }

    /**
     * The socket domain for a Netty protocol family: {@code AF_INET} for INET, {@code AF_INET6}
     * (dual-stack) for INET6; a {@link ChannelException} (EAFNOSUPPORT) for UNIX, which the stack
     * does not have.
     */
    public static int domain(SocketProtocolFamily family) {
        return switch (family) {
            case INET -> Sockets.AF_INET;
            case INET6 -> Sockets.AF_INET6;
            default -> throw new ChannelException(new ErrnoException(Errno.EAFNOSUPPORT,
                    "protocol family " + family + " (the jrump stack has INET and INET6 only)"));
        };
    }

    /**
     * The stack's address for a {@code java.net} one given a socket of {@code domain}: either
     * family ({@code Inet4Address} or {@code Inet6Address}, IPv4-mapped ones included); on an
     * AF_INET socket the IPv6 wildcard {@code ::} is the IPv4 one, as the JDK takes it (any other
     * IPv6 address is then the stack's EAFNOSUPPORT). {@code EINVAL} for an address that is not a
     * resolved {@code InetSocketAddress}.
     */
    public static Sockets.SocketAddress toStack(SocketAddress address, int domain) throws ErrnoException {
        Sockets.SocketAddress a = toStack(address);
        if (domain == Sockets.AF_INET && a.address().version() == 6 && a.address().isUnspecified()) {
            return new Sockets.SocketAddress(Ipv4Address.ANY, a.port());
        }
        return a;
    }

    /** As {@link #toStack(SocketAddress, int)}, the address as given. */
    public static Sockets.SocketAddress toStack(SocketAddress address) throws ErrnoException {
        if (!(address instanceof InetSocketAddress inet)) {
            throw new ErrnoException(Errno.EINVAL, "not an InetSocketAddress: " + address);
        }
        InetAddress a = inet.getAddress();
        if (a == null) {
            throw new ErrnoException(Errno.EINVAL, "unresolved address " + inet);
        }
        return new Sockets.SocketAddress(IpAddress.of(a), inet.getPort());
    }

    /**
     * The stack's address for a connect's destination: as {@link #toStack}, but the wildcard means
     * this host, as the JDK has it — {@code 0.0.0.0} is 127.0.0.1 and {@code ::} is {@code ::1}.
     */
    public static Sockets.SocketAddress toStackPeer(SocketAddress address, int domain) throws ErrnoException {
        Sockets.SocketAddress to = toStack(address, domain);
        if (to.address().isUnspecified()) {
            IpAddress loopback = to.address().version() == 6 ? Ipv6Address.LOOPBACK : Ipv4Address.LOOPBACK;
            return new Sockets.SocketAddress(loopback, to.port());
        }
        return to;
    }

    /** The {@code java.net} address for one of the stack's; an IPv4-mapped one as an {@code Inet4Address}. */
    public static InetSocketAddress toInet(Sockets.SocketAddress address) {
        return new InetSocketAddress(address.address().toInetAddress(), address.port());
    }
}
