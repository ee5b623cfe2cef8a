package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.netty.buffer.ByteBuf;

/**
 * One-line, tcpdump-style descriptions of frames for logs and test failures, e.g. {@code TCP
 * 198.18.0.1:1234 > 198.18.0.2:80 [S] seq 1000 win 64240 options [mss 1460] length 0}. Never
 * throws on any input: a layer that does not parse is described by its error. Stateless and
 * thread-safe; reads the buffer without changing its indices.
 */
public final class Packets {
    private Packets() {}

    /** Describes the Ethernet frame in the buffer's readable bytes. */
    public static String describe(ByteBuf frame) {
        EthernetFrame eth;
        try {
            eth = EthernetFrame.parse(frame);
        } catch (ErrnoException e) {
            return "malformed Ethernet: " + e.getMessage();
        }
        String vlan = eth.vlanTags().isEmpty() ? "" : "vlan " + eth.vlanTags() + " ";
        ByteBuf payload = eth.payload();
        if (eth.etherType().equals(EtherType.ARP)) {
            try {
                return vlan + ArpRepr.parse(ArpPacket.parse(payload));
            } catch (ErrnoException e) {
                return vlan + "ARP: " + e.getMessage();
            }
        }
        if (eth.etherType().equals(EtherType.IPV4)) {
            return vlan + describeIpv4(payload);
        }
        return vlan + eth.toString();
    }

    /** Describes the IPv4 datagram in the buffer's readable bytes. */
    public static String describeIpv4(ByteBuf datagram) {
        Ipv4Packet ip;
        Ipv4Repr ipRepr;
        try {
            ip = Ipv4Packet.parse(datagram);
            ipRepr = Ipv4Repr.parse(ip);
        } catch (ErrnoException e) {
            return "IP: " + e.getMessage();
        }
        String src = ipRepr.source().toString();
        String dst = ipRepr.destination().toString();
        if (ipRepr.fragmentOffset() != 0 || ipRepr.moreFragments()) {
            return ipRepr.toString();
        }
        ByteBuf payload = ip.payload();
        try {
            if (ipRepr.protocol().equals(IpProtocol.TCP)) {
                TcpRepr t = TcpRepr.parse(TcpSegment.parse(payload), ipRepr.source(), ipRepr.destination());
                return t.describe(src + ":" + t.sourcePort(), dst + ":" + t.destinationPort());
            }
            if (ipRepr.protocol().equals(IpProtocol.UDP)) {
                UdpRepr u = UdpRepr.parse(UdpDatagram.parse(payload), ipRepr.source(), ipRepr.destination());
                return "UDP " + src + ":" + u.sourcePort() + " > " + dst + ":" + u.destinationPort() + " length "
                        + u.payload().readableBytes();
            }
            if (ipRepr.protocol().equals(IpProtocol.ICMP)) {
                return "IP " + src + " > " + dst + " " + IcmpRepr.parse(IcmpPacket.parse(payload));
            }
        } catch (ErrnoException e) {
            return "IP " + src + " > " + dst + " " + ipRepr.protocol() + ": " + e.getMessage();
        }
        return ipRepr.toString();
    }
}
