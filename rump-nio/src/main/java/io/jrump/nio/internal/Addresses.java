package io.jrump.nio.internal;

import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.Sockets;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.UnresolvedAddressException;
import java.nio.channels.UnsupportedAddressTypeException;
import java.util.Objects;

/**
 * {@link InetSocketAddress} to the stack's {@link Sockets.SocketAddress} and back, IPv4 and IPv6.
 * The wildcard of either family given to a dual-stack (AF_INET6) socket is its dual-stack
 * wildcard, as the JDK has it; an IPv4 peer of such a socket comes back as an {@code Inet4Address}.
 */
public final class Addresses {
    private Addresses() {
    }

    /**
     * As the JDK's {@code Net.checkAddress(sa, family)}: an {@link InetSocketAddress}, resolved, and
     * for an AF_INET channel an IPv4 one ({@link UnsupportedAddressTypeException} otherwise).
     */
    public static InetSocketAddress check(SocketAddress sa, int domain) {
        InetSocketAddress isa = check(sa);
        if (domain == Sockets.AF_INET && isa.getAddress() instanceof Inet6Address) {
            throw new UnsupportedAddressTypeException();
        }
        return isa;
    }

    /** As the JDK's {@code Net.checkAddress}: an {@link InetSocketAddress}, resolved. */
    public static InetSocketAddress check(SocketAddress sa) {
        Objects.requireNonNull(sa);
        if (!(sa instanceof InetSocketAddress isa)) {
            throw new UnsupportedAddressTypeException();
        }
        if (isa.isUnresolved()) {
            throw new UnresolvedAddressException();
        }
        return isa;
    }

    public static Sockets.SocketAddress toKernel(InetSocketAddress isa) {
        return new Sockets.SocketAddress(IpAddress.of(isa.getAddress()), isa.getPort());
    }

    /** For a connect: the wildcard means this host, as the JDK has it. */
    public static Sockets.SocketAddress toKernelPeer(InetSocketAddress isa) {
        Sockets.SocketAddress k = toKernel(isa);
        return k.address().isUnspecified() ? new Sockets.SocketAddress(Ipv4Address.LOOPBACK, k.port()) : k;
    }

    public static InetAddress inet(IpAddress a) {
        return a.toInetAddress();
    }

    public static InetSocketAddress fromKernel(Sockets.SocketAddress sa) {
        return new InetSocketAddress(inet(sa.address()), sa.port());
    }
}
