package io.jrump.netty.internal;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.Sockets;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** Conversions between {@code java.net} addresses and the stack's. Stateless, thread-safe. */
public final class Addresses {
    private Addresses() {
    }

    /**
     * The stack's address for a {@code java.net} one: IPv4, the wildcard, or {@code ::1} (taken as
     * 127.0.0.1, since the stack is IPv4 only). {@code EAFNOSUPPORT} for any other IPv6 address,
     * {@code EINVAL} for an address that is not an {@code InetSocketAddress}.
     */
    public static Sockets.SocketAddress toStack(SocketAddress address) throws ErrnoException {
        if (!(address instanceof InetSocketAddress inet)) {
            throw new ErrnoException(Errno.EINVAL, "not an InetSocketAddress: " + address);
        }
        InetAddress a = inet.getAddress();
        if (a == null) {
            throw new ErrnoException(Errno.EINVAL, "unresolved address " + inet);
        }
        Ipv4Address ip;
        if (a.isAnyLocalAddress()) {
            ip = Ipv4Address.ANY;
        } else if (a instanceof Inet4Address) {
            byte[] b = a.getAddress();
            ip = Ipv4Address.of(b[0] & 0xff, b[1] & 0xff, b[2] & 0xff, b[3] & 0xff);
        } else if (a.isLoopbackAddress()) {
            ip = Ipv4Address.LOOPBACK;
        } else {
            throw new ErrnoException(Errno.EAFNOSUPPORT, "IPv6 address " + a + " (the stack is IPv4 only)");
        }
        return new Sockets.SocketAddress(ip, inet.getPort());
    }

    /** The {@code java.net} address for one of the stack's. */
    public static InetSocketAddress toInet(Sockets.SocketAddress address) {
        return new InetSocketAddress(address.address().toInetAddress(), address.port());
    }
}
