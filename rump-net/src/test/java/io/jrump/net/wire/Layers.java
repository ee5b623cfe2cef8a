package io.jrump.net.wire;

import io.jrump.hypercall.ErrnoException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * A frame parsed through every layer this package knows, and emitted back. {@code upper} is an
 * {@link ArpRepr}, or for IPv4 an {@link IcmpRepr}, {@link UdpRepr}, {@link TcpRepr} or {@code null}.
 */
record Layers(EthernetRepr ethernet, Ipv4Repr ip, Object upper) {
    static Layers parse(ByteBuf frame) throws ErrnoException {
        EthernetFrame f = EthernetFrame.parse(frame);
        EthernetRepr eth = EthernetRepr.parse(f);
        if (eth.etherType().equals(EtherType.ARP)) {
            return new Layers(eth, null, ArpRepr.parse(ArpPacket.parse(f.payload())));
        }
        if (!eth.etherType().equals(EtherType.IPV4)) {
            return new Layers(eth, null, null);
        }
        Ipv4Packet p = Ipv4Packet.parse(f.payload());
        Ipv4Repr ip = Ipv4Repr.parse(p);
        ByteBuf payload = p.payload();
        Object upper = null;
        if (ip.protocol().equals(IpProtocol.ICMP)) {
            upper = IcmpRepr.parse(IcmpPacket.parse(payload));
        } else if (ip.protocol().equals(IpProtocol.UDP)) {
            upper = UdpRepr.parse(UdpDatagram.parse(payload), ip.source(), ip.destination());
        } else if (ip.protocol().equals(IpProtocol.TCP)) {
            upper = TcpRepr.parse(TcpSegment.parse(payload), ip.source(), ip.destination());
        }
        return new Layers(eth, ip, upper);
    }

    /** Emits the frame; IPv4's payload length is taken from the upper layer when there is one. */
    ByteBuf emit() {
        int upperLength = upper == null ? 0 : upperLength(upper);
        Ipv4Repr ipOut = ip;
        if (ip != null && upper != null) {
            ipOut = new Ipv4Repr(ip.source(), ip.destination(), ip.protocol(), upperLength, ip.ttl(),
                    ip.identification(), ip.dontFragment(), ip.moreFragments(), ip.fragmentOffset(), ip.dscp(),
                    ip.ecn());
        }
        int length = EthernetFrame.HEADER_LENGTH + (ipOut != null ? ipOut.totalLength() : upperLength);
        ByteBuf out = Unpooled.buffer(length);
        out.writerIndex(length);
        ethernet.emit(out, 0);
        int at = EthernetFrame.HEADER_LENGTH;
        if (ipOut != null) {
            ipOut.emit(out, at);
            at += ipOut.headerLength();
        }
        if (upper instanceof ArpRepr a) {
            a.emit(out, at);
        } else if (upper instanceof IcmpRepr i) {
            i.emit(out, at);
        } else if (upper instanceof UdpRepr u) {
            u.emit(out, at, ip.source(), ip.destination());
        } else if (upper instanceof TcpRepr t) {
            t.emit(out, at, ip.source(), ip.destination());
        }
        return out;
    }

    static int upperLength(Object upper) {
        if (upper instanceof ArpRepr a) {
            return a.bufferLength();
        } else if (upper instanceof IcmpRepr i) {
            return i.bufferLength();
        } else if (upper instanceof UdpRepr u) {
            return u.bufferLength();
        } else if (upper instanceof TcpRepr t) {
            return t.bufferLength();
        }
        throw new AssertionError(upper);
    }
}
