package io.jrump.net.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.dhcp6.Dhcp6Message;
import io.jrump.net.dhcp6.Dhcp6MessageType;
import io.jrump.net.dhcp6.Dhcp6Options;
import io.jrump.net.dhcp6.Duid;
import io.jrump.net.dns.DnsName;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.stack.Sockets.SocketAddress;
import io.jrump.net.wire.EtherType;
import io.jrump.net.wire.EthernetFrame;
import io.jrump.net.wire.EthernetRepr;
import io.jrump.net.wire.Icmpv6Packet;
import io.jrump.net.wire.Icmpv6Repr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv6HeaderChain;
import io.jrump.net.wire.Ipv6Packet;
import io.jrump.net.wire.Ipv6Repr;
import io.jrump.net.wire.NdpOption;
import io.jrump.net.wire.UdpDatagram;
import io.jrump.net.wire.UdpRepr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A kernel with SLAAC on a simulated link whose router the test plays: router solicitation and
 * advertisement (prefix, MTU, RDNSS, the O flag), the address made from the prefix by RFC 7217,
 * the default route, stateless DHCPv6, lifetimes running out on virtual time, Path MTU
 * discovery from a Packet Too Big, MLD queries answered, and redirects ignored.
 */
class StackSlaacTest {
    static final Ipv6Address ROUTER = Ipv6Address.parse("fe80::1");
    static final Ipv6Address PREFIX = Ipv6Address.parse("2001:db8:1::");
    static final Ipv6Address RDNSS = Ipv6Address.parse("2001:db8:1::53");
    static final Ipv6Address DHCP6_DNS = Ipv6Address.parse("2001:db8:1::54");
    static final Ipv6Address FAR = Ipv6Address.parse("2001:db8:ffff::1");
    static final MacAddress ROUTER_MAC = MacAddress.parse("02:00:00:00:00:01");

    /** The router: answers solicitations with an advertisement, and Information-requests; keeps every frame. */
    static final class Router {
        final SimWorld world;
        final NetStack stack;
        final HostNic nic;
        final List<ByteBuf> frames = new ArrayList<>();
        int routerLifetime = 1800;
        long validLifetime = 86400;
        long preferredLifetime = 14400;
        long rdnssLifetime = 600;
        boolean answering = true;
        int solicitations;
        int informationRequests;
        MacAddress stackMac;

        Router(long seed) throws ErrnoException {
            world = new SimWorld(seed);
            stack = new NetStack();
            RumpKernel.boot(world.newHost("us"), BootOptions.defaults().withComponentInstances(List.of(stack)));
            stack.addInterface("lan", NicOptions.mtu(1500));
            nic = world.newHost("router").networkInterfaces().open("lan", NicOptions.mtu(1500), this::frame);
            stack.enableIpv6("lan", Ipv6Options.slaacDefaults());
        }

        private void frame(ByteBuffer bytes) {
            ByteBuf copy = Unpooled.copiedBuffer(bytes);
            frames.add(copy);
            try {
                EthernetFrame eth = EthernetFrame.parse(copy.duplicate());
                if (!eth.etherType().equals(EtherType.IPV6)) {
                    return;
                }
                stackMac = eth.source();
                Ipv6Packet p = Ipv6Packet.parse(eth.payload());
                Ipv6Repr ip = Ipv6Repr.parse(p);
                Ipv6HeaderChain chain = Ipv6HeaderChain.walk(p);
                if (chain.upperLayer().equals(IpProtocol.ICMPV6)) {
                    Icmpv6Packet icmp = Icmpv6Packet.parse(p.buffer(), chain.upperLayerIndex(), chain.upperLayerLength());
                    if (icmp.type() == Icmpv6Packet.TYPE_ROUTER_SOLICITATION) {
                        solicitations++;
                        if (answering) {
                            advertise();
                        }
                    } else if (icmp.type() == Icmpv6Packet.TYPE_NEIGHBOR_SOLICITATION
                            && Icmpv6Repr.parse(icmp, ip) instanceof Icmpv6Repr.NeighborSolicitation ns
                            && ns.target().equals(ROUTER)) {
                        send(ROUTER, ip.source(), new Icmpv6Repr.NeighborAdvertisement(true, true, true, ROUTER,
                                List.of(new NdpOption.TargetLinkLayerAddress(ROUTER_MAC))));
                    }
                } else if (chain.upperLayer().equals(IpProtocol.UDP) && chain.complete()) {
                    UdpDatagram d = UdpDatagram.parse(p.buffer().slice(chain.upperLayerIndex(), chain.upperLayerLength()));
                    if (d.destinationPort() == 547) {
                        informationRequests++;
                        Dhcp6Message req = Dhcp6Message.parse(d.payload());
                        Dhcp6Message reply = new Dhcp6Message(Dhcp6MessageType.REPLY, req.transactionId(),
                                Dhcp6Options.builder().clientId(req.options().clientId()).serverId(Duid.ll(ROUTER_MAC))
                                        .dnsServers(List.of(DHCP6_DNS)).domainList(List.of(DnsName.of("lan", "test")))
                                        .build());
                        sendUdp(ip.source(), 547, 546, reply.toByteBuf());
                    }
                }
            } catch (ErrnoException e) {
                throw new AssertionError("the stack sent a malformed frame", e);
            }
        }

        void advertise() {
            List<NdpOption> options = List.of(new NdpOption.SourceLinkLayerAddress(ROUTER_MAC), new NdpOption.Mtu(1500),
                    new NdpOption.PrefixInformation(64, true, true, validLifetime, preferredLifetime, PREFIX),
                    new NdpOption.Rdnss(rdnssLifetime, List.of(RDNSS)));
            send(ROUTER, Ipv6Address.ALL_NODES, new Icmpv6Repr.RouterAdvertisement(64, false, true, routerLifetime, 0, 0,
                    options));
        }

        void send(Ipv6Address from, Ipv6Address to, Icmpv6Repr m) {
            ByteBuf body = Unpooled.buffer(m.bufferLength());
            m.emit(body, 0, from, to);
            body.writerIndex(m.bufferLength());
            sendIp(from, to, IpProtocol.ICMPV6, body, 255);
        }

        void sendUdp(Ipv6Address to, int fromPort, int toPort, ByteBuf payload) {
            UdpRepr udp = new UdpRepr(fromPort, toPort, payload);
            ByteBuf body = Unpooled.buffer(udp.bufferLength());
            udp.emit(body, 0, ROUTER, to);
            body.writerIndex(udp.bufferLength());
            sendIp(ROUTER, to, IpProtocol.UDP, body, 64);
        }

        void sendIp(Ipv6Address from, Ipv6Address to, IpProtocol p, ByteBuf body, int hops) {
            Ipv6Repr ip = new Ipv6Repr(from, to, p, body.readableBytes(), hops);
            MacAddress dst = to.isMulticast() ? Ipv6Layer.multicastMac(to) : stackMac;
            ByteBuf f = Unpooled.buffer(14 + ip.totalLength());
            new EthernetRepr(dst, ROUTER_MAC, EtherType.IPV6).emit(f, 0);
            ip.emit(f, 14);
            f.setBytes(54, body, body.readerIndex(), body.readableBytes());
            f.writerIndex(14 + ip.totalLength());
            try {
                nic.send(f.nioBuffer());
            } catch (ErrnoException e) {
                throw new AssertionError(e);
            }
        }

        /** The IPv6 packets the stack sent since the last call. */
        List<Ipv6Packet> take() {
            List<Ipv6Packet> out = new ArrayList<>();
            for (ByteBuf f : frames) {
                try {
                    EthernetFrame eth = EthernetFrame.parse(f.duplicate());
                    if (eth.etherType().equals(EtherType.IPV6)) {
                        out.add(Ipv6Packet.parse(eth.payload()));
                    }
                } catch (ErrnoException e) {
                    throw new AssertionError(e);
                }
            }
            frames.clear();
            return out;
        }

        AddressAutoconfig.Address slaacAddress() throws ErrnoException {
            for (AddressAutoconfig.Address a : stack.interfaces().get(1).ipv6Addresses()) {
                if (a.address().inPrefix(PREFIX, 64)) {
                    return a;
                }
            }
            return null;
        }
    }

    @Test
    void anAdvertisementConfiguresAnAddressARouteDnsAndDhcpv6() throws Exception {
        Router r = new Router(1);
        r.world.runFor(Duration.ofSeconds(5));
        assertTrue(r.solicitations >= 1, "the stack solicited routers");
        AddressAutoconfig.Address a = r.slaacAddress();
        assertNotNull(a, "an address in the advertised prefix: " + r.stack.interfaces());
        assertEquals(AddressAutoconfig.AddressState.PREFERRED, a.state());
        assertEquals(AddressAutoconfig.Origin.SLAAC, a.origin());
        assertFalse((a.address().low() >>> 24 & 0xffff) == 0xfffe, "an RFC 7217 identifier, not the MAC's EUI-64");
        assertTrue(r.stack.ipv6Routers("lan").containsKey(ROUTER));
        assertEquals(1, r.informationRequests, "the O flag started stateless DHCPv6, answered once");
        assertEquals(List.of(RDNSS, DHCP6_DNS), r.stack.dnsServers());
        assertEquals(List.of(DnsName.of("lan", "test")), r.stack.dnsSearchList());
        assertEquals(2, r.stack.resolver().config().servers().size());

        // Off-link traffic goes to the router's MAC, from the SLAAC address.
        r.take();
        Sockets s = r.stack.sockets();
        int fd = s.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
        s.sendto(fd, ByteBuffer.wrap(new byte[100]), new SocketAddress(FAR, 9), 0);
        r.world.runFor(Duration.ofMillis(100));
        List<Ipv6Packet> out = r.take().stream().filter(p -> p.destination().equals(FAR)).toList();
        assertEquals(1, out.size());
        assertEquals(a.address(), out.get(0).source());
    }

    @Test
    void lifetimesRunOutOnVirtualTime() throws Exception {
        Router r = new Router(2);
        r.validLifetime = 30;
        r.preferredLifetime = 20;
        r.routerLifetime = 40;
        r.rdnssLifetime = 25;
        r.world.runFor(Duration.ofSeconds(5));
        r.answering = false; // no more advertisements
        assertEquals(AddressAutoconfig.AddressState.PREFERRED, r.slaacAddress().state());
        r.world.runFor(Duration.ofSeconds(18));
        assertEquals(AddressAutoconfig.AddressState.DEPRECATED, r.slaacAddress().state());
        assertTrue(r.stack.dnsServers().contains(RDNSS));
        r.world.runFor(Duration.ofSeconds(10));
        assertNull(r.slaacAddress(), "valid lifetime over: the address is gone");
        assertFalse(r.stack.dnsServers().contains(RDNSS), "RDNSS lifetime over");
        r.world.runFor(Duration.ofSeconds(10));
        assertTrue(r.stack.ipv6Routers("lan").isEmpty(), "router lifetime over");
        Sockets s = r.stack.sockets();
        int fd = s.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
        assertEquals(Errno.ENETUNREACH, assertThrows(ErrnoException.class,
                () -> s.sendto(fd, ByteBuffer.allocate(1), new SocketAddress(FAR, 9), 0)).errno());
    }

    @Test
    void aPacketTooBigShrinksWhatIsSentToThatDestination() throws Exception {
        Router r = new Router(3);
        r.world.runFor(Duration.ofSeconds(5));
        Ipv6Address us = r.slaacAddress().address();
        Sockets s = r.stack.sockets();
        int fd = s.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
        s.sendto(fd, ByteBuffer.allocate(1400), new SocketAddress(FAR, 9), 0);
        r.world.runFor(Duration.ofMillis(100));
        Ipv6Packet big = r.take().stream().filter(p -> p.destination().equals(FAR)).findFirst().orElseThrow();
        assertEquals(1448, 40 + big.payloadLength(), "one packet: it fits the link's 1500");
        ByteBuf quoted = Unpooled.copiedBuffer(big.buffer().slice(big.index(), Math.min(1232, 40 + big.payloadLength())));
        r.send(ROUTER, us, new Icmpv6Repr.PacketTooBig(1280, quoted));
        r.world.runFor(Duration.ofMillis(100));
        assertEquals(1, r.stack.stats().get("ip6.pmtu.lowered"));
        s.sendto(fd, ByteBuffer.allocate(1400), new SocketAddress(FAR, 9), 0);
        r.world.runFor(Duration.ofMillis(100));
        List<Ipv6Packet> after = r.take().stream().filter(p -> p.destination().equals(FAR)).toList();
        assertEquals(2, after.size(), "fragmented to the path MTU");
        for (Ipv6Packet p : after) {
            assertTrue(40 + p.payloadLength() <= 1280, "within 1280: " + (40 + p.payloadLength()));
            assertEquals(IpProtocol.IPV6_FRAGMENT, p.nextHeader());
        }
        r.send(ROUTER, us, new Icmpv6Repr.PacketTooBig(600, quoted)); // below the minimum: taken as 1280
        r.world.runFor(Duration.ofMillis(100));
        assertEquals(1, r.stack.stats().get("ip6.pmtu.lowered"), "never below 1280 (RFC 8201 §4)");
    }

    @Test
    void aListenerQueryIsAnsweredAndARedirectIsIgnored() throws Exception {
        Router r = new Router(4);
        r.world.runFor(Duration.ofSeconds(5));
        r.take();
        // A general MLDv2 query (RFC 3810 §5.1): type 130, 28 bytes, from the router's link-local address.
        ByteBuf query = Unpooled.buffer(28);
        query.writeByte(130).writeByte(0).writeShort(0).writeShort(1000).writeShort(0).writeZero(16)
                .writeByte(2).writeByte(125).writeShort(0);
        long sum = io.jrump.net.wire.Checksum.add(io.jrump.net.wire.Checksum.pseudoHeader(ROUTER, Ipv6Address.ALL_NODES,
                58, 28L), query, 0, 28);
        query.setShort(2, io.jrump.net.wire.Checksum.finish(sum));
        r.sendIp(ROUTER, Ipv6Address.ALL_NODES, IpProtocol.ICMPV6, query, 1);
        r.world.runFor(Duration.ofMillis(100));
        assertTrue(r.take().stream().anyMatch(p -> p.destination().equals(Ipv6Address.ALL_MLDV2_ROUTERS)),
                "a report answered the query");
        Ipv6Address us = r.slaacAddress().address();
        r.send(ROUTER, us, new Icmpv6Repr.Redirect(Ipv6Address.parse("fe80::99"), FAR, List.of()));
        r.world.runFor(Duration.ofMillis(100));
        assertEquals(1, r.stack.stats().get("nd.drop.redirect"));
        assertTrue(r.stack.ipv6Routers("lan").containsKey(ROUTER), "the route is as it was");
        IpAddress first = r.stack.dnsServers().get(0);
        assertEquals(RDNSS, first);
    }
}
