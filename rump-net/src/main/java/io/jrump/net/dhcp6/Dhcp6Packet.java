package io.jrump.net.dhcp6;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.dhcp.DhcpErrors;
import io.jrump.net.dns.DnsName;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A view over a DHCPv6 client/server message (RFC 8415 §8, the UDP payload): msg-type, a 24-bit
 * transaction-id, then options as 16-bit code, 16-bit length and value (§21.1). {@link #parse}
 * walks the options once, checking each length against the message and against what RFC 8415
 * and RFC 3646 say the value holds (see {@link Dhcp6Option}); it refuses, naming the option and
 * its offset (hex, from the message start): an option header or value running past the message,
 * more than {@link #MAX_OPTIONS} options, an option this package interprets given twice, and in
 * the Domain Search List a label over 63 bytes, a name over 255, a compression pointer (§10
 * forbids them) or a name without its root label. Relay messages (12, 13) have another layout and
 * are refused with EPROTONOSUPPORT; msg-type 0 is reserved, refused as malformed. Options this
 * package does not interpret, and encapsulated ones, are kept as they are. Work and memory are
 * bounded by the message length, at most {@link #MAX_LENGTH}.
 *
 * <p>Not thread-safe; does not retain the buffer beyond the view's life.
 */
public final class Dhcp6Packet {
    /** msg-type and transaction-id. */
    public static final int HEADER_LENGTH = 4;
    /** The largest UDP payload over IPv6 without jumbograms. */
    public static final int MAX_LENGTH = 65_527;
    /** More options than any server sends an information-request client; bounds the index. */
    public static final int MAX_OPTIONS = 256;
    static final int OPTION_HEADER = 4;

    private final ByteBuf buf;
    private final int offset;
    private final int[] codes;
    /** Per option, the offset of its code field relative to the message. */
    private final int[] at;
    private final int count;
    private final List<DnsName> domainList;

    private Dhcp6Packet(ByteBuf buf, int offset, int[] codes, int[] at, int count, List<DnsName> domainList) {
        this.buf = buf;
        this.offset = offset;
        this.codes = codes;
        this.at = at;
        this.count = count;
        this.domainList = domainList;
    }

    public static Dhcp6Packet parse(ByteBuf buf) throws ErrnoException {
        return parse(buf, buf.readerIndex(), buf.readableBytes());
    }

    /** A checked view over the {@code length} bytes at absolute {@code offset}. */
    public static Dhcp6Packet parse(ByteBuf buf, int offset, int length) throws ErrnoException {
        if (offset < 0 || length < 0 || offset > buf.capacity() - length) {
            throw new IndexOutOfBoundsException("range " + offset + "+" + length + " outside a buffer of capacity "
                    + buf.capacity());
        }
        if (length < HEADER_LENGTH) {
            throw DhcpErrors.malformed("DHCPv6 message of " + length + " bytes is shorter than the 4-byte header");
        }
        if (length > MAX_LENGTH) {
            throw DhcpErrors.malformed("DHCPv6 message of " + length + " bytes is longer than " + MAX_LENGTH);
        }
        int type = buf.getUnsignedByte(offset);
        if (type == 0) {
            throw DhcpErrors.malformed("DHCPv6 msg-type 0 at offset 0x0 is reserved");
        }
        if (type == Dhcp6MessageType.RELAY_FORW || type == Dhcp6MessageType.RELAY_REPL) {
            throw DhcpErrors.unsupported("DHCPv6 " + Dhcp6MessageType.name(type)
                    + " at offset 0x0: relay messages are not handled");
        }
        int[] codes = new int[16];
        int[] at = new int[16];
        int count = 0;
        List<DnsName> domainList = null;
        int i = HEADER_LENGTH;
        while (i < length) {
            if (length - i < OPTION_HEADER) {
                throw DhcpErrors.malformed(String.format(Locale.ROOT,
                        "DHCPv6 option header at offset 0x%x is truncated: %d bytes left of the %d-byte message",
                        i, length - i, length));
            }
            int code = buf.getUnsignedShort(offset + i);
            int len = buf.getUnsignedShort(offset + i + 2);
            if (len > length - i - OPTION_HEADER) {
                throw DhcpErrors.malformed(String.format(Locale.ROOT,
                        "DHCPv6 %s at offset 0x%x: length %d runs past the %d-byte message",
                        Dhcp6Option.name(code), i, len, length));
            }
            if (count == MAX_OPTIONS) {
                throw DhcpErrors.malformed(String.format(Locale.ROOT,
                        "DHCPv6 %s at offset 0x%x is past the %d options this client reads",
                        Dhcp6Option.name(code), i, MAX_OPTIONS));
            }
            if (Dhcp6Option.isKnown(code)) {
                for (int k = 0; k < count; k++) {
                    if (codes[k] == code) {
                        throw DhcpErrors.malformed(String.format(Locale.ROOT,
                                "DHCPv6 %s at offset 0x%x repeats the one at offset 0x%x",
                                Dhcp6Option.name(code), i, at[k]));
                    }
                }
            }
            checkValue(buf, offset + i + OPTION_HEADER, code, len, i);
            if (code == Dhcp6Option.DOMAIN_LIST) {
                domainList = names(buf, offset, i + OPTION_HEADER, len);
            }
            if (count == codes.length) {
                codes = Arrays.copyOf(codes, count * 2);
                at = Arrays.copyOf(at, count * 2);
            }
            codes[count] = code;
            at[count++] = i;
            i += OPTION_HEADER + len;
        }
        return new Dhcp6Packet(buf, offset, codes, at, count, domainList == null ? List.of() : domainList);
    }

    /** What RFC 8415 §21 and RFC 3646 say each option we interpret holds (the Domain Search List apart). */
    private static void checkValue(ByteBuf buf, int index, int code, int len, int at) throws ErrnoException {
        String bad = switch (code) {
            case Dhcp6Option.CLIENT_ID, Dhcp6Option.SERVER_ID -> {
                byte[] duid = new byte[len];
                buf.getBytes(index, duid);
                yield Duid.problem(duid);
            }
            case Dhcp6Option.ORO -> len == 0 ? "length 0: no option codes"
                    : len % 2 != 0 ? "length " + len + " is odd" : null;
            case Dhcp6Option.ELAPSED_TIME -> len == 2 ? null : "length " + len + " is not 2";
            case Dhcp6Option.STATUS_CODE -> len >= 2 ? null : "length " + len + " is below 2";
            case Dhcp6Option.DNS_SERVERS -> len > 0 && len % 16 == 0 ? null
                    : "length " + len + " is not a positive multiple of 16";
            case Dhcp6Option.DOMAIN_LIST -> len > 0 ? null : "length 0: no names";
            case Dhcp6Option.INFORMATION_REFRESH_TIME, Dhcp6Option.SOL_MAX_RT, Dhcp6Option.INF_MAX_RT ->
                    len == 4 ? null : "length " + len + " is not 4";
            default -> null;
        };
        if (bad != null) {
            throw DhcpErrors.malformed(String.format(Locale.ROOT, "DHCPv6 %s at offset 0x%x: %s",
                    Dhcp6Option.name(code), at, bad));
        }
    }

    /**
     * The names of a Domain Search List value at {@code from} (relative to the message) of {@code len}
     * bytes: uncompressed, each ending with the root label (RFC 8415 §10, RFC 1035 §3.1).
     */
    private static List<DnsName> names(ByteBuf buf, int offset, int from, int len) throws ErrnoException {
        List<DnsName> names = new ArrayList<>();
        int end = from + len;
        int i = from;
        while (i < end) {
            int nameAt = i;
            List<String> labels = new ArrayList<>();
            int wire = 0;
            while (true) {
                if (i >= end) {
                    throw DhcpErrors.malformed(String.format(Locale.ROOT,
                            "DHCPv6 Domain Search List (24): the name at offset 0x%x runs past the option's end "
                                    + "(0x%x) without its root label", nameAt, end));
                }
                int l = buf.getUnsignedByte(offset + i);
                if ((l & 0xc0) == 0xc0) {
                    throw DhcpErrors.malformed(String.format(Locale.ROOT,
                            "DHCPv6 Domain Search List (24): compression pointer at offset 0x%x "
                                    + "(RFC 8415 §10 forbids compression)", i));
                }
                if (l > DnsName.MAX_LABEL_LENGTH) {
                    throw DhcpErrors.malformed(String.format(Locale.ROOT,
                            "DHCPv6 Domain Search List (24): label length %d at offset 0x%x is over 63", l, i));
                }
                wire += 1 + l;
                if (wire > DnsName.MAX_WIRE_LENGTH) {
                    throw DhcpErrors.malformed(String.format(Locale.ROOT,
                            "DHCPv6 Domain Search List (24): the name at offset 0x%x is over 255 bytes", nameAt));
                }
                if (l == 0) {
                    i++;
                    break;
                }
                if (l > end - i - 1) {
                    throw DhcpErrors.malformed(String.format(Locale.ROOT,
                            "DHCPv6 Domain Search List (24): the %d-byte label at offset 0x%x runs past the "
                                    + "option's end (0x%x)", l, i, end));
                }
                labels.add(buf.toString(offset + i + 1, l, StandardCharsets.ISO_8859_1));
                i += 1 + l;
            }
            names.add(new DnsName(labels));
        }
        return names;
    }

    public int type() {
        return buf.getUnsignedByte(offset);
    }

    /** The 24-bit transaction-id. */
    public int transactionId() {
        return buf.getUnsignedMedium(offset + 1);
    }

    public int optionCount() {
        return count;
    }

    /** The code of the {@code i}-th option, in the order they came. */
    public int optionCode(int i) {
        return codes[checkIndex(i)];
    }

    /** The value of the {@code i}-th option as a slice (shares memory). */
    public ByteBuf optionValue(int i) {
        int a = at[checkIndex(i)];
        return buf.slice(offset + a + OPTION_HEADER, buf.getUnsignedShort(offset + a + 2));
    }

    /** The offset of the {@code i}-th option's code field, from the message start. */
    public int optionOffset(int i) {
        return at[checkIndex(i)];
    }

    /** Whether an option {@code code} is present. */
    public boolean has(int code) {
        return indexOf(code) >= 0;
    }

    /** The value of the first option {@code code} as a slice (shares memory), or null if absent. */
    public ByteBuf option(int code) {
        int i = indexOf(code);
        return i < 0 ? null : optionValue(i);
    }

    /** The names of the Domain Search List, empty if absent. */
    public List<DnsName> domainList() {
        return domainList;
    }

    private int indexOf(int code) {
        for (int i = 0; i < count; i++) {
            if (codes[i] == code) {
                return i;
            }
        }
        return -1;
    }

    private int checkIndex(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException("option " + i + " of " + count);
        }
        return i;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "DHCPv6 %s xid 0x%06x, %d options", Dhcp6MessageType.name(type()),
                transactionId(), count);
    }
}
