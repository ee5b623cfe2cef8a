package io.jrump.net.wire;

import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.wire.Icmpv6Repr.MulticastAddressRecord;
import io.jrump.net.wire.Ipv6ExtensionHeader.FragmentHeader;
import io.jrump.net.wire.Ipv6ExtensionHeader.Option;
import io.jrump.net.wire.Ipv6ExtensionHeader.OptionsHeader;
import io.jrump.net.wire.Ipv6ExtensionHeader.RoutingHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** IPv6 packets and Ethernet frames built with the wire records, for the IPv6 tests and the tshark check. */
final class Ipv6Frames {
    static final MacAddress HOST_MAC = MacAddress.of(0x02_00_00_00_00_01L);
    static final MacAddress ROUTER_MAC = MacAddress.of(0x02_00_00_00_00_02L);
    static final Ipv6Address HOST_LL = Ipv6Address.parse("fe80::1");
    static final Ipv6Address ROUTER_LL = Ipv6Address.parse("fe80::2");
    static final Ipv6Address HOST = Ipv6Address.parse("2001:db8::1");
    static final Ipv6Address PEER = Ipv6Address.parse("2001:db8::2");
    static final Ipv6Address FAR = Ipv6Address.parse("2001:db8:1::9");

    private Ipv6Frames() {}

    /** An IPv6 packet: the header, the extension headers (their Next Header fields as given) and the payload. */
    static ByteBuf packet(Ipv6Address src, Ipv6Address dst, int hopLimit, IpProtocol first,
            List<? extends Ipv6ExtensionHeader> exts, ByteBuf payload) {
        int extLength = 0;
        for (Ipv6ExtensionHeader h : exts) {
            extLength += h.bufferLength();
        }
        Ipv6Repr ip = new Ipv6Repr(src, dst, first, extLength + payload.readableBytes(), hopLimit);
        ByteBuf b = Unpooled.buffer(ip.totalLength()).writerIndex(ip.totalLength());
        ip.emit(b, 0);
        int at = Ipv6Packet.HEADER_LENGTH;
        for (Ipv6ExtensionHeader h : exts) {
            h.emit(b, at);
            at += h.bufferLength();
        }
        b.setBytes(at, payload, payload.readerIndex(), payload.readableBytes());
        return b;
    }

    /** An ICMPv6 message in an IPv6 packet behind the given extension headers (the last one's Next Header is 58). */
    static ByteBuf icmp(Ipv6Address src, Ipv6Address dst, int hopLimit, List<? extends Ipv6ExtensionHeader> exts,
            Icmpv6Repr m) {
        ByteBuf body = Unpooled.buffer(m.bufferLength()).writerIndex(m.bufferLength());
        m.emit(body, 0, src, dst);
        IpProtocol first = exts.isEmpty() ? IpProtocol.ICMPV6
                : exts.get(0) instanceof OptionsHeader o && o.hopByHop() ? IpProtocol.HOP_BY_HOP
                : exts.get(0) instanceof OptionsHeader ? IpProtocol.IPV6_DESTINATION_OPTIONS
                : exts.get(0) instanceof RoutingHeader ? IpProtocol.IPV6_ROUTING : IpProtocol.IPV6_FRAGMENT;
        return packet(src, dst, hopLimit, first, exts, body);
    }

    static ByteBuf icmp(Ipv6Address src, Ipv6Address dst, int hopLimit, Icmpv6Repr m) {
        return icmp(src, dst, hopLimit, List.of(), m);
    }

    /** The multicast MAC of RFC 2464 §7: 33:33 and the low 32 bits. */
    static MacAddress multicastMac(Ipv6Address dst) {
        return MacAddress.of(0x3333_0000_0000L | (dst.low() & 0xffff_ffffL));
    }

    static ByteBuf ethernet(MacAddress src, ByteBuf ipv6) {
        Ipv6Address dst = Wire.getIpv6(ipv6, ipv6.readerIndex() + Ipv6Packet.DESTINATION);
        MacAddress dmac = dst.isMulticast() ? multicastMac(dst) : src.equals(HOST_MAC) ? ROUTER_MAC : HOST_MAC;
        EthernetRepr eth = new EthernetRepr(dmac, src, EtherType.IPV6);
        ByteBuf f = Unpooled.buffer(14 + ipv6.readableBytes()).writerIndex(14 + ipv6.readableBytes());
        eth.emit(f, 0);
        f.setBytes(14, ipv6, ipv6.readerIndex(), ipv6.readableBytes());
        return f;
    }

    static ByteBuf data(int n) {
        ByteBuf b = Unpooled.buffer(n);
        for (int i = 0; i < n; i++) {
            b.writeByte('a' + i % 26);
        }
        return b;
    }

    static Icmpv6Repr.Echo echoRequest(int dataLength) {
        return new Icmpv6Repr.Echo(true, 0x4a52, 1, data(dataLength));
    }

    /** The named frames of the tshark check and the fuzz seeds, each a whole Ethernet frame, in order. */
    static Map<String, ByteBuf> frames() {
        Map<String, ByteBuf> m = new LinkedHashMap<>();
        ByteBuf echo = icmp(HOST, PEER, 64, echoRequest(32));
        m.put("echo-request", ethernet(HOST_MAC, echo));
        m.put("echo-reply", ethernet(ROUTER_MAC, icmp(PEER, HOST, 64, new Icmpv6Repr.Echo(false, 0x4a52, 1, data(32)))));
        m.put("destination-unreachable", ethernet(ROUTER_MAC, icmp(PEER, HOST, 64,
                new Icmpv6Repr.DestinationUnreachable(Icmpv6Repr.DestinationUnreachable.ADDRESS_UNREACHABLE, echo))));
        m.put("packet-too-big", ethernet(ROUTER_MAC, icmp(PEER, HOST, 64, new Icmpv6Repr.PacketTooBig(1280, echo))));
        m.put("time-exceeded", ethernet(ROUTER_MAC, icmp(PEER, HOST, 64, new Icmpv6Repr.TimeExceeded(0, echo))));
        m.put("parameter-problem", ethernet(ROUTER_MAC, icmp(PEER, HOST, 64, new Icmpv6Repr.ParameterProblem(1, 6, echo))));
        m.put("router-solicitation", ethernet(HOST_MAC, icmp(HOST_LL, Ipv6Address.ALL_ROUTERS, 255,
                new Icmpv6Repr.RouterSolicitation(List.of(new NdpOption.SourceLinkLayerAddress(HOST_MAC))))));
        m.put("router-advertisement", ethernet(ROUTER_MAC, icmp(ROUTER_LL, Ipv6Address.ALL_NODES, 255,
                new Icmpv6Repr.RouterAdvertisement(64, false, true, 1800, 30_000, 1000, List.of(
                        new NdpOption.SourceLinkLayerAddress(ROUTER_MAC),
                        new NdpOption.Mtu(1500),
                        new NdpOption.PrefixInformation(64, true, true, 86400, 14400, Ipv6Address.parse("2001:db8::")),
                        new NdpOption.Rdnss(600, List.of(Ipv6Address.parse("2001:db8::53"), Ipv6Address.parse("2001:db8::54"))))))));
        m.put("neighbor-solicitation-dad", ethernet(HOST_MAC, icmp(Ipv6Address.UNSPECIFIED, HOST.solicitedNode(), 255,
                new Icmpv6Repr.NeighborSolicitation(HOST, List.of()))));
        m.put("neighbor-solicitation", ethernet(HOST_MAC, icmp(HOST, PEER.solicitedNode(), 255,
                new Icmpv6Repr.NeighborSolicitation(PEER, List.of(new NdpOption.SourceLinkLayerAddress(HOST_MAC))))));
        m.put("neighbor-advertisement", ethernet(ROUTER_MAC, icmp(PEER, HOST, 255,
                new Icmpv6Repr.NeighborAdvertisement(true, true, true, PEER,
                        List.of(new NdpOption.TargetLinkLayerAddress(ROUTER_MAC))))));
        m.put("redirect", ethernet(ROUTER_MAC, icmp(ROUTER_LL, HOST, 255, new Icmpv6Repr.Redirect(
                Ipv6Address.parse("fe80::3"), FAR, List.of(new NdpOption.TargetLinkLayerAddress(MacAddress.of(0x02_00_00_00_00_03L)),
                        new NdpOption.RedirectedHeader(icmp(HOST, FAR, 64, echoRequest(8))))))));
        OptionsHeader routerAlert = new OptionsHeader(true, IpProtocol.ICMPV6,
                List.of(new Option(Option.ROUTER_ALERT, Unpooled.wrappedBuffer(new byte[] {0, 0}))));
        m.put("mldv2-report", ethernet(HOST_MAC, icmp(HOST_LL, Ipv6Address.ALL_MLDV2_ROUTERS, 1, List.of(routerAlert),
                new Icmpv6Repr.Mldv2Report(List.of(
                        new MulticastAddressRecord(MulticastAddressRecord.CHANGE_TO_EXCLUDE_MODE, HOST.solicitedNode(), List.of()),
                        new MulticastAddressRecord(MulticastAddressRecord.MODE_IS_INCLUDE, Ipv6Address.parse("ff3e::8000:1"),
                                List.of(PEER, FAR)))))));
        // Extension header chain: hop-by-hop (padding only), destination options with an option to skip,
        // a routing header with no segments left, then ICMPv6.
        List<Ipv6ExtensionHeader> chain = List.of(
                new OptionsHeader(true, IpProtocol.IPV6_DESTINATION_OPTIONS, List.of()),
                new OptionsHeader(false, IpProtocol.IPV6_ROUTING,
                        List.of(new Option(0x1e, Unpooled.wrappedBuffer(new byte[] {1, 2, 3})))),
                new RoutingHeader(IpProtocol.ICMPV6, 253, 0, Unpooled.wrappedBuffer(new byte[4])));
        m.put("extension-chain", ethernet(HOST_MAC, icmp(HOST, PEER, 64, chain, echoRequest(16))));
        m.put("atomic-fragment", ethernet(HOST_MAC, icmp(HOST, PEER, 64,
                List.of(new FragmentHeader(IpProtocol.ICMPV6, 0, false, 0x1234_5678)), echoRequest(16))));
        int i = 1;
        for (ByteBuf fragment : fragments(HOST, PEER, echoRequest(3000), 0xcafe_0001, 1280)) {
            m.put("fragment-" + i++, ethernet(HOST_MAC, fragment));
        }
        return m;
    }

    /** An ICMPv6 message split into IPv6 fragments (RFC 8200 §4.5) of at most {@code mtu} bytes. */
    static List<ByteBuf> fragments(Ipv6Address src, Ipv6Address dst, Icmpv6Repr m, int id, int mtu) {
        ByteBuf whole = Unpooled.buffer(m.bufferLength()).writerIndex(m.bufferLength());
        m.emit(whole, 0, src, dst);
        int per = (mtu - Ipv6Packet.HEADER_LENGTH - FragmentHeader.LENGTH) & ~7;
        List<ByteBuf> out = new ArrayList<>();
        for (int off = 0; off < whole.readableBytes(); off += per) {
            int n = Math.min(per, whole.readableBytes() - off);
            boolean more = off + n < whole.readableBytes();
            out.add(packet(src, dst, 64, IpProtocol.IPV6_FRAGMENT,
                    List.of(new FragmentHeader(IpProtocol.ICMPV6, off, more, id)), whole.slice(off, n)));
        }
        return out;
    }

    static String ascii(ByteBuf b) {
        return b.toString(StandardCharsets.US_ASCII);
    }
}
