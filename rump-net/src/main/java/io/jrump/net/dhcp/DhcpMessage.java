package io.jrump.net.dhcp;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import java.util.Locale;
import java.util.Objects;

/**
 * A DHCP message (RFC 2131 §2) on Ethernet: the fixed header's fields and the options. Of the
 * flags only Broadcast is kept (the others must be zero, RFC 2131 §2, and are ignored); sname
 * and file are not kept and are emitted as zeros. {@link #emit} writes the options in a fixed
 * order and pads the message to 300 bytes, the least a BOOTP relay must accept (RFC 1542 §2.1),
 * so received messages round-trip as records, not byte for byte. Immutable.
 *
 * @param op {@link DhcpPacket#BOOTREQUEST} or {@link DhcpPacket#BOOTREPLY}
 */
public record DhcpMessage(
        int op,
        int hops,
        int xid,
        int secs,
        boolean broadcast,
        Ipv4Address ciaddr,
        Ipv4Address yiaddr,
        Ipv4Address siaddr,
        Ipv4Address giaddr,
        MacAddress chaddr,
        DhcpOptions options) {

    /** The least length {@link #emit} writes (RFC 1542 §2.1). */
    public static final int MIN_EMITTED_LENGTH = 300;

    public DhcpMessage {
        if (op != DhcpPacket.BOOTREQUEST && op != DhcpPacket.BOOTREPLY) {
            throw new IllegalArgumentException("op " + op);
        }
        if (hops < 0 || hops > 255 || secs < 0 || secs > 0xffff) {
            throw new IllegalArgumentException("hops " + hops + " or secs " + secs + " out of range");
        }
        Objects.requireNonNull(ciaddr, "ciaddr");
        Objects.requireNonNull(yiaddr, "yiaddr");
        Objects.requireNonNull(siaddr, "siaddr");
        Objects.requireNonNull(giaddr, "giaddr");
        Objects.requireNonNull(chaddr, "chaddr");
        Objects.requireNonNull(options, "options");
    }

    /** A client's message: op BOOTREQUEST, no hops, server and relay addresses zero. */
    public static DhcpMessage request(int xid, int secs, boolean broadcast, Ipv4Address ciaddr, MacAddress chaddr,
            DhcpOptions options) {
        return new DhcpMessage(DhcpPacket.BOOTREQUEST, 0, xid, secs, broadcast, ciaddr, Ipv4Address.ANY,
                Ipv4Address.ANY, Ipv4Address.ANY, chaddr, options);
    }

    public static DhcpMessage parse(DhcpPacket p) {
        return new DhcpMessage(p.op(), p.hops(), p.xid(), p.secs(), p.broadcast(), p.ciaddr(), p.yiaddr(),
                p.siaddr(), p.giaddr(), p.chaddr(), DhcpOptions.parse(p));
    }

    /** Parses the buffer's readable bytes. */
    public static DhcpMessage parse(ByteBuf buf) throws ErrnoException {
        return parse(DhcpPacket.parse(buf));
    }

    public DhcpMessageType type() {
        return options.messageType();
    }

    /** The bytes {@link #emit} writes. */
    public int bufferLength() {
        return Math.max(MIN_EMITTED_LENGTH, DhcpPacket.OPTIONS + options.bufferLength());
    }

    /** Writes the message at absolute {@code offset}, padded with zeros to {@link #bufferLength}. */
    public void emit(ByteBuf buf, int offset) {
        int length = bufferLength();
        if (offset < 0 || offset > buf.capacity() - length) {
            throw new IndexOutOfBoundsException("range " + offset + "+" + length + " outside a buffer of capacity "
                    + buf.capacity());
        }
        buf.setZero(offset, length);
        buf.setByte(offset + DhcpPacket.OP, op);
        buf.setByte(offset + DhcpPacket.HTYPE, DhcpPacket.HTYPE_ETHERNET);
        buf.setByte(offset + DhcpPacket.HLEN, MacAddress.LENGTH);
        buf.setByte(offset + DhcpPacket.HOPS, hops);
        buf.setInt(offset + DhcpPacket.XID, xid);
        buf.setShort(offset + DhcpPacket.SECS, secs);
        buf.setShort(offset + DhcpPacket.FLAGS, broadcast ? DhcpPacket.FLAG_BROADCAST : 0);
        buf.setInt(offset + DhcpPacket.CIADDR, ciaddr.bits());
        buf.setInt(offset + DhcpPacket.YIADDR, yiaddr.bits());
        buf.setInt(offset + DhcpPacket.SIADDR, siaddr.bits());
        buf.setInt(offset + DhcpPacket.GIADDR, giaddr.bits());
        buf.setBytes(offset + DhcpPacket.CHADDR, chaddr.toBytes());
        buf.setInt(offset + DhcpPacket.COOKIE, DhcpPacket.MAGIC_COOKIE);
        options.emit(buf, offset + DhcpPacket.OPTIONS);
    }

    /** A new heap buffer holding the emitted message as its readable bytes. */
    public ByteBuf toByteBuf() {
        ByteBuf b = io.netty.buffer.Unpooled.buffer(bufferLength());
        emit(b, 0);
        return b.writerIndex(bufferLength());
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "DHCP %s xid 0x%08x ciaddr %s yiaddr %s chaddr %s %s", type(), xid, ciaddr,
                yiaddr, chaddr, options);
    }
}
