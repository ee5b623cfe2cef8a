package io.jrump.net.wire;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.netty.buffer.ByteBuf;

/** Helpers shared by the views: range checks, error construction, MAC and address access. */
final class Wire {
    private Wire() {}

    /** The format error: names the structure, the field and its offset. */
    static ErrnoException malformed(String detail) {
        return new MalformedPacketException(Errno.EBADMSG, detail);
    }

    /** A well-formed packet of a kind this package does not handle. */
    static ErrnoException unsupported(String detail) {
        return new MalformedPacketException(Errno.EPROTONOSUPPORT, detail);
    }

    /** Checks that {@code [offset, offset + length)} lies inside the buffer's capacity (a caller bug otherwise). */
    static void checkRange(ByteBuf buf, int offset, int length) {
        if (offset < 0 || length < 0 || offset > buf.capacity() - length) {
            throw new IndexOutOfBoundsException(
                    "range " + offset + "+" + length + " outside a buffer of capacity " + buf.capacity());
        }
    }

    static MacAddress getMac(ByteBuf buf, int index) {
        return MacAddress.of((long) buf.getUnsignedShort(index) << 32 | buf.getUnsignedInt(index + 2));
    }

    static void setMac(ByteBuf buf, int index, MacAddress mac) {
        long v = mac.toLong();
        buf.setShort(index, (int) (v >>> 32));
        buf.setInt(index + 2, (int) v);
    }

    static Ipv4Address getIpv4(ByteBuf buf, int index) {
        return new Ipv4Address(buf.getInt(index));
    }

    static void setIpv4(ByteBuf buf, int index, Ipv4Address address) {
        buf.setInt(index, address.bits());
    }

    static Ipv6Address getIpv6(ByteBuf buf, int index) {
        return new Ipv6Address(buf.getLong(index), buf.getLong(index + 8));
    }

    static void setIpv6(ByteBuf buf, int index, Ipv6Address address) {
        buf.setLong(index, address.high());
        buf.setLong(index + 8, address.low());
    }

    static void checkU8(String what, int v) {
        if (v < 0 || v > 0xff) {
            throw new IllegalArgumentException(what + " " + v + " out of 0..255");
        }
    }

    static void checkU16(String what, int v) {
        if (v < 0 || v > 0xffff) {
            throw new IllegalArgumentException(what + " " + v + " out of 0..65535");
        }
    }
}
