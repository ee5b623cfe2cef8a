package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.wire.ArpPacket;
import io.jrump.net.wire.ArpRepr;
import io.jrump.net.wire.Checksum;
import io.jrump.net.wire.EtherType;
import io.jrump.net.wire.EthernetFrame;
import io.jrump.net.wire.EthernetRepr;
import io.jrump.net.wire.IcmpPacket;
import io.jrump.net.wire.IcmpRepr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv4Packet;
import io.jrump.net.wire.Ipv4Repr;
import io.jrump.net.wire.Packets;
import io.jrump.net.wire.TcpRepr;
import io.jrump.net.wire.TcpSegment;
import io.jrump.net.wire.UdpDatagram;
import io.jrump.net.wire.UdpRepr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Set;

/**
 * Arbitrary bytes as an Ethernet frame: every layer below it (ARP, or IPv4 and then ICMP, UDP or
 * TCP) either parses or fails with a defined errno, never an unchecked exception; what parsed is
 * emitted again and parses back to the same record. Each input is tried as is and with its
 * checksums repaired, so that mutations reach the layers behind them. Seeds are real frames: the fixtures of
 * rump-net's wire tests (captured on Linux loopback with {@code dumpcap -P -i lo}, TCP/UDP
 * checksums completed) and an ARP request and reply written by hand.
 */
class WireFuzzTest {
    private static final Set<Errno> DEFINED = Set.of(Errno.EBADMSG, Errno.EPROTONOSUPPORT);

    @FuzzTest(maxDuration = "60s")
    void parsing(byte[] input) throws ErrnoException {
        parse(Unpooled.wrappedBuffer(input));
        // Random bytes rarely carry right checksums; repair them so the fuzzer gets past them.
        parse(withChecksumsRepaired(input));
    }

    private static void parse(ByteBuf frame) throws ErrnoException {
        Packets.describe(frame); // never throws
        try {
            EthernetFrame f = EthernetFrame.parse(frame);
            EthernetRepr eth = EthernetRepr.parse(f);
            ByteBuf header = emitted(eth.headerLength(), b -> eth.emit(b, 0));
            assertEquals(eth, EthernetRepr.parse(EthernetFrame.parse(header)));
            if (eth.etherType().equals(EtherType.ARP)) {
                ArpRepr arp = ArpRepr.parse(ArpPacket.parse(f.payload()));
                ByteBuf b = emitted(arp.bufferLength(), x -> arp.emit(x, 0));
                assertEquals(arp, ArpRepr.parse(ArpPacket.parse(b)));
            } else if (eth.etherType().equals(EtherType.IPV4)) {
                ipv4(f.payload());
            }
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        }
    }

    private static void ipv4(ByteBuf datagram) throws ErrnoException {
        Ipv4Packet p = Ipv4Packet.parse(datagram);
        p.options();
        Ipv4Repr ip = Ipv4Repr.parse(p);
        ByteBuf h = emitted(ip.totalLength(), b -> ip.emit(b, 0));
        assertEquals(ip, Ipv4Repr.parse(Ipv4Packet.parse(h)));
        if (ip.moreFragments() || ip.fragmentOffset() != 0) {
            return; // a fragment's payload is not a whole transport header
        }
        ByteBuf payload = p.payload();
        if (ip.protocol().equals(IpProtocol.ICMP)) {
            IcmpRepr icmp = IcmpRepr.parse(IcmpPacket.parse(payload));
            ByteBuf b = emitted(icmp.bufferLength(), x -> icmp.emit(x, 0));
            assertEquals(icmp, IcmpRepr.parse(IcmpPacket.parse(b)));
        } else if (ip.protocol().equals(IpProtocol.UDP)) {
            UdpRepr udp = UdpRepr.parse(UdpDatagram.parse(payload), ip.source(), ip.destination());
            ByteBuf b = emitted(udp.bufferLength(), x -> udp.emit(x, 0, ip.source(), ip.destination()));
            assertEquals(udp, UdpRepr.parse(UdpDatagram.parse(b), ip.source(), ip.destination()));
        } else if (ip.protocol().equals(IpProtocol.TCP)) {
            TcpSegment s = TcpSegment.parse(payload);
            s.options();
            TcpRepr tcp = TcpRepr.parse(s, ip.source(), ip.destination());
            ByteBuf b = emitted(tcp.bufferLength(), x -> tcp.emit(x, 0, ip.source(), ip.destination()));
            assertEquals(tcp, TcpRepr.parse(TcpSegment.parse(b), ip.source(), ip.destination()));
        }
    }

    /**
     * A copy of the input with the IPv4 header checksum and the ICMP, UDP (if not 0) or TCP
     * checksum recomputed, as far as the headers parse; otherwise the copy as is.
     */
    static ByteBuf withChecksumsRepaired(byte[] input) {
        ByteBuf frame = Unpooled.wrappedBuffer(input.clone());
        try {
            EthernetFrame f = EthernetFrame.parse(frame);
            if (!f.etherType().equals(EtherType.IPV4)) {
                return frame;
            }
            ByteBuf ipBytes = f.payload();
            Ipv4Packet p = Ipv4Packet.parse(ipBytes);
            ipBytes.setShort(10, 0);
            ipBytes.setShort(10, Checksum.compute(ipBytes, 0, p.headerLength()));
            ByteBuf t = p.payload();
            int n = t.readableBytes();
            long pseudo = Checksum.pseudoHeader(p.source(), p.destination(), p.protocol().value(), n);
            if (p.protocol().equals(IpProtocol.ICMP) && n >= IcmpPacket.HEADER_LENGTH) {
                t.setShort(2, 0);
                t.setShort(2, Checksum.compute(t, 0, n));
            } else if (p.protocol().equals(IpProtocol.UDP)) {
                UdpDatagram u = UdpDatagram.parse(t);
                if (u.checksum() != 0) {
                    t.setShort(6, 0);
                    int c = Checksum.finish(Checksum.add(
                            Checksum.pseudoHeader(p.source(), p.destination(), 17, u.length()), t, 0, u.length()));
                    t.setShort(6, c == 0 ? 0xffff : c);
                }
            } else if (p.protocol().equals(IpProtocol.TCP) && n >= TcpSegment.MIN_HEADER_LENGTH) {
                t.setShort(16, 0);
                t.setShort(16, Checksum.finish(Checksum.add(pseudo, t, 0, n)));
            }
        } catch (ErrnoException e) {
            // repaired as far as it parsed
        }
        return frame;
    }

    private interface Emitter {
        void emit(ByteBuf buf);
    }

    private static ByteBuf emitted(int length, Emitter e) {
        ByteBuf b = Unpooled.buffer(length).writerIndex(length);
        e.emit(b);
        return b;
    }
}
