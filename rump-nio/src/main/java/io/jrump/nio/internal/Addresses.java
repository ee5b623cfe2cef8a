package io.jrump.nio.internal;

import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.Sockets;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.channels.UnsupportedAddressTypeException;
import java.util.Objects;

/** {@link InetSocketAddress} to the stack's {@link Sockets.SocketAddress} and back; IPv4 only. */
public final class Addresses {
    private Addresses() {
    }

    /** As the JDK's {@code Net.checkAddress}: an {@link InetSocketAddress}, resolved, IPv4 (or the IPv6 wildcard). */
    public static InetSocketAddress check(SocketAddress sa) {
        Objects.requireNonNull(sa);
        if (!(sa instanceof InetSocketAddress isa)) {
            throw new UnsupportedAddressTypeException();
        }
        if (isa.isUnresolved()) {
            throw new UnresolvedAddressException();
        }
        InetAddress a = isa.getAddress();
        if (a instanceof Inet6Address && !a.isAnyLocalAddress()) {
            throw new UnsupportedAddressTypeException(); // the stack is IPv4 only
        }
        return isa;
    }

    public static Sockets.SocketAddress toKernel(InetSocketAddress isa) {
        InetAddress a = isa.getAddress();
        if (a.isAnyLocalAddress()) {
            return new Sockets.SocketAddress(Ipv4Address.ANY, isa.getPort());
        }
        byte[] b = ((Inet4Address) a).getAddress();
        return new Sockets.SocketAddress(Ipv4Address.of(b[0] & 0xff, b[1] & 0xff, b[2] & 0xff, b[3] & 0xff), isa.getPort());
    }

    /** For a connect: the wildcard means this host, as the JDK has it. */
    public static Sockets.SocketAddress toKernelPeer(InetSocketAddress isa) {
        Sockets.SocketAddress k = toKernel(isa);
        return k.address().isUnspecified() ? new Sockets.SocketAddress(Ipv4Address.LOOPBACK, k.port()) : k;
    }

    public static InetAddress inet(Ipv4Address a) {
        int v = a.bits();
        try {
            return InetAddress.getByAddress(new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v});
        } catch (UnknownHostException e) {
            throw new AssertionError("four bytes are an IPv4 address", e);
        }
    }

    public static InetSocketAddress fromKernel(Sockets.SocketAddress sa) {
        return new InetSocketAddress(inet(sa.address()), sa.port());
    }
}
