package io.jrump.net.stack;

import io.jrump.host.sim.SimHost;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.Tshark;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.ndp.NeighborCache;
import io.jrump.net.pcap.PcapWriter;
import io.jrump.net.stack.Sockets.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two kernels on one simulated link with IPv6: duplicate address detection, neighbour
 * discovery, ICMPv6 echo through ping sockets, UDP with fragmentation, TCP, dual-stack sockets
 * and their IPV6_V6ONLY, errors, and a capture tshark finds clean. All on virtual time.
 */
class StackIpv6Test {
    static final Ipv6Address A6 = Ipv6Address.parse("2001:db8::1");
    static final Ipv6Address B6 = Ipv6Address.parse("2001:db8::2");
    static final Ipv4Address A4 = Ipv4Address.parse("198.18.0.1");
    static final Ipv4Address B4 = Ipv4Address.parse("198.18.0.2");

    /** Two dual-stack kernels on link "lan", their IPv6 addresses through DAD. */
    static final class Pair {
        final SimWorld world;
        final NetStack a;
        final NetStack b;

        Pair(long seed, int mtu) throws ErrnoException {
            world = new SimWorld(seed);
            a = boot(world.newHost("a"), A4, A6, mtu);
            b = boot(world.newHost("b"), B4, B6, mtu);
            world.runFor(Duration.ofSeconds(3)); // DAD: a random delay up to 1 s, then 1 s of silence
        }

        private static NetStack boot(SimHost host, Ipv4Address v4, Ipv6Address v6, int mtu) throws ErrnoException {
            NetStack stack = new NetStack();
            RumpKernel.boot(host, BootOptions.defaults().withComponentInstances(List.of(stack)));
            stack.addInterface("lan", NicOptions.mtu(mtu));
            stack.addAddress("lan", v4, 24);
            if (v6 != null) {
                stack.addAddress("lan", v6, 64);
            }
            return stack;
        }
    }

    static AddressAutoconfig.Address address(NetStack s, Ipv6Address a) throws ErrnoException {
        for (AddressAutoconfig.Address x : s.interfaces().stream().filter(i -> i.name().equals("lan")).findFirst()
                .orElseThrow().ipv6Addresses()) {
            if (x.address().equals(a)) {
                return x;
            }
        }
        return null;
    }

    static Ipv6Address linkLocal(NetStack s) throws ErrnoException {
        return s.interfaces().stream().filter(i -> i.name().equals("lan")).findFirst().orElseThrow().ipv6Addresses()
                .stream().map(AddressAutoconfig.Address::address).filter(Ipv6Address::isLinkLocal).findFirst().orElseThrow();
    }

    @Test
    void addressesPassDadAndPingsGoBothWaysToGlobalAndLinkLocalAddresses() throws Exception {
        Pair p = new Pair(1, 1500);
        assertEquals(AddressAutoconfig.AddressState.PREFERRED, address(p.a, A6).state());
        assertEquals(AddressAutoconfig.AddressState.PREFERRED, address(p.b, B6).state());
        Ipv6Address bLinkLocal = linkLocal(p.b);
        assertEquals(AddressAutoconfig.AddressState.PREFERRED, address(p.b, bLinkLocal).state());
        Sockets s = p.a.sockets();
        int fd = s.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, Sockets.IPPROTO_ICMPV6);
        for (Ipv6Address to : List.of(B6, bLinkLocal)) {
            for (int seq = 1; seq <= 2; seq++) {
                byte[] echo = new byte[8 + 56];
                echo[0] = (byte) 128;
                echo[7] = (byte) seq;
                s.sendto(fd, ByteBuffer.wrap(echo), new SocketAddress(to, 0), 0);
                ByteBuffer reply = ByteBuffer.allocate(200);
                Sockets.Received r = s.recvfrom(fd, reply, 0);
                assertEquals(to, r.from().address());
                assertEquals(64, r.length());
                assertEquals((byte) 129, reply.get(0), "echo reply");
                assertEquals(seq, reply.get(7));
            }
        }
        assertEquals(4, p.b.stats().get("icmp6.out.echo_reply"));
        assertEquals(NeighborCache.State.REACHABLE, p.a.neighbors("lan").get(B6).state());
        assertTrue(p.a.stats().get("mld.out.report") >= 2, "the solicited-node groups were reported (twice each)");
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> s.sendto(fd,
                ByteBuffer.wrap(new byte[] {8, 0, 0, 0, 0, 0, 0, 1}), new SocketAddress(B6, 0), 0)).errno(),
                "an ICMPv6 ping socket sends ICMPv6 echo requests, not ICMP ones");
    }

    @Test
    void udpOverIpv6GoesBothWaysFragmentedOrNot() throws Exception {
        Pair p = new Pair(2, 1500);
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        int server = sb.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
        sb.bind(server, new SocketAddress(Ipv6Address.UNSPECIFIED, 7));
        int client = sa.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
        for (int size : new int[] {0, 1, 1452, 1453, 9000, 65527}) {
            byte[] data = new byte[size];
            new Random(size).nextBytes(data);
            sa.sendto(client, ByteBuffer.wrap(data), new SocketAddress(B6, 7), 0);
            ByteBuffer got = ByteBuffer.allocate(70_000);
            Sockets.Received r = sb.recvfrom(server, got, 0);
            assertEquals(size, r.length(), "size " + size);
            assertEquals(A6, r.from().address());
            assertArrayEquals(data, Arrays.copyOf(got.array(), size));
            sb.sendto(server, ByteBuffer.wrap(data), r.from(), 0);
            assertEquals(size, sa.recvfrom(client, ByteBuffer.allocate(70_000), 0).length());
        }
        assertTrue(p.b.stats().get("ip6.reassembled") >= 3, "the large ones came in fragments");
        assertEquals(Errno.EMSGSIZE, assertThrows(ErrnoException.class,
                () -> sa.sendto(client, ByteBuffer.allocate(65528), new SocketAddress(B6, 7), 0)).errno());
        assertEquals(new SocketAddress(Ipv6Address.UNSPECIFIED, 7), sb.getsockname(server));
    }

    @Test
    void aClosedIpv6PortIsRefusedAndAnUnroutedPrefixIsUnreachable() throws Exception {
        Pair p = new Pair(3, 1500);
        Sockets sa = p.a.sockets();
        int fd = sa.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
        sa.connect(fd, new SocketAddress(B6, 9999));
        sa.send(fd, ByteBuffer.wrap(new byte[] {1}), 0);
        ErrnoException refused = assertThrows(ErrnoException.class, () -> sa.recv(fd, ByteBuffer.allocate(10), 0));
        assertEquals(Errno.ECONNREFUSED, refused.errno());
        assertEquals(1, p.b.stats().get("icmp6.out.error"));
        assertEquals(Errno.ENETUNREACH, assertThrows(ErrnoException.class, () -> sa.sendto(fd,
                ByteBuffer.wrap(new byte[1]), new SocketAddress(Ipv6Address.parse("2001:db8:ffff::1"), 9), 0)).errno(),
                "no router: a destination off the on-link prefix has no route (RFC 4943)");
    }

    @Test
    void aConnectToAnOnLinkAddressNobodyHoldsFailsWithEhostunreachAfterNeighbourDiscovery() throws Exception {
        Pair p = new Pair(12, 1500);
        Sockets sa = p.a.sockets();
        int c = sa.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
        long start = p.world.now();
        ErrnoException e = assertThrows(ErrnoException.class,
                () -> sa.connect(c, new SocketAddress(Ipv6Address.parse("2001:db8::77"), 80)));
        assertEquals(Errno.EHOSTUNREACH, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("[2001:db8::77]:80"), e.getMessage());
        long took = p.world.now() - start;
        assertTrue(took >= 3_000_000_000L && took < 5_000_000_000L, "3 solicitations a second apart: " + took);
        int u = sa.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
        sa.connect(u, new SocketAddress(Ipv6Address.parse("2001:db8::78"), 9));
        sa.send(u, ByteBuffer.wrap(new byte[] {1}), 0);
        assertEquals(Errno.EHOSTUNREACH, assertThrows(ErrnoException.class,
                () -> sa.recv(u, ByteBuffer.allocate(4), 0)).errno());
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> {
            p.a.addInterface("small", NicOptions.mtu(1000));
            p.a.enableIpv6("small", Ipv6Options.manual());
        }).errno(), "RFC 8200 §5: no IPv6 on a link under 1280");
    }

    @Test
    void tcpOverIpv6CarriesDataBothWays() throws Exception {
        Pair p = new Pair(4, 1500);
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        int listener = sb.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
        sb.bind(listener, new SocketAddress(Ipv6Address.UNSPECIFIED, 80));
        sb.listen(listener, 4);
        int client = sa.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
        sa.connect(client, new SocketAddress(B6, 80));
        int served = sb.accept(listener);
        assertEquals(new SocketAddress(A6, sa.getsockname(client).port()), sb.getpeername(served));
        assertEquals(B6, sa.getpeername(client).address());
        byte[] up = new byte[1 << 20];
        new Random(4).nextBytes(up);
        assertArrayEquals(up, StackTcpTest.transfer(sa, client, sb, served, up));
        byte[] down = new byte[300_000];
        new Random(5).nextBytes(down);
        assertArrayEquals(down, StackTcpTest.transfer(sb, served, sa, client, down));
        sa.shutdown(client, Sockets.SHUT_WR);
        assertEquals(0, sb.recv(served, ByteBuffer.allocate(10), 0).length(), "end of stream after the FIN");
        TcpInfo info = p.a.tcpConnections().get(0);
        assertEquals(1440 - 12, info.mss(), "the MSS is the MTU less 60 bytes of IPv6 and TCP headers, less timestamps");
    }

    @Test
    void aDualStackListenerTakesIpv4PeersByMappedAddressesAndV6OnlyDoesNot() throws Exception {
        Pair p = new Pair(5, 1500);
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        int dual = sb.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
        assertEquals(0, sb.getsockopt(dual, Sockets.IPPROTO_IPV6, Sockets.IPV6_V6ONLY), "dual-stack by default");
        sb.bind(dual, new SocketAddress(Ipv6Address.UNSPECIFIED, 80));
        sb.listen(dual, 4);
        int v4client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sa.connect(v4client, new SocketAddress(B4, 80));
        int served = sb.accept(dual);
        assertEquals(A4.mapped(), sb.getpeername(served).address(), "an IPv4 peer by its IPv4-mapped address");
        assertEquals(B4.mapped(), sb.getsockname(served).address());
        assertEquals(B4, sa.getpeername(v4client).address());
        // The port is the dual-stack listener's in both families: an IPv4 bind to it conflicts.
        int v4 = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        assertEquals(Errno.EADDRINUSE, assertThrows(ErrnoException.class,
                () -> sb.bind(v4, new SocketAddress(Ipv4Address.ANY, 80))).errno());

        // A V6ONLY listener shares its port with an IPv4 one; each takes its own family.
        int only6 = sb.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
        sb.setsockopt(only6, Sockets.IPPROTO_IPV6, Sockets.IPV6_V6ONLY, 1);
        sb.bind(only6, new SocketAddress(Ipv6Address.UNSPECIFIED, 81));
        sb.listen(only6, 4);
        int only4 = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sb.bind(only4, new SocketAddress(Ipv4Address.ANY, 81));
        sb.listen(only4, 4);
        int c6 = sa.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
        sa.connect(c6, new SocketAddress(B6, 81));
        assertEquals(A6, sb.getpeername(sb.accept(only6)).address());
        int c4 = sa.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
        sa.connect(c4, new SocketAddress(B4.mapped(), 81)); // a dual-stack client to an IPv4 peer
        assertEquals(A4, sb.getpeername(sb.accept(only4)).address());
        assertEquals(B4.mapped(), sa.getpeername(c4).address());
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class,
                () -> sb.setsockopt(only6, Sockets.IPPROTO_IPV6, Sockets.IPV6_V6ONLY, 0)).errno(), "bound already");
        int v6only = sa.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
        sa.setsockopt(v6only, Sockets.IPPROTO_IPV6, Sockets.IPV6_V6ONLY, 1);
        assertEquals(Errno.ENETUNREACH, assertThrows(ErrnoException.class,
                () -> sa.connect(v6only, new SocketAddress(B4, 81))).errno());
        int inet = sa.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
        assertEquals(Errno.EAFNOSUPPORT, assertThrows(ErrnoException.class,
                () -> sa.sendto(inet, ByteBuffer.allocate(1), new SocketAddress(B6, 7), 0)).errno());
    }

    @Test
    void anAddressAnotherNodeHoldsIsFoundDuplicateAndNeverUsed() throws Exception {
        Pair p = new Pair(6, 1500);
        p.a.addAddress("lan", B6, 64);
        p.world.runFor(Duration.ofSeconds(3));
        assertEquals(AddressAutoconfig.AddressState.DUPLICATE, address(p.a, B6).state());
        assertEquals(AddressAutoconfig.AddressState.PREFERRED, address(p.b, B6).state(), "the holder keeps it");
        Sockets sa = p.a.sockets();
        int fd = sa.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
        assertEquals(Errno.EADDRNOTAVAIL, assertThrows(ErrnoException.class,
                () -> sa.bind(fd, new SocketAddress(B6, 5000))).errno());
        p.a.removeAddress("lan", B6);
        assertEquals(null, address(p.a, B6));
    }

    @Test
    void floodsOfUnresolvedNeighboursAndForgedFragmentsStayBoundedAndTrafficGoesOn() throws Exception {
        Pair p = new Pair(10, 1500);
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        int server = sb.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
        sb.bind(server, new SocketAddress(Ipv6Address.UNSPECIFIED, 7));
        int client = sa.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
        sa.sendto(client, ByteBuffer.wrap(new byte[] {1}), new SocketAddress(B6, 7), 0);
        assertEquals(1, sb.recvfrom(server, ByteBuffer.allocate(8), 0).length());
        // A scan of the on-link /64 (RFC 6583 §4): 5,000 destinations nobody answers for.
        for (int n = 1; n <= 5000; n++) {
            sa.sendto(client, ByteBuffer.wrap(new byte[] {2}), new SocketAddress(Ipv6Address.documentation(0x1000L + n), 7), 0);
        }
        java.util.Map<Ipv6Address, NeighborCache.Neighbor> cache = p.a.neighbors("lan");
        long incomplete = cache.values().stream().filter(x -> x.state() == NeighborCache.State.INCOMPLETE).count();
        assertTrue(incomplete <= 64, incomplete + " unresolved neighbours held");
        assertTrue(cache.containsKey(B6), "the resolved neighbour kept its entry through the scan");
        // 3,000 forged first fragments of datagrams that never complete, each a different id.
        HostNic raw = p.world.newHost("raw").networkInterfaces().open("lan", NicOptions.mtu(1500), f -> { });
        io.jrump.hypercall.MacAddress bMac = p.b.interfaces().stream().filter(i -> i.name().equals("lan")).findFirst()
                .orElseThrow().mac();
        for (int id = 0; id < 3000; id++) {
            raw.send(ByteBuffer.wrap(forgedFirstFragment(bMac, id)));
        }
        p.world.runFor(Duration.ofSeconds(1));
        byte[] big = new byte[4000];
        new Random(10).nextBytes(big);
        sa.sendto(client, ByteBuffer.wrap(big), new SocketAddress(B6, 7), 0);
        ByteBuffer got = ByteBuffer.allocate(5000);
        assertEquals(4000, sb.recvfrom(server, got, 0).length(), "reassembly still works beside the flood");
        assertArrayEquals(big, Arrays.copyOf(got.array(), 4000));
        p.world.runFor(Duration.ofSeconds(70)); // reassembly gives up after 60 s, resolution after 3
        assertTrue(p.a.neighbors("lan").values().stream().noneMatch(x -> x.state() == NeighborCache.State.INCOMPLETE));
    }

    @Test
    void anAtomicFragmentIsTakenAsAWholePacket() throws Exception {
        Pair p = new Pair(14, 1500);
        Sockets sb = p.b.sockets();
        int server = sb.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
        sb.bind(server, new SocketAddress(Ipv6Address.UNSPECIFIED, 7));
        HostNic raw = p.world.newHost("raw").networkInterfaces().open("lan", NicOptions.mtu(1500), f -> { });
        io.jrump.hypercall.MacAddress bMac = p.b.interfaces().stream().filter(i -> i.name().equals("lan")).findFirst()
                .orElseThrow().mac();
        // RFC 6946/8021: a fragment header with offset 0 and M clear is the whole packet.
        Ipv6Address src = Ipv6Address.documentation(0x98);
        io.netty.buffer.ByteBuf udp = io.netty.buffer.Unpooled.buffer(11);
        new io.jrump.net.wire.UdpRepr(5555, 7, io.netty.buffer.Unpooled.wrappedBuffer(new byte[] {1, 2, 3}))
                .emit(udp, 0, src, B6);
        udp.writerIndex(11);
        io.netty.buffer.ByteBuf f = io.netty.buffer.Unpooled.buffer(14 + 40 + 8 + 11);
        f.writeBytes(bMac.toBytes()).writeBytes(new byte[] {2, 0, 0, 0, 0, 0x62}).writeShort(0x86dd);
        f.writeInt(6 << 28).writeShort(8 + 11).writeByte(44).writeByte(64);
        f.writeLong(src.high()).writeLong(src.low()).writeLong(B6.high()).writeLong(B6.low());
        f.writeByte(17).writeByte(0).writeShort(0).writeInt(0x1234); // UDP next, offset 0, M clear
        f.writeBytes(udp);
        byte[] frame = new byte[f.readableBytes()];
        f.readBytes(frame);
        raw.send(ByteBuffer.wrap(frame));
        p.world.runFor(Duration.ofMillis(10));
        ByteBuffer got = ByteBuffer.allocate(16);
        Sockets.Received r = sb.recvfrom(server, got, Sockets.MSG_DONTWAIT);
        assertEquals(3, r.length());
        assertEquals(src, r.from().address());
        assertEquals(0, p.b.stats().get("ip6.reassembled"), "not held for reassembly");
    }

    /** An Ethernet frame to {@code mac}: 2001:db8::99 to B6, a fragment header (offset 0, more) with {@code id}, 8 bytes of UDP. */
    private static byte[] forgedFirstFragment(io.jrump.hypercall.MacAddress mac, int id) {
        io.netty.buffer.ByteBuf f = io.netty.buffer.Unpooled.buffer(14 + 40 + 8 + 1024);
        f.writeBytes(mac.toBytes()).writeBytes(new byte[] {2, 0, 0, 0, 0, 0x63}).writeShort(0x86dd);
        Ipv6Address src = Ipv6Address.documentation(0x99);
        f.writeInt(6 << 28).writeShort(8 + 1024).writeByte(44).writeByte(64);
        f.writeLong(src.high()).writeLong(src.low()).writeLong(B6.high()).writeLong(B6.low());
        f.writeByte(17).writeByte(0).writeShort(1).writeInt(id); // next header UDP, offset 0, M set
        f.writeZero(1024);
        byte[] out = new byte[f.readableBytes()];
        f.readBytes(out);
        return out;
    }

    @Test
    void aCaptureOfItAllIsCleanToTshark(@TempDir Path dir) throws Exception {
        SimWorld world = new SimWorld(7);
        NetStack a = new NetStack();
        RumpKernel.boot(world.newHost("a"), BootOptions.defaults().withComponentInstances(List.of(a)));
        a.addInterface("lan", NicOptions.mtu(1500));
        Path file = dir.resolve("v6.pcap");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             PcapWriter pcap = PcapWriter.open(ch)) {
            a.capture("lan", pcap);
            a.addAddress("lan", A6, 64);
            NetStack b = Pair.boot(world.newHost("b"), B4, B6, 1500);
            world.runFor(Duration.ofSeconds(3));
            Sockets sa = a.sockets();
            Sockets sb = b.sockets();
            int server = sb.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
            sb.bind(server, new SocketAddress(Ipv6Address.UNSPECIFIED, 7));
            int client = sa.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
            sa.sendto(client, ByteBuffer.allocate(4000), new SocketAddress(B6, 7), 0); // fragmented
            sa.sendto(client, ByteBuffer.allocate(10), new SocketAddress(B6, 8), 0); // port unreachable back
            int l = sb.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
            sb.bind(l, new SocketAddress(Ipv6Address.UNSPECIFIED, 80));
            sb.listen(l, 1);
            int c = sa.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
            sa.connect(c, new SocketAddress(B6, 80));
            sa.send(c, ByteBuffer.allocate(5000), 0);
            sa.close(c);
            world.runFor(Duration.ofSeconds(1));
            a.capture("lan", null);
        }
        String flagged = Tshark.run(file, "-o", "ip.check_checksum:TRUE",
                "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-Y",
                "_ws.malformed || _ws.expert.severity >= error || icmpv6.checksum.status == \"Bad\""
                        + " || tcp.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\"");
        assertEquals("", flagged.strip(), "tshark flags these frames");
        String types = Tshark.run(file, "-T", "fields", "-e", "icmpv6.type");
        for (String wanted : List.of("135", "136", "143", "1")) { // NS (DAD too), NA, MLDv2 report, unreachable
            assertTrue(types.lines().anyMatch(wanted::equals), "a frame of ICMPv6 type " + wanted + ":\n" + types);
        }
        String frags = Tshark.run(file, "-Y", "ipv6.fragment.count", "-T", "fields",
                "-e", "ipv6.fragment.count");
        assertFalse(frags.isBlank(), "the 4000-byte datagram was reassembled by tshark from our fragments:\n"
                + Tshark.run(file));
        String tcp = Tshark.run(file, "-Y", "tcp.flags.syn == 1 && ipv6", "-T", "fields",
                "-e", "tcp.options.mss_val");
        assertTrue(tcp.lines().anyMatch("1440"::equals), "the SYN offered MSS 1440:\n" + tcp);
    }


    @Test
    void anIdleStackWithIpv6HoldsNoTimerThatFiresForNothing() throws Exception {
        Pair p = new Pair(11, 1500);
        p.world.runFor(Duration.ofSeconds(120)); // neighbours gone STALE, nothing left to time
        long before = p.world.now();
        // With only infinite lifetimes and no traffic, the world runs out of events: nothing ticks.
        assertFalse(p.world.runUntil(() -> false, Duration.ofDays(1)), "events went on for a day");
        assertTrue(p.world.now() - before < Duration.ofMinutes(25).toNanos(),
                "the stacks' timers stopped once STALE entries were collected (20 min), not a day of half-second ticks");
    }

    @Test
    void destinationsAreOrderedRoutedFirstThenIpv6AsRfc6724Says() throws Exception {
        Pair p = new Pair(13, 1500);
        IpAddress far6 = Ipv6Address.parse("2001:db8:ffff::1"); // off-link, and no router: unusable
        IpAddress far4 = Ipv4Address.parse("203.0.113.1"); // no default route: unusable
        IpAddress linkLocal = Ipv6Address.parse("fe80::99");
        assertEquals(List.of(B6, B4, far6, far4), p.a.sortDestinations(List.of(far4, B4, far6, B6)),
                "reachable ones first, IPv6 before IPv4 within each group, the order given otherwise");
        assertEquals(List.of(B4), p.a.sortDestinations(List.of(B4.mapped())), "an IPv4-mapped address is IPv4");
        assertEquals(List.of(linkLocal, B4), p.a.sortDestinations(List.of(B4, linkLocal)),
                "a link-local destination is reached from our link-local address");
        // Without a global IPv6 address, a global IPv6 destination has no source of its scope (rule 2).
        NetStack c = Pair.boot(p.world.newHost("c"), Ipv4Address.parse("198.18.0.3"), null, 1500);
        c.enableIpv6("lan", Ipv6Options.manual());
        p.world.runFor(Duration.ofSeconds(3));
        assertEquals(List.of(B4, B6), c.sortDestinations(List.of(B6, B4)));
    }

    @Test
    void theSameSeedGivesTheSameIpv6Addresses() throws Exception {
        assertNotEquals(linkLocal(new Pair(8, 1500).a), linkLocal(new Pair(9, 1500).a),
                "RFC 7217: a new secret per boot, so a new identifier");
        assertEquals(linkLocal(new Pair(8, 1500).a), linkLocal(new Pair(8, 1500).a), "replayable from the seed");
        IpAddress any = IpAddress.parse("::");
        assertTrue(any.isUnspecified());
    }
}
