package io.jrump.fuzz.kit;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.wire.Checksum;
import java.nio.ByteBuffer;

/**
 * Ethernet frames with IPv4 or IPv6 packets carrying TCP, UDP or ICMP, built from fields or from
 * a {@link FuzzedDataProvider}. Checksums are filled in only when asked ({@code fixChecksums}):
 * a harness that always fixes them reaches past the checksum checks, one that never does tests
 * the checks themselves; letting the fuzzer choose does both.
 *
 * <p>Protocol numbers: {@link #ICMP} 1, {@link #TCP} 6, {@link #UDP} 17, {@link #ICMPV6} 58.
 */
public final class Frames {
    /** IP protocol number of ICMP. */
    public static final int ICMP = 1;
    /** IP protocol number of TCP. */
    public static final int TCP = 6;
    /** IP protocol number of UDP. */
    public static final int UDP = 17;
    /** IPv6 Next Header of ICMPv6. */
    public static final int ICMPV6 = 58;
    /** EtherType of IPv4. */
    public static final int ETHERTYPE_IPV4 = 0x0800;
    /** EtherType of ARP. */
    public static final int ETHERTYPE_ARP = 0x0806;
    /** EtherType of IPv6. */
    public static final int ETHERTYPE_IPV6 = 0x86dd;
    /** The source MAC of frames built here unless another is given: 02:00:00:00:00:09 (locally administered). */
    public static final MacAddress FUZZER_MAC = MacAddress.of(0x0200_0000_0009L);

    private Frames() {
    }

    /** An Ethernet II frame: destination, source, EtherType, then {@code payload}. */
    public static byte[] ethernet(MacAddress dst, MacAddress src, int etherType, byte[] payload) {
        ByteBuffer f = ByteBuffer.allocate(14 + payload.length);
        f.put(dst.toBytes()).put(src.toBytes()).putShort((short) etherType).put(payload);
        return f.array();
    }

    /** The Ethernet destination for {@code dst}: the IPv6 multicast MAC (33:33:…) for a multicast address, else {@code unicast}. */
    public static MacAddress destinationMac(IpAddress dst, MacAddress unicast) {
        if (dst instanceof Ipv6Address v6 && v6.isMulticast()) {
            return MacAddress.of(0x3333_0000_0000L | (v6.low() & 0xffff_ffffL));
        }
        if (dst instanceof Ipv4Address v4 && (v4.isBroadcast() || v4.isMulticast())) {
            return v4.isBroadcast() ? MacAddress.BROADCAST : MacAddress.of(0x0100_5e00_0000L | (v4.bits() & 0x7f_ffffL));
        }
        return unicast;
    }

    /**
     * An IPv4 packet (20-byte header, no options, DF clear) with {@code protocol} and {@code body};
     * with {@code fixChecksums} the header checksum and the TCP/UDP/ICMP checksum in the body (when
     * the body is long enough to hold it) are computed, else left as they are (header's zero).
     */
    public static byte[] ipv4(Ipv4Address src, Ipv4Address dst, int protocol, int ttl, byte[] body, boolean fixChecksums) {
        ByteBuffer p = ByteBuffer.allocate(20 + body.length);
        p.put((byte) 0x45).put((byte) 0).putShort((short) (20 + body.length)).putShort((short) 0x4a52).putShort((short) 0);
        p.put((byte) ttl).put((byte) protocol).putShort((short) 0).putInt(src.bits()).putInt(dst.bits()).put(body);
        if (fixChecksums) {
            p.putShort(10, (short) Checksum.finish(Checksum.add(0, ByteBuffer.wrap(p.array(), 0, 20))));
            fixUpper(p, 20, body.length, protocol == ICMP ? 0 : Checksum.pseudoHeader(src, dst, protocol, body.length),
                    protocol);
        }
        return p.array();
    }

    /**
     * An IPv6 packet (40-byte header, no extension headers) with {@code nextHeader} and
     * {@code body}; with {@code fixChecksums} the TCP/UDP/ICMPv6 checksum in the body is computed.
     */
    public static byte[] ipv6(Ipv6Address src, Ipv6Address dst, int nextHeader, int hopLimit, byte[] body,
            boolean fixChecksums) {
        ByteBuffer p = ByteBuffer.allocate(40 + body.length);
        p.putInt(6 << 28).putShort((short) body.length).put((byte) nextHeader).put((byte) hopLimit);
        p.putLong(src.high()).putLong(src.low()).putLong(dst.high()).putLong(dst.low()).put(body);
        if (fixChecksums) {
            fixUpper(p, 40, body.length, Checksum.pseudoHeader(src, dst, nextHeader, (long) body.length), nextHeader);
        }
        return p.array();
    }

    /** TCP flag bits, for {@link #tcp}. */
    public static final int FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20;

    /** A TCP segment with a 20-byte header (no options) and {@code payload}; its checksum is zero until an IP builder fixes it. */
    public static byte[] tcp(int srcPort, int dstPort, long seq, long ack, int flags, int window, byte[] payload) {
        ByteBuffer s = ByteBuffer.allocate(20 + payload.length);
        s.putShort((short) srcPort).putShort((short) dstPort).putInt((int) seq).putInt((int) ack);
        s.put((byte) (5 << 4)).put((byte) flags).putShort((short) window).putShort((short) 0).putShort((short) 0);
        return s.put(payload).array();
    }

    /** A UDP datagram with {@code payload}; its checksum is zero until an IP builder fixes it. */
    public static byte[] udp(int srcPort, int dstPort, byte[] payload) {
        ByteBuffer d = ByteBuffer.allocate(8 + payload.length);
        d.putShort((short) srcPort).putShort((short) dstPort).putShort((short) (8 + payload.length)).putShort((short) 0);
        return d.put(payload).array();
    }

    /** An ICMP or ICMPv6 message: type, code, checksum (zero until an IP builder fixes it), then {@code rest}. */
    public static byte[] icmp(int type, int code, byte[] rest) {
        ByteBuffer m = ByteBuffer.allocate(4 + rest.length);
        m.put((byte) type).put((byte) code).putShort((short) 0);
        return m.put(rest).array();
    }

    /**
     * An IPv4 frame to {@code dstMac}/{@code dst} from {@code src}, the fuzzer choosing the protocol
     * (TCP, UDP, ICMP or any), ports from {@code ports} (or any), flags, TTL, payload and whether
     * checksums are fixed.
     */
    public static byte[] ipv4Frame(FuzzedDataProvider data, MacAddress dstMac, Ipv4Address src, Ipv4Address dst,
            int... ports) {
        int protocol = data.pickValue(new int[] {TCP, UDP, ICMP, data.consumeInt(0, 255)});
        int ttl = data.consumeBoolean() ? 64 : data.consumeInt(0, 255);
        boolean fix = data.consumeBoolean();
        byte[] body = transport(data, protocol, ports);
        return ethernet(destinationMac(dst, dstMac), FUZZER_MAC, ETHERTYPE_IPV4, ipv4(src, dst, protocol, ttl, body, fix));
    }

    /** As {@link #ipv4Frame}, over IPv6 (ICMPv6 instead of ICMP; hop limit 255 or any). */
    public static byte[] ipv6Frame(FuzzedDataProvider data, MacAddress dstMac, Ipv6Address src, Ipv6Address dst,
            int... ports) {
        int nextHeader = data.pickValue(new int[] {TCP, UDP, ICMPV6, data.consumeInt(0, 255)});
        int hopLimit = data.consumeBoolean() ? 255 : data.consumeInt(0, 255);
        boolean fix = data.consumeBoolean();
        byte[] body = transport(data, nextHeader, ports);
        return ethernet(destinationMac(dst, dstMac), FUZZER_MAC, ETHERTYPE_IPV6, ipv6(src, dst, nextHeader, hopLimit, body, fix));
    }

    /** A TCP segment, UDP datagram or ICMP message for {@code protocol}, fields from the fuzzer; other protocols get raw bytes. */
    private static byte[] transport(FuzzedDataProvider data, int protocol, int[] ports) {
        int srcPort = data.consumeInt(0, 65535);
        int dstPort = ports.length > 0 && data.consumeBoolean() ? data.pickValue(ports) : data.consumeInt(0, 65535);
        return switch (protocol) {
            case TCP -> tcp(srcPort, dstPort, data.consumeInt() & 0xffff_ffffL, data.consumeInt() & 0xffff_ffffL,
                    data.consumeInt(0, 0xff), data.consumeInt(0, 65535), data.consumeBytes(data.consumeInt(0, 1400)));
            case UDP -> udp(srcPort, dstPort, data.consumeBytes(data.consumeInt(0, 1400)));
            case ICMP, ICMPV6 -> icmp(data.consumeInt(0, 255), data.consumeInt(0, 255),
                    data.consumeBytes(data.consumeInt(0, 1400)));
            default -> data.consumeBytes(data.consumeInt(0, 1400));
        };
    }

    /** Where the checksum of {@code protocol} sits in its header, or -1 for a protocol without one known here. */
    public static int checksumOffset(int protocol) {
        return switch (protocol) {
            case ICMP, ICMPV6 -> 2;
            case UDP -> 6;
            case TCP -> 16;
            default -> -1;
        };
    }

    private static void fixUpper(ByteBuffer p, int at, int length, long pseudo, int protocol) {
        int field = checksumOffset(protocol);
        if (field < 0 || length < field + 2) {
            return;
        }
        p.putShort(at + field, (short) 0);
        int sum = Checksum.finish(Checksum.add(pseudo, ByteBuffer.wrap(p.array(), at, length)));
        if (protocol == UDP && sum == 0) {
            sum = 0xffff; // zero means "no checksum" in UDP
        }
        p.putShort(at + field, (short) sum);
    }
}
