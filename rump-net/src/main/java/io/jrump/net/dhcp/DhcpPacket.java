package io.jrump.net.dhcp;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import java.util.Arrays;
import java.util.Locale;

/**
 * A view over a DHCP message (RFC 2131 §2, the UDP payload). {@link #parse} checks the fixed
 * header (op, Ethernet hardware type and length, the magic cookie) and walks the options field
 * once, checking every option's length against the message and against what RFC 2132 says its
 * value holds. It refuses, naming the option and its offset: an option whose length runs past
 * the message, an option given twice (RFC 3396 concatenation is not supported), options without
 * an End, Option Overload (52; options in sname/file are not read) and a message without a DHCP
 * Message Type (a BOOTP message). sname and file are passed over. Unknown options are kept as they
 * are. Work and memory are bounded by the message length, at most {@link #MAX_LENGTH}.
 *
 * <p>Not thread-safe; does not retain the buffer.
 */
public final class DhcpPacket {
    /** The fixed header (236 bytes) and the magic cookie. */
    public static final int MIN_LENGTH = 240;
    /** The largest UDP payload over IPv4. */
    public static final int MAX_LENGTH = 65_507;
    public static final int MAGIC_COOKIE = 0x63825363;
    public static final int BOOTREQUEST = 1;
    public static final int BOOTREPLY = 2;
    static final int OP = 0;
    static final int HTYPE = 1;
    static final int HLEN = 2;
    static final int HOPS = 3;
    static final int XID = 4;
    static final int SECS = 8;
    static final int FLAGS = 10;
    static final int CIADDR = 12;
    static final int YIADDR = 16;
    static final int SIADDR = 20;
    static final int GIADDR = 24;
    static final int CHADDR = 28;
    static final int SNAME = 44;
    static final int FILE = 108;
    static final int COOKIE = 236;
    static final int OPTIONS = 240;
    static final int FLAG_BROADCAST = 0x8000;
    static final int HTYPE_ETHERNET = 1;

    private final ByteBuf buf;
    private final int offset;
    /** Per code, the offset of the option's length byte relative to the message, or 0 if absent. */
    private final int[] optionAt;
    /** Codes of the options present, in the order they came. */
    private final int[] order;
    private final int count;

    private DhcpPacket(ByteBuf buf, int offset, int[] optionAt, int[] order, int count) {
        this.buf = buf;
        this.offset = offset;
        this.optionAt = optionAt;
        this.order = order;
        this.count = count;
    }

    public static DhcpPacket parse(ByteBuf buf) throws ErrnoException {
        return parse(buf, buf.readerIndex(), buf.readableBytes());
    }

    /** A checked view over the {@code length} bytes at absolute {@code offset}. */
    public static DhcpPacket parse(ByteBuf buf, int offset, int length) throws ErrnoException {
        if (offset < 0 || length < 0 || offset > buf.capacity() - length) {
            throw new IndexOutOfBoundsException("range " + offset + "+" + length + " outside a buffer of capacity "
                    + buf.capacity());
        }
        if (length < MIN_LENGTH) {
            throw DhcpErrors.malformed("DHCP message of " + length + " bytes is shorter than the 240-byte header");
        }
        if (length > MAX_LENGTH) {
            throw DhcpErrors.malformed("DHCP message of " + length + " bytes is longer than 65507");
        }
        int op = buf.getUnsignedByte(offset + OP);
        if (op != BOOTREQUEST && op != BOOTREPLY) {
            throw DhcpErrors.malformed("DHCP op " + op + " at offset 0x0 is neither BOOTREQUEST (1) nor BOOTREPLY (2)");
        }
        int htype = buf.getUnsignedByte(offset + HTYPE);
        int hlen = buf.getUnsignedByte(offset + HLEN);
        if (htype != HTYPE_ETHERNET || hlen != MacAddress.LENGTH) {
            throw DhcpErrors.unsupported("DHCP htype " + htype + " hlen " + hlen
                    + " at offset 0x1 is not Ethernet (htype 1, hlen 6)");
        }
        int cookie = buf.getInt(offset + COOKIE);
        if (cookie != MAGIC_COOKIE) {
            throw DhcpErrors.unsupported(String.format(Locale.ROOT,
                    "DHCP magic cookie 0x%08x at offset 0xec is not 0x63825363 (a BOOTP message)", cookie));
        }
        int[] at = new int[256];
        int[] order = new int[64];
        int count = 0;
        int i = OPTIONS;
        boolean ended = false;
        while (i < length) {
            int code = buf.getUnsignedByte(offset + i);
            if (code == DhcpOption.PAD) {
                i++;
                continue;
            }
            if (code == DhcpOption.END) {
                ended = true;
                break;
            }
            if (i + 1 >= length) {
                throw DhcpErrors.malformed(String.format(Locale.ROOT,
                        "DHCP option %d at offset 0x%x is truncated: no length byte", code, i));
            }
            int len = buf.getUnsignedByte(offset + i + 1);
            if (i + 2 + len > length) {
                throw DhcpErrors.malformed(String.format(Locale.ROOT,
                        "DHCP option %d at offset 0x%x is truncated: length %d runs past the %d-byte message",
                        code, i, len, length));
            }
            if (at[code] != 0) {
                throw DhcpErrors.malformed(String.format(Locale.ROOT,
                        "DHCP option %d at offset 0x%x repeats the one at offset 0x%x", code, i, at[code] - 1));
            }
            checkValue(buf, offset + i + 2, code, len, i);
            at[code] = i + 1;
            if (count == order.length) {
                order = Arrays.copyOf(order, order.length * 2); // at most 254 distinct codes
            }
            order[count++] = code;
            i += 2 + len;
        }
        if (!ended) {
            throw DhcpErrors.malformed("DHCP options at offset 0xf0 have no End option (255) before the end of the "
                    + length + "-byte message");
        }
        if (at[DhcpOption.MESSAGE_TYPE] == 0) {
            throw DhcpErrors.unsupported("DHCP message without a Message Type option (53): a BOOTP message");
        }
        return new DhcpPacket(buf, offset, at, order, count);
    }

    /** What RFC 2132 says each option we read holds: its length, and values with a range. */
    private static void checkValue(ByteBuf buf, int index, int code, int len, int at) throws ErrnoException {
        String bad = switch (code) {
            case DhcpOption.SUBNET_MASK, DhcpOption.REQUESTED_ADDRESS, DhcpOption.SERVER_ID, DhcpOption.LEASE_TIME,
                    DhcpOption.RENEWAL_TIME, DhcpOption.REBINDING_TIME -> len == 4 ? null : "length " + len + " is not 4";
            case DhcpOption.ROUTER, DhcpOption.DNS_SERVER ->
                    len >= 4 && len % 4 == 0 ? null : "length " + len + " is not a positive multiple of 4";
            case DhcpOption.DOMAIN_NAME, DhcpOption.PARAMETER_REQUEST_LIST -> len >= 1 ? null : "length 0";
            case DhcpOption.CLIENT_ID -> len >= 2 ? null : "length " + len + " is below 2";
            case DhcpOption.INTERFACE_MTU -> len != 2 ? "length " + len + " is not 2"
                    : buf.getUnsignedShort(index) < 68 ? "MTU " + buf.getUnsignedShort(index) + " is below 68" : null;
            case DhcpOption.MESSAGE_TYPE -> len != 1 ? "length " + len + " is not 1"
                    : DhcpMessageType.of(buf.getUnsignedByte(index)) == null
                            ? "message type " + buf.getUnsignedByte(index) + " is not one of RFC 2132's 1..8" : null;
            default -> null;
        };
        if (code == DhcpOption.OVERLOAD) {
            throw DhcpErrors.unsupported(String.format(Locale.ROOT,
                    "DHCP option 52 (Option Overload) at offset 0x%x: options in sname/file are not supported", at));
        }
        if (bad != null) {
            throw DhcpErrors.malformed(String.format(Locale.ROOT, "DHCP option %d at offset 0x%x: %s", code, at, bad));
        }
    }

    public int op() {
        return buf.getUnsignedByte(offset + OP);
    }

    public int hops() {
        return buf.getUnsignedByte(offset + HOPS);
    }

    public int xid() {
        return buf.getInt(offset + XID);
    }

    public int secs() {
        return buf.getUnsignedShort(offset + SECS);
    }

    public int flags() {
        return buf.getUnsignedShort(offset + FLAGS);
    }

    public boolean broadcast() {
        return (flags() & FLAG_BROADCAST) != 0;
    }

    public Ipv4Address ciaddr() {
        return new Ipv4Address(buf.getInt(offset + CIADDR));
    }

    public Ipv4Address yiaddr() {
        return new Ipv4Address(buf.getInt(offset + YIADDR));
    }

    public Ipv4Address siaddr() {
        return new Ipv4Address(buf.getInt(offset + SIADDR));
    }

    public Ipv4Address giaddr() {
        return new Ipv4Address(buf.getInt(offset + GIADDR));
    }

    public MacAddress chaddr() {
        return MacAddress.of((long) buf.getUnsignedShort(offset + CHADDR) << 32 | buf.getUnsignedInt(offset + CHADDR + 2));
    }

    /** Whether option {@code code} is present. */
    public boolean has(int code) {
        return code > 0 && code < 255 && optionAt[code] != 0;
    }

    /** The value of option {@code code} as a slice (shares memory), or null if absent. */
    public ByteBuf option(int code) {
        if (!has(code)) {
            return null;
        }
        int at = optionAt[code];
        return buf.slice(offset + at + 1, buf.getUnsignedByte(offset + at));
    }

    /** The codes present, in the order they came. */
    public int[] optionCodes() {
        return Arrays.copyOf(order, count);
    }

    @Override
    public String toString() {
        return "DHCP " + DhcpMessageType.of(option(DhcpOption.MESSAGE_TYPE).getUnsignedByte(0))
                + String.format(Locale.ROOT, " xid 0x%08x", xid()) + " chaddr " + chaddr();
    }
}
