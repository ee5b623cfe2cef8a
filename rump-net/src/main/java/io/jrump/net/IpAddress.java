package io.jrump.net;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IPv4 or an IPv6 address: what TCP, UDP and the sockets hold, so one transport serves both
 * families. An IPv4-mapped IPv6 address ({@code ::ffff:a.b.c.d}) is how a dual-stack AF_INET6
 * socket names an IPv4 peer; {@link #unmapped()} turns it back into the IPv4 address the stack
 * uses inside.
 */
public sealed interface IpAddress permits Ipv4Address, Ipv6Address {
    /** 4 or 6. */
    int version();

    boolean isUnspecified();

    boolean isLoopback();

    boolean isMulticast();

    /** The IPv4 limited broadcast; never true of an IPv6 address. */
    default boolean isBroadcast() {
        return false;
    }

    /** The address in network order: 4 or 16 bytes. */
    byte[] toBytes();

    /** The IPv4 address inside an IPv4-mapped IPv6 address; any other address as it is. */
    default IpAddress unmapped() {
        if (this instanceof Ipv6Address v6 && v6.isIpv4Mapped()) {
            return new Ipv4Address((int) v6.low());
        }
        return this;
    }

    /** The wildcard address of a family (4 or 6). */
    static IpAddress unspecified(int version) {
        return version == 6 ? Ipv6Address.UNSPECIFIED : Ipv4Address.ANY;
    }

    /** Parses dotted-quad or RFC 4291 text (no zone, no prefix); IllegalArgumentException otherwise. */
    static IpAddress parse(String text) {
        return text.indexOf(':') >= 0 ? Ipv6Address.parse(text) : Ipv4Address.parse(text);
    }

    /** The address of 4 or 16 bytes in network order. */
    static IpAddress of(byte[] bytes) {
        return switch (bytes.length) {
            case 4 -> new Ipv4Address((bytes[0] & 0xff) << 24 | (bytes[1] & 0xff) << 16 | (bytes[2] & 0xff) << 8
                    | bytes[3] & 0xff);
            case 16 -> Ipv6Address.of(bytes, 0);
            default -> throw new IllegalArgumentException(bytes.length + " address bytes, not 4 or 16");
        };
    }

    /** A Java address of the same family and bytes (no name look-up; the scope of a link-local one is lost). */
    static IpAddress of(InetAddress address) {
        return of(address.getAddress());
    }

    /**
     * The Java address. An IPv4-mapped IPv6 address comes back as an {@link Inet4Address}, as the
     * JDK itself gives it; {@code scopeId} (an interface index, or 0) is set on an IPv6 link-local one.
     */
    default InetAddress toInetAddress(int scopeId) {
        try {
            if (this instanceof Ipv6Address v6 && v6.isLinkLocal() && scopeId > 0) {
                return Inet6Address.getByAddress(null, toBytes(), scopeId);
            }
            return InetAddress.getByAddress(toBytes());
        } catch (UnknownHostException e) {
            throw new AssertionError("4 or 16 bytes are always an address", e);
        }
    }

    /** As {@link #toInetAddress(int)} with no scope. */
    default InetAddress toInetAddress() {
        return toInetAddress(0);
    }

    /** The IPv4-mapped IPv6 form of an IPv4 address; an IPv6 address as it is. */
    default Ipv6Address mapped() {
        if (this instanceof Ipv4Address v4) {
            return new Ipv6Address(0, 0xffff_0000_0000L | (v4.bits() & 0xffff_ffffL));
        }
        return (Ipv6Address) this;
    }
}
