package io.jrump.net.wire;

import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Valid records drawn from a seeded {@link Random}. */
final class RandomReprs {
    private final Random r;

    RandomReprs(long seed) {
        r = new Random(seed);
    }

    Random random() {
        return r;
    }

    MacAddress mac() {
        return MacAddress.of(r.nextLong());
    }

    Ipv4Address ip() {
        return new Ipv4Address(r.nextInt());
    }

    int u16() {
        return r.nextInt(0x10000);
    }

    ByteBuf bytes(int max) {
        byte[] b = new byte[r.nextInt(max + 1)];
        r.nextBytes(b);
        return Unpooled.wrappedBuffer(b);
    }

    EthernetRepr ethernet(EtherType type) {
        return new EthernetRepr(mac(), mac(), type);
    }

    ArpRepr arp() {
        return new ArpRepr(r.nextBoolean() ? ArpRepr.Operation.REQUEST : ArpRepr.Operation.REPLY, mac(), ip(), mac(),
                ip());
    }

    /** An IPv4 header for a payload of {@code payloadLength} bytes. */
    Ipv4Repr ipv4(IpProtocol protocol, int payloadLength) {
        boolean fragment = r.nextInt(4) == 0;
        return new Ipv4Repr(ip(), ip(), protocol, payloadLength, r.nextInt(256), u16(), !fragment && r.nextBoolean(),
                fragment && r.nextBoolean(), fragment ? r.nextInt(0x2000) * 8 : 0, r.nextInt(64), r.nextInt(4));
    }

    /** A quoted datagram: an IPv4 header (maybe with options) and 8 or more bytes. */
    ByteBuf quoted() {
        int ihl = 5 + r.nextInt(3);
        int n = ihl * 4 + 8 + r.nextInt(40);
        byte[] b = new byte[n];
        r.nextBytes(b);
        b[0] = (byte) (0x40 | ihl);
        return Unpooled.wrappedBuffer(b);
    }

    IcmpRepr icmp() {
        return switch (r.nextInt(4)) {
            case 0 -> new IcmpRepr.EchoRequest(u16(), u16(), bytes(100));
            case 1 -> new IcmpRepr.EchoReply(u16(), u16(), bytes(100));
            case 2 -> new IcmpRepr.DestinationUnreachable(r.nextInt(16), u16(), quoted());
            default -> new IcmpRepr.TimeExceeded(r.nextInt(2), quoted());
        };
    }

    UdpRepr udp() {
        return new UdpRepr(u16(), u16(), bytes(200));
    }

    TcpRepr tcp() {
        int mss = r.nextBoolean() ? u16() : -1;
        int scale = r.nextBoolean() ? r.nextInt(256) : -1;
        boolean sackOk = r.nextBoolean();
        TcpRepr.Timestamps ts = r.nextBoolean() ? new TcpRepr.Timestamps(r.nextInt(), r.nextInt()) : null;
        int room = 40 - ((mss >= 0 ? 4 : 0) + (scale >= 0 ? 3 : 0) + (sackOk ? 2 : 0) + (ts != null ? 10 : 0));
        int maxBlocks = Math.min(4, (room - 2) / 8);
        int blocks = maxBlocks <= 0 || r.nextBoolean() ? 0 : 1 + r.nextInt(maxBlocks);
        List<TcpRepr.SackBlock> sack = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            sack.add(new TcpRepr.SackBlock(r.nextInt(), r.nextInt()));
        }
        return new TcpRepr(u16(), u16(), r.nextInt(), r.nextInt(), r.nextInt(256), u16(), u16(), mss, scale, sackOk,
                ts, sack, bytes(200));
    }

    /** A whole frame: ARP, or IPv4 carrying ICMP, UDP or TCP. */
    Layers frame() {
        return switch (r.nextInt(4)) {
            case 0 -> new Layers(ethernet(EtherType.ARP), null, arp());
            case 1 -> withIp(IpProtocol.ICMP, icmp());
            case 2 -> withIp(IpProtocol.UDP, udp());
            default -> withIp(IpProtocol.TCP, tcp());
        };
    }

    private Layers withIp(IpProtocol protocol, Object upper) {
        // Transport headers are only whole in an unfragmented datagram.
        Ipv4Repr ip = Ipv4Repr.of(ip(), ip(), protocol, Layers.upperLength(upper), 1 + r.nextInt(255), u16());
        return new Layers(ethernet(EtherType.IPV4), ip, upper);
    }
}
