package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import java.util.Locale;

/**
 * A view over an ARP packet (RFC 826) for Ethernet hardware addresses and IPv4 protocol
 * addresses, the only pair this package handles: 28 bytes.
 *
 * <p>Obtained from {@link #parse}, which rejects other hardware or protocol types with {@code
 * EPROTONOSUPPORT} and short packets with {@code EBADMSG}. Not thread-safe; does not retain the buffer.
 */
public final class ArpPacket {
    /** The packet's length for Ethernet/IPv4. */
    public static final int LENGTH = 28;
    static final int HTYPE = 0; // ar$hrd
    static final int PTYPE = 2; // ar$pro
    static final int HLEN = 4; // ar$hln
    static final int PLEN = 5; // ar$pln
    static final int OPER = 6; // ar$op
    static final int SHA = 8; // ar$sha
    static final int SPA = 14; // ar$spa
    static final int THA = 18; // ar$tha
    static final int TPA = 24; // ar$tpa
    /** ar$hrd for Ethernet (IANA ARP hardware type 1). */
    public static final int HARDWARE_ETHERNET = 1;
    public static final int OPERATION_REQUEST = 1;
    public static final int OPERATION_REPLY = 2;

    private final ByteBuf buf;
    private final int offset;

    private ArpPacket(ByteBuf buf, int offset) {
        this.buf = buf;
        this.offset = offset;
    }

    public static ArpPacket parse(ByteBuf buf) throws ErrnoException {
        return parse(buf, buf.readerIndex(), buf.readableBytes());
    }

    /**
     * A checked view over {@code length} bytes at absolute {@code offset}; bytes past the 28 of
     * the packet (Ethernet padding) are ignored.
     */
    public static ArpPacket parse(ByteBuf buf, int offset, int length) throws ErrnoException {
        Wire.checkRange(buf, offset, length);
        if (length < OPER) {
            throw Wire.malformed("ARP packet of " + length + " bytes is shorter than its fixed header");
        }
        int htype = buf.getUnsignedShort(offset + HTYPE);
        int ptype = buf.getUnsignedShort(offset + PTYPE);
        int hlen = buf.getUnsignedByte(offset + HLEN);
        int plen = buf.getUnsignedByte(offset + PLEN);
        if (htype != HARDWARE_ETHERNET || ptype != EtherType.IPV4.value()) {
            throw Wire.unsupported(String.format(Locale.ROOT, 
                    "ARP hardware type %d, protocol type 0x%04x at offset 0: only Ethernet/IPv4 is supported",
                    htype, ptype));
        }
        if (hlen != MacAddress.LENGTH || plen != 4) {
            throw Wire.malformed("ARP hardware length " + hlen + " (offset 4) or protocol length " + plen
                    + " (offset 5) is not 6 and 4 for Ethernet/IPv4");
        }
        if (length < LENGTH) {
            throw Wire.malformed("ARP packet of " + length + " bytes is shorter than the 28 of Ethernet/IPv4");
        }
        return new ArpPacket(buf, offset);
    }

    public int operation() {
        return buf.getUnsignedShort(offset + OPER);
    }

    public MacAddress senderHardwareAddress() {
        return Wire.getMac(buf, offset + SHA);
    }

    public Ipv4Address senderProtocolAddress() {
        return Wire.getIpv4(buf, offset + SPA);
    }

    public MacAddress targetHardwareAddress() {
        return Wire.getMac(buf, offset + THA);
    }

    public Ipv4Address targetProtocolAddress() {
        return Wire.getIpv4(buf, offset + TPA);
    }

    @Override
    public String toString() {
        return "ARP op " + operation() + " " + senderHardwareAddress() + " " + senderProtocolAddress() + " > "
                + targetHardwareAddress() + " " + targetProtocolAddress();
    }
}
