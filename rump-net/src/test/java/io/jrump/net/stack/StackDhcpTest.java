package io.jrump.net.stack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.dhcp.DhcpClient;
import io.jrump.net.dhcp.DhcpLease;
import io.jrump.net.dhcp.DhcpMessage;
import io.jrump.net.dhcp.DhcpMessageType;
import io.jrump.net.dhcp.DhcpOptions;
import io.jrump.net.dhcp.DhcpPacket;
import io.jrump.net.ip.RouteTable;
import io.jrump.net.stack.Sockets.SocketAddress;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * DHCP through the stack on the simulation host: kernel A starts DHCP on its interface, which has
 * no address; kernel B runs a small DHCP server on its UDP socket port 67. A gets the address,
 * prefix, default route and MTU, talks UDP to B from it, renews at T1 by unicast, and loses it
 * all when the lease expires unanswered; an address another host holds is declined after the ARP
 * probe; stop releases.
 */
class StackDhcpTest {
    static final Ipv4Address SERVER = Ipv4Address.parse("198.18.0.1");
    static final Ipv4Address FIRST = Ipv4Address.parse("198.18.0.100");
    static final long LEASE = 600;

    final SimWorld world = new SimWorld(19);
    final NetStack a = boot(world.newHost("a"), null);
    final NetStack b = boot(world.newHost("b"), SERVER);
    final Server server = new Server(b.sockets());

    StackDhcpTest() throws ErrnoException {
    }

    private static NetStack boot(SimHost host, Ipv4Address address) throws ErrnoException {
        NetStack stack = new NetStack();
        RumpKernel.boot(host, BootOptions.defaults().withComponentInstances(List.of(stack)));
        stack.addInterface("lan", NicOptions.mtu(1500));
        if (address != null) {
            stack.addAddress("lan", address, 24);
        }
        return stack;
    }

    /** A DHCP server on B's UDP port 67: answers each message the test hands it, as bytes. */
    static final class Server {
        final Sockets s;
        final int fd;
        Ipv4Address pool = FIRST;
        /** What each received message came from, in order. */
        final List<SocketAddress> from = new ArrayList<>();
        /** Whether an INIT-REBOOT REQUEST (no Server Identifier, no ciaddr) gets a DHCPNAK. */
        boolean nakReboot;

        Server(Sockets s) throws ErrnoException {
            this.s = s;
            fd = s.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_BROADCAST, 1);
            s.bind(fd, new SocketAddress(Ipv4Address.ANY, 67));
        }

        /** Waits (in virtual time) for the next client message, answers it if {@code answer}, returns it. */
        DhcpMessage serve(boolean answer) throws ErrnoException {
            ByteBuffer buf = ByteBuffer.allocate(2048);
            Sockets.Received r = s.recvfrom(fd, buf, 0);
            from.add(r.from());
            DhcpMessage m = DhcpMessage.parse(Unpooled.wrappedBuffer(buf.array(), 0, r.length()));
            if (!answer) {
                return m;
            }
            switch (m.type()) {
                case DISCOVER -> reply(m, DhcpMessageType.OFFER, pool);
                case REQUEST -> {
                    boolean rebooting = m.options().serverId() == null && m.ciaddr().isUnspecified();
                    if (rebooting && nakReboot) {
                        reply(m, DhcpMessageType.NAK, Ipv4Address.ANY);
                    } else {
                        reply(m, DhcpMessageType.ACK,
                                m.ciaddr().isUnspecified() ? m.options().requestedAddress() : m.ciaddr());
                    }
                }
                case DECLINE -> pool = new Ipv4Address(pool.bits() + 1);
                default -> { }
            }
            return m;
        }

        private void reply(DhcpMessage request, DhcpMessageType type, Ipv4Address yiaddr) throws ErrnoException {
            DhcpOptions o = type == DhcpMessageType.NAK ? DhcpOptions.builder(type).serverId(SERVER).build()
                    : DhcpOptions.builder(type).serverId(SERVER).leaseSeconds(LEASE)
                            .subnetMask(Ipv4Address.parse("255.255.255.0")).routers(List.of(SERVER)).mtu(1400).build();
            DhcpMessage reply = new DhcpMessage(DhcpPacket.BOOTREPLY, 0, request.xid(), 0, request.broadcast(),
                    Ipv4Address.ANY, yiaddr, SERVER, Ipv4Address.ANY, request.chaddr(), o);
            byte[] bytes = new byte[reply.toByteBuf().readableBytes()];
            reply.toByteBuf().getBytes(0, bytes);
            // Broadcast to a client without an address (RFC 2131 §4.1), else unicast to ciaddr.
            Ipv4Address to = request.ciaddr().isUnspecified() ? Ipv4Address.BROADCAST : request.ciaddr();
            s.sendto(fd, ByteBuffer.wrap(bytes), new SocketAddress(to, 68), 0);
        }
    }

    private Interface lan(NetStack stack) throws ErrnoException {
        return stack.interfaces().stream().filter(i -> i.name().equals("lan")).findFirst().orElseThrow();
    }

    private static final RouteTable.Route DEFAULT_VIA_B = new RouteTable.Route(Ipv4Address.ANY, 0, SERVER, "lan", 0);

    /** DISCOVER, REQUEST answered, then the ARP probe's 1–7 s until the lease is applied. */
    private DhcpSession bind() throws ErrnoException {
        DhcpSession session = a.startDhcp("lan");
        assertEquals(DhcpMessageType.DISCOVER, server.serve(true).type());
        assertEquals(Ipv4Address.ANY, server.from.get(0).address(), "sent from 0.0.0.0");
        assertEquals(68, server.from.get(0).port());
        assertEquals(DhcpMessageType.REQUEST, server.serve(true).type());
        assertTrue(world.runUntil(() -> a.stats().get("dhcp.lease.applied") == 1, Duration.ofSeconds(30)));
        return session;
    }

    @Test
    void aGetsAnAddressTalksOverItRenewsAtT1AndLosesItAtExpiry() throws Exception {
        DhcpSession session = bind();
        long boundAt = world.now();
        assertEquals(DhcpClient.State.BOUND, session.state());
        DhcpLease lease = session.lease();
        assertEquals(FIRST, lease.address());
        assertEquals(List.of(new Interface.Address(FIRST, 24)), lan(a).addresses());
        assertEquals(1400, lan(a).mtu());
        assertTrue(a.routes().contains(DEFAULT_VIA_B), a.routes().toString());
        assertEquals(3, a.stats().get("dhcp.probe.out"), "RFC 5227: three ARP probes before binding");

        // UDP both ways over the leased address.
        int echo = b.sockets().socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
        b.sockets().bind(echo, new SocketAddress(Ipv4Address.ANY, 7));
        int fd = a.sockets().socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
        a.sockets().sendto(fd, ByteBuffer.wrap("lease".getBytes()), new SocketAddress(SERVER, 7), 0);
        ByteBuffer got = ByteBuffer.allocate(100);
        Sockets.Received r = b.sockets().recvfrom(echo, got, 0);
        assertEquals(FIRST, r.from().address());
        b.sockets().sendto(echo, ByteBuffer.wrap("back".getBytes()), r.from(), 0);
        ByteBuffer back = ByteBuffer.allocate(100);
        assertEquals(4, a.sockets().recvfrom(fd, back, 0).length());
        assertArrayEquals("back".getBytes(), java.util.Arrays.copyOf(back.array(), 4));

        // T1 = half the lease, counted from the REQUEST: a unicast REQUEST from the address.
        DhcpMessage renew = server.serve(true);
        long t1 = lease.acquiredNanos() + LEASE / 2 * 1_000_000_000L;
        assertEquals(DhcpMessageType.REQUEST, renew.type());
        assertEquals(FIRST, renew.ciaddr());
        assertEquals(new SocketAddress(FIRST, 68), server.from.get(server.from.size() - 1));
        assertTrue(world.now() >= t1 && world.now() < t1 + 10_000_000L, "renewed at T1, not " + world.now());
        assertTrue(world.now() > boundAt);
        assertTrue(world.runUntil(() -> {
            try {
                return session.lease().acquiredNanos() > lease.acquiredNanos();
            } catch (ErrnoException e) {
                throw new AssertionError(e);
            }
        }, Duration.ofSeconds(5)));
        assertEquals(DhcpClient.State.BOUND, session.state());
        DhcpLease renewed = session.lease();

        // No more answers: at expiry the address, the route and the MTU go.
        long expiry = renewed.acquiredNanos() + LEASE * 1_000_000_000L;
        world.runFor(expiry - world.now() - 1_000_000L);
        assertEquals(List.of(new Interface.Address(FIRST, 24)), lan(a).addresses(), "still held just before expiry");
        world.runFor(2_000_000L);
        assertEquals(List.of(), lan(a).addresses());
        assertFalse(a.routes().contains(DEFAULT_VIA_B));
        assertTrue(a.routes().stream().noneMatch(x -> x.iface().equals("lan")), a.routes().toString());
        assertEquals(1500, lan(a).mtu());
        assertNull(session.lease());
        assertEquals(DhcpClient.State.SELECTING, session.state());
        assertEquals(Errno.ENETUNREACH, assertThrows(ErrnoException.class,
                () -> a.sockets().sendto(fd, ByteBuffer.wrap(new byte[1]), new SocketAddress(SERVER, 7), 0)).errno());
        session.stop();
    }

    @Test
    void anAddressAnotherHostHasIsDeclinedAfterTheProbe() throws Exception {
        b.addAddress("lan", FIRST, 24); // B answers A's probe for it
        a.startDhcp("lan");
        List<DhcpMessageType> seen = new ArrayList<>();
        for (int n = 0; n < 5; n++) {
            seen.add(server.serve(true).type());
        }
        assertEquals(List.of(DhcpMessageType.DISCOVER, DhcpMessageType.REQUEST, DhcpMessageType.DECLINE,
                DhcpMessageType.DISCOVER, DhcpMessageType.REQUEST), seen);
        assertTrue(world.runUntil(() -> a.stats().get("dhcp.lease.applied") == 1, Duration.ofSeconds(30)));
        assertEquals(1, a.stats().get("dhcp.probe.conflict"));
        assertEquals(List.of(new Interface.Address(new Ipv4Address(FIRST.bits() + 1), 24)), lan(a).addresses());
    }

    @Test
    void stopReleasesAndRemovesTheAddress() throws Exception {
        DhcpSession session = bind();
        session.stop();
        DhcpMessage release = server.serve(false);
        assertEquals(DhcpMessageType.RELEASE, release.type());
        assertEquals(FIRST, release.ciaddr());
        assertEquals(List.of(), lan(a).addresses());
        assertFalse(a.routes().contains(DEFAULT_VIA_B));
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> a.startDhcp("lo")).errno());
        DhcpSession again = a.startDhcp("lan");
        assertEquals(Errno.EBUSY, assertThrows(ErrnoException.class, () -> a.startDhcp("lan")).errno());
        again.stop();
    }

    static final Ipv4Address REMEMBERED = Ipv4Address.parse("198.18.0.123");

    /** INIT-REBOOT: one broadcast REQUEST for the remembered address, no DISCOVER, the address bound. */
    @Test
    void initRebootAsksForTheRememberedAddressFirst() throws Exception {
        DhcpSession session = a.startDhcp("lan", DhcpSession.Options.DEFAULTS.withRemembered(REMEMBERED));
        assertEquals(DhcpClient.State.REBOOTING, session.state());
        DhcpMessage r = server.serve(true);
        assertEquals(DhcpMessageType.REQUEST, r.type());
        assertEquals(REMEMBERED, r.options().requestedAddress(), "option 50");
        assertNull(r.options().serverId(), "no Server Identifier (RFC 2131 §4.3.2 INIT-REBOOT)");
        assertEquals(Ipv4Address.ANY, r.ciaddr());
        assertTrue(r.broadcast());
        assertEquals(new SocketAddress(Ipv4Address.ANY, 68), server.from.get(0), "broadcast from 0.0.0.0");
        assertTrue(world.runUntil(() -> a.stats().get("dhcp.lease.applied") == 1, Duration.ofSeconds(30)));
        assertEquals(REMEMBERED, session.lease().address());
        assertEquals(List.of(new Interface.Address(REMEMBERED, 24)), lan(a).addresses());
        assertTrue(a.routes().contains(DEFAULT_VIA_B), a.routes().toString());
        assertEquals(1, server.from.size(), "nothing but the one REQUEST");
        session.stop();
    }

    /** A DHCPNAK to INIT-REBOOT: DISCOVER, and the pool's address. */
    @Test
    void initRebootNakedDiscovers() throws Exception {
        server.nakReboot = true;
        DhcpSession session = a.startDhcp("lan", DhcpSession.Options.DEFAULTS.withRemembered(REMEMBERED));
        assertEquals(DhcpMessageType.REQUEST, server.serve(true).type());
        assertEquals(DhcpMessageType.DISCOVER, server.serve(true).type());
        DhcpMessage request = server.serve(true);
        assertEquals(SERVER, request.options().serverId(), "a SELECTING REQUEST this time");
        assertTrue(world.runUntil(() -> a.stats().get("dhcp.lease.applied") == 1, Duration.ofSeconds(30)));
        assertEquals(FIRST, session.lease().address());
        assertEquals(List.of(new Interface.Address(FIRST, 24)), lan(a).addresses());
    }

    /** Without the RFC 5227 probe the address is used as soon as the ACK arrives: milliseconds of virtual time. */
    @Test
    void withoutTheProbeTheAddressIsUsedAtTheAck() throws Exception {
        long t0 = world.now();
        DhcpSession session = a.startDhcp("lan", DhcpSession.Options.DEFAULTS.withConflictProbe(false));
        server.serve(true);
        server.serve(true);
        assertTrue(world.runUntil(() -> a.stats().get("dhcp.lease.applied") == 1, Duration.ofSeconds(1)));
        assertTrue(world.now() - t0 < 50_000_000L, (world.now() - t0) + " ns");
        assertEquals(DhcpClient.State.BOUND, session.state());
        assertEquals(0, a.stats().get("dhcp.probe.out"));
    }

    /** stopKeepingLease: no DHCPRELEASE (the server keeps the lease), the address goes here. */
    @Test
    void stopKeepingLeaseSendsNothingAndRemovesTheAddress() throws Exception {
        DhcpSession session = bind();
        long out = a.stats().get("dhcp.out");
        session.stopKeepingLease();
        world.runFor(Duration.ofSeconds(5));
        assertEquals(out, a.stats().get("dhcp.out"), "no DHCPRELEASE");
        assertEquals(List.of(), lan(a).addresses());
        assertFalse(a.routes().contains(DEFAULT_VIA_B));
        assertEquals(DhcpClient.State.STOPPED, session.state());
        a.startDhcp("lan").stop(); // the interface is free again
    }

    @Test
    void removeAddressKeepsTheOnLinkRouteWhileAnotherAddressSharesIt() throws Exception {
        Ipv4Address second = Ipv4Address.parse("198.18.0.3");
        RouteTable.Route onLink = new RouteTable.Route(Ipv4Address.parse("198.18.0.0"), 24, Ipv4Address.ANY, "lan", 0);
        b.addAddress("lan", second, 24);
        assertEquals(1, b.routes().stream().filter(onLink::equals).count(), "one on-link route for both");
        b.removeAddress("lan", SERVER, 24);
        assertTrue(b.routes().contains(onLink));
        assertEquals(List.of(new Interface.Address(second, 24)), lan(b).addresses());
        b.removeAddress("lan", second, 24);
        assertFalse(b.routes().contains(onLink));
        assertEquals(Errno.EADDRNOTAVAIL, assertThrows(ErrnoException.class,
                () -> b.removeAddress("lan", second, 24)).errno());
        assertEquals(Errno.ESRCH, assertThrows(ErrnoException.class, () -> b.removeRoute(onLink)).errno());
        b.addAddress("lan", SERVER, 24);
        b.addDefaultRoute(Ipv4Address.parse("198.18.0.254"));
        RouteTable.Route def = new RouteTable.Route(Ipv4Address.ANY, 0, Ipv4Address.parse("198.18.0.254"), "lan", 0);
        b.removeRoute(def);
        assertFalse(b.routes().contains(def));
    }
}
