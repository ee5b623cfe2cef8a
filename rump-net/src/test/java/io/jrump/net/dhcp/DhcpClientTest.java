package io.jrump.net.dhcp;

import static io.jrump.net.dhcp.FakeServer.MS;
import static io.jrump.net.dhcp.FakeServer.WEEK;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.dhcp.DhcpClient.State;
import io.jrump.net.dhcp.FakeServer.Sent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The client against a fake server on the simulation host's virtual time. */
class DhcpClientTest {
    static final MacAddress MAC = MacAddress.parse("02:00:00:00:00:01");
    static final long S = 1_000_000_000L;

    final SimWorld world = new SimWorld(19);
    final SimHost host = world.newHost("client");
    final FakeServer server = new FakeServer(host);
    final List<Ipv4Address> probed = new ArrayList<>();

    DhcpClient client(boolean probe) {
        DhcpClient c = new DhcpClient(host, MAC, server, server, probe ? probed::add : null);
        server.client = c;
        return c;
    }

    boolean runUntil(DhcpClient c, State s, Duration max) {
        return world.runUntil(() -> c.state() == s, max);
    }

    @Test
    void bindsWithin50MillisecondsOfVirtualTimeAndReportsTheLease() {
        DhcpClient c = client(false);
        long t0 = world.now();
        c.start();
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(1)));
        long toBound = world.now() - t0;
        System.out.println("DHCP: virtual time to BOUND against a server answering in 1 ms: " + toBound / 1000 + " µs");
        assertTrue(toBound <= 50 * MS, "bound after " + toBound + " ns");
        assertEquals(List.of(State.INIT, State.SELECTING, State.REQUESTING, State.BOUND), server.states);
        Sent discover = server.sent.get(0);
        assertEquals(DhcpMessageType.DISCOVER, discover.type());
        assertNull(discover.unicastTo());
        assertTrue(discover.message().broadcast());
        assertEquals(Octets.of(new byte[] {1, 2, 0, 0, 0, 0, 1}), discover.message().options().clientId());
        assertEquals(List.of(1, 3, 6, 15, 26, 51, 58, 59), discover.message().options().parameterRequestList());
        Sent request = server.sent.get(1);
        assertEquals(DhcpMessageType.REQUEST, request.type());
        assertEquals(discover.message().xid(), request.message().xid(), "the REQUEST keeps the OFFER's xid");
        assertEquals(Ipv4Address.parse("198.18.0.100"), request.message().options().requestedAddress());
        assertEquals(FakeServer.SERVER, request.message().options().serverId());
        assertEquals(Ipv4Address.ANY, request.message().ciaddr());
        DhcpLease l = c.lease();
        assertEquals(List.of(l), server.applied);
        assertEquals(Ipv4Address.parse("198.18.0.100"), l.address());
        assertEquals(24, l.prefixLength());
        assertEquals(List.of(FakeServer.ROUTER), l.routers());
        assertEquals(FakeServer.DNS, l.dnsServers());
        assertEquals("example.test", l.domainName());
        assertEquals(1400, l.mtu());
        assertEquals(FakeServer.SERVER, l.server());
        assertEquals(WEEK, l.leaseSeconds());
        assertEquals(WEEK / 2, l.renewalSeconds());
        assertEquals(WEEK * 7 / 8, l.rebindingSeconds());
        assertEquals(t0, l.acquiredNanos());
        assertEquals(List.of(), world.failures());
    }

    @Test
    void discoverBacksOffExponentiallyWithinRfcBounds() {
        server.answerDiscover = false;
        DhcpClient c = client(false);
        c.start();
        world.runFor(Duration.ofSeconds(400));
        List<Sent> d = server.sent(DhcpMessageType.DISCOVER);
        assertTrue(d.size() >= 8, d.size() + " DISCOVERs");
        int[] base = {4, 8, 16, 32, 64, 64, 64};
        for (int i = 0; i < base.length; i++) {
            long gap = d.get(i + 1).nanos() - d.get(i).nanos();
            assertTrue(gap >= (base[i] - 1) * S && gap <= (base[i] + 1) * S, "interval " + i + ": " + gap + " ns");
            assertEquals(d.get(0).message().xid(), d.get(i + 1).message().xid(), "one exchange, one xid");
            assertEquals((d.get(i + 1).nanos() - d.get(0).nanos()) / S, d.get(i + 1).message().secs());
        }
        assertEquals(State.SELECTING, c.state());
    }

    @Test
    void requestingGivesUpAfterFiveRequestsAndStartsOver() {
        server.answerSelectingRequest = false;
        DhcpClient c = client(false);
        c.start();
        world.runFor(Duration.ofSeconds(130));
        List<Sent> d = server.sent(DhcpMessageType.DISCOVER);
        assertEquals(2, d.size(), "started over");
        long again = d.get(1).nanos();
        assertEquals(5, server.sent(DhcpMessageType.REQUEST).stream().filter(r -> r.nanos() < again).count());
        // 4 + 8 + 16 + 32 + 64 s after the first REQUEST, each ±1 s
        long firstRequest = server.sent(DhcpMessageType.REQUEST).get(0).nanos();
        assertTrue(Math.abs(again - firstRequest - 124 * S) <= 5 * S, (again - firstRequest) + " ns");
        assertNotEquals(d.get(0).message().xid(), d.get(1).message().xid());
    }

    /** A week's lease runs in milliseconds: renew at T1 (unicast), rebind at T2 (broadcast), expiry. */
    @Test
    void renewsAtT1RebindsAtT2AndExpiryRemovesTheAddress() {
        DhcpClient c = client(false);
        c.start();
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(1)));
        DhcpLease l = c.lease();
        server.answerRenew = false;
        server.answerRebind = false;
        long t1 = l.acquiredNanos() + WEEK / 2 * S;
        long t2 = l.acquiredNanos() + WEEK * 7 / 8 * S;
        long expiry = l.acquiredNanos() + WEEK * S;
        int before = server.sent.size();
        long wall = System.nanoTime();
        world.runFor(Duration.ofDays(8));
        long wallMs = (System.nanoTime() - wall) / 1_000_000;
        assertTrue(wallMs < 5000, "a week of lease in " + wallMs + " ms");
        List<Sent> later = server.sent.subList(before, server.sent.size());
        List<Sent> renews = later.stream().filter(s -> s.unicastTo() != null).toList();
        List<Sent> rebinds = later.stream()
                .filter(s -> s.unicastTo() == null && s.type() == DhcpMessageType.REQUEST && !s.message().ciaddr().isUnspecified())
                .toList();
        assertEquals(t1, renews.get(0).nanos(), "the first renewal at T1");
        for (Sent r : renews) {
            assertEquals(FakeServer.SERVER, r.unicastTo());
            assertEquals(l.address(), r.message().ciaddr());
            assertNull(r.message().options().serverId(), "RENEWING sends no Server Identifier");
            assertNull(r.message().options().requestedAddress());
            assertTrue(r.nanos() < t2);
        }
        for (int i = 1; i < renews.size(); i++) {
            long gap = renews.get(i).nanos() - renews.get(i - 1).nanos();
            assertEquals(Math.max(60 * S, (t2 - renews.get(i - 1).nanos()) / 2), gap, "half the time to T2");
        }
        assertTrue(renews.size() >= 5, renews.size() + " renewals");
        assertEquals(t2, rebinds.get(0).nanos(), "rebinding at T2");
        assertTrue(rebinds.size() >= 3);
        assertTrue(rebinds.stream().allMatch(r -> r.nanos() < expiry));
        assertEquals(List.of(l), server.removed, "expiry removes the address");
        int expired = server.states.lastIndexOf(State.INIT);
        assertEquals(expiry, server.stateNanos.get(expired));
        List<State> tail = server.states.subList(server.states.indexOf(State.BOUND), expired + 1);
        assertEquals(List.of(State.BOUND, State.RENEWING, State.REBINDING, State.INIT), tail);
        Sent rediscover = later.stream().filter(s -> s.type() == DhcpMessageType.DISCOVER).findFirst().orElseThrow();
        assertEquals(expiry, rediscover.nanos());
        assertEquals(State.BOUND, c.state(), "bound again (the server still answers DISCOVER)");
    }

    @Test
    void anAckWhileRenewingExtendsTheLease() {
        DhcpClient c = client(false);
        c.start();
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(1)));
        DhcpLease first = c.lease();
        world.runFor(Duration.ofSeconds(WEEK / 2 + 1));
        assertEquals(State.BOUND, c.state());
        DhcpLease second = c.lease();
        assertEquals(first.acquiredNanos() + WEEK / 2 * S, second.acquiredNanos(), "the renewal's time");
        assertEquals(List.of(first, second), server.applied);
        assertEquals(List.of(), server.removed);
        assertEquals(1, server.sent.stream().filter(s -> s.unicastTo() != null).count(), "one renewal");
        world.runFor(Duration.ofSeconds(WEEK / 2));
        assertEquals(3, server.applied.size(), "renewed again at the new T1");
    }

    @Test
    void aNakWhileRequestingGoesBackToInitWithANewXid() {
        server.naksLeft = 1;
        DhcpClient c = client(false);
        c.start();
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(1)));
        assertEquals(List.of(State.INIT, State.SELECTING, State.REQUESTING, State.INIT, State.SELECTING,
                State.REQUESTING, State.BOUND), server.states);
        List<Sent> d = server.sent(DhcpMessageType.DISCOVER);
        assertEquals(2, d.size());
        assertNotEquals(d.get(0).message().xid(), d.get(1).message().xid());
        assertEquals(List.of(), server.removed, "nothing was applied, nothing to remove");
    }

    @Test
    void aNakWhileRenewingRemovesTheAddress() {
        DhcpClient c = client(false);
        c.start();
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(1)));
        DhcpLease l = c.lease();
        server.nakRenew = true;
        server.answerDiscover = false;
        world.runFor(Duration.ofSeconds(WEEK / 2 + 1));
        assertEquals(List.of(l), server.removed);
        assertNull(c.lease());
        assertEquals(State.SELECTING, c.state());
    }

    @Test
    void aConflictDeclinesTheAddressAndStartsOverTenSecondsLater() {
        DhcpClient c = client(true);
        c.start();
        assertTrue(runUntil(c, State.PROBING, Duration.ofSeconds(1)));
        assertEquals(List.of(Ipv4Address.parse("198.18.0.100")), probed);
        assertEquals(List.of(), server.applied, "nothing applied before the probe");
        long declinedAt = world.now();
        c.probeResult(Ipv4Address.parse("198.18.0.100"), true);
        Sent decline = server.sent.get(server.sent.size() - 1);
        assertEquals(DhcpMessageType.DECLINE, decline.type());
        assertNull(decline.unicastTo());
        assertEquals(Ipv4Address.parse("198.18.0.100"), decline.message().options().requestedAddress());
        assertEquals(FakeServer.SERVER, decline.message().options().serverId());
        assertEquals(Ipv4Address.ANY, decline.message().ciaddr());
        assertEquals(State.INIT, c.state());
        assertTrue(runUntil(c, State.PROBING, Duration.ofSeconds(20)));
        Sent rediscover = server.sent(DhcpMessageType.DISCOVER).get(1);
        assertEquals(declinedAt + 10 * S, rediscover.nanos(), "10 s after the DECLINE");
        assertEquals(Ipv4Address.parse("198.18.0.101"), probed.get(1));
        c.probeResult(Ipv4Address.parse("198.18.0.101"), false);
        assertEquals(State.BOUND, c.state());
        assertEquals(Ipv4Address.parse("198.18.0.101"), server.applied.get(0).address());
    }

    @Test
    void initRebootKeepsTheRememberedAddress() {
        DhcpClient c = client(false);
        Ipv4Address remembered = Ipv4Address.parse("198.18.0.77");
        c.start(remembered);
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(1)));
        Sent r = server.sent.get(0);
        assertEquals(DhcpMessageType.REQUEST, r.type());
        assertEquals(remembered, r.message().options().requestedAddress());
        assertNull(r.message().options().serverId(), "INIT-REBOOT sends no Server Identifier");
        assertEquals(Ipv4Address.ANY, r.message().ciaddr());
        assertEquals(1, server.sent.size(), "no DISCOVER");
        assertEquals(remembered, c.lease().address());
    }

    @Test
    void initRebootNakedGoesToInit() {
        server.nakReboot = true;
        DhcpClient c = client(false);
        c.start(Ipv4Address.parse("198.18.0.77"));
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(1)));
        assertEquals(List.of(State.REBOOTING, State.INIT, State.SELECTING, State.REQUESTING, State.BOUND), server.states);
        assertEquals(Ipv4Address.parse("198.18.0.100"), c.lease().address());
    }

    /** A server that does not answer INIT-REBOOT: two REQUESTs, about 4 + 8 s, then DISCOVER. */
    @Test
    void initRebootUnansweredFallsBackToDiscoverAfterTwoRequests() {
        server.answerReboot = false;
        DhcpClient c = client(false);
        c.start(Ipv4Address.parse("198.18.0.77"));
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(20)));
        List<Sent> requests = server.sent(DhcpMessageType.REQUEST);
        Sent discover = server.sent(DhcpMessageType.DISCOVER).get(0);
        List<Sent> reboots = requests.stream().filter(r -> r.nanos() < discover.nanos()).toList();
        assertEquals(2, reboots.size());
        assertTrue(reboots.stream().allMatch(r -> r.message().options().serverId() == null
                && Ipv4Address.parse("198.18.0.77").equals(r.message().options().requestedAddress())));
        long waited = discover.nanos() - reboots.get(0).nanos();
        assertTrue(waited >= 10 * S && waited <= 14 * S, waited + " ns");
        assertEquals(List.of(State.REBOOTING, State.INIT, State.SELECTING, State.REQUESTING, State.BOUND), server.states);
        assertEquals(Ipv4Address.parse("198.18.0.100"), c.lease().address());
    }

    @Test
    void stopKeepingLeaseSendsNoReleaseAndRemovesTheAddress() {
        DhcpClient c = client(false);
        c.start();
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(1)));
        DhcpLease l = c.lease();
        int n = server.sent.size();
        c.stopKeepingLease();
        assertEquals(n, server.sent.size(), "no DHCPRELEASE");
        assertEquals(List.of(l), server.removed);
        assertNull(c.lease());
        assertEquals(State.STOPPED, c.state());
        world.runFor(Duration.ofDays(8));
        assertEquals(n, server.sent.size(), "no timer left running");
    }

    @Test
    void repliesWithAnotherXidOrChaddrAreIgnored() {
        DhcpClient c = client(false);
        server.tamper = m -> FakeServer.withXid(m, m.xid() + 1);
        c.start();
        world.runFor(Duration.ofSeconds(1));
        assertEquals(State.SELECTING, c.state());
        assertEquals(1, c.ignoredCount());
        server.tamper = m -> FakeServer.withChaddr(m, MacAddress.parse("02:00:00:00:00:02"));
        world.runFor(Duration.ofSeconds(5));
        assertEquals(State.SELECTING, c.state());
        assertEquals(2, c.ignoredCount());
        server.tamper = m -> m;
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(20)));
        assertEquals(List.of(), world.failures());
    }

    @Test
    void garbageIsCountedAndDropped() {
        DhcpClient c = client(false);
        server.answerDiscover = false;
        c.start();
        c.receive(io.netty.buffer.Unpooled.wrappedBuffer(new byte[100]));
        assertEquals(1, c.malformedCount());
        assertEquals(State.SELECTING, c.state());
    }

    @Test
    void stopReleasesTheLease() {
        DhcpClient c = client(false);
        c.start();
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(1)));
        DhcpLease l = c.lease();
        c.stop();
        Sent release = server.sent.get(server.sent.size() - 1);
        assertEquals(DhcpMessageType.RELEASE, release.type());
        assertEquals(FakeServer.SERVER, release.unicastTo());
        assertEquals(l.address(), release.message().ciaddr());
        assertEquals(FakeServer.SERVER, release.message().options().serverId());
        assertEquals(List.of(l), server.removed);
        assertEquals(State.STOPPED, c.state());
        int n = server.sent.size();
        world.runFor(Duration.ofDays(8));
        assertEquals(n, server.sent.size(), "no timer left running");
        assertFalse(server.states.subList(server.states.size() - 1, server.states.size()).contains(State.INIT));
    }

    private static DhcpMessage offer(int xid, Ipv4Address yiaddr, Ipv4Address server, DhcpMessageType type) {
        DhcpOptions.Builder o = DhcpOptions.builder(type).leaseSeconds(3600L);
        if (server != null) {
            o.serverId(server);
        }
        return new DhcpMessage(DhcpPacket.BOOTREPLY, 0, xid, 0, true, Ipv4Address.ANY, yiaddr,
                Ipv4Address.ANY, Ipv4Address.ANY, MAC, o.build());
    }

    @Test
    void theFirstValidOfferIsTakenAndOnlyItsServersAckCounts() {
        server.answerDiscover = false;
        DhcpClient c = client(false);
        c.start();
        int xid = server.sent.get(0).message().xid();
        Ipv4Address other = Ipv4Address.parse("198.18.0.2");
        c.receive(offer(xid, Ipv4Address.ANY, other, DhcpMessageType.OFFER));
        c.receive(offer(xid, Ipv4Address.parse("224.0.0.1"), other, DhcpMessageType.OFFER));
        c.receive(offer(xid, Ipv4Address.parse("198.18.0.50"), null, DhcpMessageType.OFFER));
        assertEquals(State.SELECTING, c.state(), "no usable address or no Server Identifier");
        assertEquals(3, c.ignoredCount());
        c.receive(offer(xid, Ipv4Address.parse("198.18.0.60"), other, DhcpMessageType.OFFER));
        c.receive(offer(xid, Ipv4Address.parse("198.18.0.100"), FakeServer.SERVER, DhcpMessageType.OFFER));
        assertEquals(State.REQUESTING, c.state());
        Sent request = server.sent.get(server.sent.size() - 1);
        assertEquals(other, request.message().options().serverId(), "the first valid OFFER");
        assertEquals(Ipv4Address.parse("198.18.0.60"), request.message().options().requestedAddress());
        c.receive(offer(xid, Ipv4Address.parse("198.18.0.100"), FakeServer.SERVER, DhcpMessageType.ACK));
        c.receive(offer(xid, Ipv4Address.ANY, FakeServer.SERVER, DhcpMessageType.NAK));
        assertEquals(State.REQUESTING, c.state(), "ACK and NAK from a server not chosen are ignored");
        c.receive(offer(xid, Ipv4Address.parse("198.18.0.60"), other, DhcpMessageType.ACK));
        assertEquals(State.BOUND, c.state());
        assertEquals(other, c.lease().server());
        assertEquals(Ipv4Address.parse("198.18.0.60"), c.lease().address());
        assertEquals(24, c.lease().prefixLength(), "no mask: 198.18.0.60 is class C");
    }

    @Test
    void rebindingIsAnsweredAndTheLeaseGoesOn() {
        server.answerRenew = false;
        DhcpClient c = client(false);
        c.start();
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(1)));
        DhcpLease first = c.lease();
        world.runFor(Duration.ofSeconds(WEEK * 7 / 8 + 1));
        assertEquals(State.BOUND, c.state());
        assertEquals(first.acquiredNanos() + WEEK * 7 / 8 * S, c.lease().acquiredNanos());
        assertEquals(List.of(), server.removed);
        assertEquals(List.of(State.INIT, State.SELECTING, State.REQUESTING, State.BOUND, State.RENEWING,
                State.REBINDING, State.BOUND), server.states);
    }

    @Test
    void theServersT1AndT2AreUsedWhenOrderedElseTheDefaults() {
        server.renewalSeconds = 100L;
        server.rebindingSeconds = 200L;
        DhcpClient c = client(false);
        c.start();
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(1)));
        assertEquals(100, c.lease().renewalSeconds());
        assertEquals(200, c.lease().rebindingSeconds());
        long t0 = c.lease().acquiredNanos();
        world.runFor(Duration.ofSeconds(101));
        assertEquals(t0 + 100 * S, server.sent.get(2).nanos(), "renewed at the server's T1");
        c.stop();
        server.renewalSeconds = 300L; // T1 > T2: both fall back
        DhcpClient d = client(false);
        d.start();
        assertTrue(runUntil(d, State.BOUND, Duration.ofSeconds(1)));
        assertEquals(WEEK / 2, d.lease().renewalSeconds());
        assertEquals(WEEK * 7 / 8, d.lease().rebindingSeconds());
    }

    @Test
    void anInfiniteLeaseSetsNoTimer() {
        server.leaseSeconds = DhcpOptions.INFINITE;
        DhcpClient c = client(false);
        c.start();
        assertTrue(runUntil(c, State.BOUND, Duration.ofSeconds(1)));
        assertTrue(c.lease().infinite());
        int n = server.sent.size();
        world.runFor(Duration.ofDays(400));
        assertEquals(n, server.sent.size());
        assertEquals(State.BOUND, c.state());
    }
}
