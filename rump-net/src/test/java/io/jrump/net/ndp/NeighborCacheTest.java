package io.jrump.net.ndp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.ndp.NeighborCache.State;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class NeighborCacheTest {
    private static final long S = 1_000_000_000L;
    private final List<String> dropped = new ArrayList<>();
    private final NeighborCache<String> cache = new NeighborCache<>(new NeighborCache.Config(8, 4, 2, 600 * S), dropped::add);
    private final Ipv6Address a = Ipv6Address.parse("fe80::a");
    private final MacAddress mac = MacAddress.of(0x02000000000aL);
    private final MacAddress other = MacAddress.of(0x02000000000bL);

    /** Brings {@code a}'s entry, at {@code mac}, into {@code state} at time 10 s. */
    private void enter(State state) {
        switch (state) {
            case INCOMPLETE -> cache.resolve(a, "q", 10 * S);
            case STALE -> cache.solicitationSeen(a, mac, 10 * S);
            case REACHABLE -> {
                cache.solicitationSeen(a, mac, 10 * S);
                cache.confirmReachable(a, 10 * S);
            }
            case DELAY -> {
                cache.solicitationSeen(a, mac, 10 * S);
                cache.resolve(a, "x", 10 * S);
            }
            case PROBE -> {
                cache.solicitationSeen(a, mac, 5 * S);
                cache.resolve(a, "x", 5 * S);
                assertEquals(List.of(new NeighborCache.Solicitation(a, mac)), cache.tick(10 * S).solicit());
            }
        }
        assertEquals(state, cache.state(a));
    }

    /** RFC 4861 §7.2.5 for an entry that is not INCOMPLETE, every combination of Override, address and Solicited. */
    @ParameterizedTest(name = "{0}, O={1}, link-layer address {2}, S={3} -> {4}, {5} address")
    @CsvSource({
        "REACHABLE, false, DIFFERENT, false, STALE,     OLD",
        "REACHABLE, false, DIFFERENT, true,  STALE,     OLD",
        "REACHABLE, false, SAME,      false, REACHABLE, OLD",
        "REACHABLE, false, SAME,      true,  REACHABLE, OLD",
        "REACHABLE, false, NONE,      false, REACHABLE, OLD",
        "REACHABLE, false, NONE,      true,  REACHABLE, OLD",
        "REACHABLE, true,  DIFFERENT, false, STALE,     NEW",
        "REACHABLE, true,  DIFFERENT, true,  REACHABLE, NEW",
        "REACHABLE, true,  SAME,      false, REACHABLE, OLD",
        "REACHABLE, true,  SAME,      true,  REACHABLE, OLD",
        "REACHABLE, true,  NONE,      false, REACHABLE, OLD",
        "REACHABLE, true,  NONE,      true,  REACHABLE, OLD",
        "STALE,     false, DIFFERENT, false, STALE,     OLD",
        "STALE,     false, DIFFERENT, true,  STALE,     OLD",
        "STALE,     false, SAME,      false, STALE,     OLD",
        "STALE,     false, SAME,      true,  REACHABLE, OLD",
        "STALE,     false, NONE,      false, STALE,     OLD",
        "STALE,     false, NONE,      true,  REACHABLE, OLD",
        "STALE,     true,  DIFFERENT, false, STALE,     NEW",
        "STALE,     true,  DIFFERENT, true,  REACHABLE, NEW",
        "STALE,     true,  SAME,      false, STALE,     OLD",
        "STALE,     true,  SAME,      true,  REACHABLE, OLD",
        "STALE,     true,  NONE,      false, STALE,     OLD",
        "STALE,     true,  NONE,      true,  REACHABLE, OLD",
        "DELAY,     false, DIFFERENT, false, DELAY,     OLD",
        "DELAY,     false, DIFFERENT, true,  DELAY,     OLD",
        "DELAY,     false, SAME,      false, DELAY,     OLD",
        "DELAY,     false, SAME,      true,  REACHABLE, OLD",
        "DELAY,     false, NONE,      false, DELAY,     OLD",
        "DELAY,     false, NONE,      true,  REACHABLE, OLD",
        "DELAY,     true,  DIFFERENT, false, STALE,     NEW",
        "DELAY,     true,  DIFFERENT, true,  REACHABLE, NEW",
        "DELAY,     true,  SAME,      false, DELAY,     OLD",
        "DELAY,     true,  SAME,      true,  REACHABLE, OLD",
        "DELAY,     true,  NONE,      false, DELAY,     OLD",
        "DELAY,     true,  NONE,      true,  REACHABLE, OLD",
        "PROBE,     false, DIFFERENT, false, PROBE,     OLD",
        "PROBE,     false, DIFFERENT, true,  PROBE,     OLD",
        "PROBE,     false, SAME,      false, PROBE,     OLD",
        "PROBE,     false, SAME,      true,  REACHABLE, OLD",
        "PROBE,     false, NONE,      false, PROBE,     OLD",
        "PROBE,     false, NONE,      true,  REACHABLE, OLD",
        "PROBE,     true,  DIFFERENT, false, STALE,     NEW",
        "PROBE,     true,  DIFFERENT, true,  REACHABLE, NEW",
        "PROBE,     true,  SAME,      false, PROBE,     OLD",
        "PROBE,     true,  SAME,      true,  REACHABLE, OLD",
        "PROBE,     true,  NONE,      false, PROBE,     OLD",
        "PROBE,     true,  NONE,      true,  REACHABLE, OLD",
    })
    void advertisementTable(State initial, boolean override, String address, boolean solicited, State expected,
            String expectedAddress) {
        enter(initial);
        MacAddress supplied = switch (address) {
            case "DIFFERENT" -> other;
            case "SAME" -> mac;
            default -> null;
        };
        NeighborCache.Advertised<String> r = cache.advertisementSeen(a, supplied, false, solicited, override, 11 * S);
        assertEquals(List.of(), r.sendable());
        assertEquals(expected, cache.state(a));
        assertEquals(expectedAddress.equals("NEW") ? other : mac, cache.snapshot().get(a).mac());
    }

    @Test
    void advertisementWithoutAnEntryIsIgnored() {
        NeighborCache.Advertised<String> r = cache.advertisementSeen(a, mac, true, true, true, 0);
        assertEquals(List.of(), r.sendable());
        assertNull(cache.state(a));
        assertEquals(0, cache.size());
    }

    @Test
    void incompleteIgnoresAnAdvertisementWithoutAnAddress() {
        enter(State.INCOMPLETE);
        assertEquals(List.of(), cache.advertisementSeen(a, null, false, true, true, 11 * S).sendable());
        assertEquals(State.INCOMPLETE, cache.state(a));
    }

    @Test
    void incompleteSolicitedBecomesReachableAndReleasesItsPackets() {
        enter(State.INCOMPLETE);
        cache.resolve(a, "r", 10 * S);
        NeighborCache.Advertised<String> r = cache.advertisementSeen(a, mac, true, true, false, 11 * S);
        assertEquals(List.of("q", "r"), r.sendable());
        assertEquals(State.REACHABLE, cache.state(a));
        assertTrue(cache.snapshot().get(a).router(), "the Router flag is recorded");
        assertEquals(0, cache.incompleteCount());
    }

    @Test
    void incompleteUnsolicitedBecomesStaleThenDelayAsItsPacketsGo() {
        // O clear does not matter for INCOMPLETE: the address is recorded.
        enter(State.INCOMPLETE);
        NeighborCache.Advertised<String> r = cache.advertisementSeen(a, mac, false, false, false, 11 * S);
        assertEquals(List.of("q"), r.sendable());
        assertEquals(State.DELAY, cache.state(a), "STALE, and sending the queued packet makes it DELAY (§7.3.3)");
        assertEquals(mac, cache.snapshot().get(a).mac());
    }

    @Test
    void advertisementWithoutRouterFlagReportsALostRouter() {
        cache.routerSeen(a, mac, 0);
        assertTrue(cache.snapshot().get(a).router());
        NeighborCache.Advertised<String> r = cache.advertisementSeen(a, mac, false, true, false, S);
        assertTrue(r.noLongerRouter());
        assertFalse(cache.snapshot().get(a).router());
        assertFalse(cache.advertisementSeen(a, mac, false, true, false, S).noLongerRouter(), "only once");
    }

    @Test
    void overrideClearWithADifferentAddressLeavesTheRouterFlag() {
        cache.routerSeen(a, mac, 0);
        cache.confirmReachable(a, 0);
        NeighborCache.Advertised<String> r = cache.advertisementSeen(a, other, false, true, false, S);
        assertFalse(r.noLongerRouter(), "the entry is not updated in any other way (§7.2.5 a)");
        assertTrue(cache.snapshot().get(a).router());
        assertEquals(State.STALE, cache.state(a));
    }

    @Test
    void solicitationsMakeOrUpdateStaleEntries() {
        assertEquals(List.of(), cache.solicitationSeen(a, mac, 0));
        assertEquals(State.STALE, cache.state(a));
        cache.confirmReachable(a, 0);
        cache.solicitationSeen(a, mac, S);
        assertEquals(State.REACHABLE, cache.state(a), "same address: state kept");
        cache.solicitationSeen(a, other, 2 * S);
        assertEquals(State.STALE, cache.state(a), "address changed: STALE");
        assertEquals(other, cache.snapshot().get(a).mac());
        assertFalse(cache.snapshot().get(a).router(), "a neighbour made from a solicitation is not a router");
    }

    @Test
    void aSolicitationAnswersAnIncompleteEntry() {
        cache.resolve(a, "p", 0);
        assertEquals(List.of("p"), cache.solicitationSeen(a, mac, S));
        assertEquals(State.DELAY, cache.state(a));
        assertEquals(mac, cache.resolve(a, "p2", S).mac());
    }

    @Test
    void resolutionSolicitsThreeTimesThenGivesUp() {
        NeighborCache.Resolution r = cache.resolve(a, "p1", 0);
        assertFalse(r.resolved());
        assertTrue(r.solicit());
        assertFalse(cache.resolve(a, "p2", 1).solicit(), "one resolution at a time");
        assertEquals(S, cache.nextDeadline());
        NeighborCache.Tick<String> t = cache.tick(S);
        assertEquals(List.of(new NeighborCache.Solicitation(a, null)), t.solicit());
        assertEquals(a.solicitedNode(), t.solicit().get(0).destination());
        assertTrue(t.solicit().get(0).multicast());
        assertEquals(1, cache.tick(2 * S).solicit().size());
        NeighborCache.Tick<String> last = cache.tick(3 * S);
        assertEquals(List.of(), last.solicit());
        assertEquals(List.of("p1", "p2"), last.unreachable(), "handed back for ICMPv6 address unreachable");
        assertEquals(1, last.gaveUp());
        assertNull(cache.state(a));
        assertEquals(List.of(), dropped, "not through the dropped consumer: the caller owns them");
        assertEquals(2, cache.droppedPackets());
        assertEquals(Long.MAX_VALUE, cache.nextDeadline());
    }

    @Test
    void staleInUseIsProbedThenDeleted() {
        cache.solicitationSeen(a, mac, 0);
        NeighborCache.Resolution r = cache.resolve(a, "p", S);
        assertEquals(mac, r.mac());
        assertEquals(State.DELAY, cache.state(a));
        assertEquals(List.of(), cache.tick(S + NeighborCache.DELAY_FIRST_PROBE_TIME - 1).solicit());
        NeighborCache.Tick<String> t = cache.tick(6 * S);
        assertEquals(State.PROBE, cache.state(a));
        assertEquals(List.of(new NeighborCache.Solicitation(a, mac)), t.solicit());
        assertEquals(a, t.solicit().get(0).destination(), "a probe is unicast");
        assertEquals(1, cache.tick(7 * S).solicit().size());
        assertEquals(1, cache.tick(8 * S).solicit().size());
        NeighborCache.Tick<String> end = cache.tick(9 * S);
        assertEquals(1, end.gaveUp());
        assertNull(cache.state(a), "MAX_UNICAST_SOLICIT probes unanswered: deleted");
    }

    @Test
    void confirmationInDelayMeansNoProbe() {
        cache.solicitationSeen(a, mac, 0);
        cache.resolve(a, "p", 0);
        cache.confirmReachable(a, 2 * S);
        assertEquals(State.REACHABLE, cache.state(a));
        assertEquals(List.of(), cache.tick(6 * S).solicit());
    }

    @Test
    void reachableGoesStaleAfterReachableTimeAndIsCollectedLater() {
        cache.setReachableTime(10 * S);
        cache.solicitationSeen(a, mac, 0);
        cache.confirmReachable(a, 0);
        cache.tick(9 * S);
        assertEquals(State.REACHABLE, cache.state(a));
        cache.tick(10 * S);
        assertEquals(State.STALE, cache.state(a));
        assertEquals(1, cache.tick(10 * S + 600 * S).collected());
        assertNull(cache.state(a));
    }

    @Test
    void reachablePastItsTimeIsStaleWhenUsedBeforeTheTick() {
        cache.setReachableTime(10 * S);
        cache.solicitationSeen(a, mac, 0);
        cache.confirmReachable(a, 0);
        assertEquals(mac, cache.resolve(a, "p", 20 * S).mac());
        assertEquals(State.DELAY, cache.state(a), "STALE by then, and used: DELAY");
    }

    @Test
    void queueIsBoundedTheOldestDropped() {
        cache.resolve(a, "p1", 0);
        cache.resolve(a, "p2", 0);
        cache.resolve(a, "p3", 0);
        assertEquals(List.of("p1"), dropped);
        assertEquals(2, cache.snapshot().get(a).queued());
        assertEquals(List.of("p2", "p3"), cache.advertisementSeen(a, mac, false, true, false, 1).sendable());
    }

    @Test
    void reachableTimeIsTheBaseTimesARandomFactor() {
        assertEquals(15 * S, NeighborCache.reachableTime(30 * S, 0));
        assertEquals(30 * S, NeighborCache.reachableTime(30 * S, 0.5));
        long high = NeighborCache.reachableTime(30 * S, Math.nextDown(1.0));
        assertTrue(high <= 45 * S && high > 44 * S, "at most 1.5 times the base");
        assertThrows(IllegalArgumentException.class, () -> NeighborCache.reachableTime(30 * S, 1.0));
        assertThrows(IllegalArgumentException.class, () -> NeighborCache.reachableTime(30 * S, Double.NaN));
    }

    @Test
    void removeAndFlushDropQueuedPackets() {
        cache.resolve(a, "p", 0);
        cache.resolve(Ipv6Address.parse("fe80::b"), "q", 0);
        cache.remove(a);
        assertEquals(List.of("p"), dropped);
        cache.flush();
        assertEquals(List.of("p", "q"), dropped);
        assertEquals(0, cache.size());
        assertEquals(0, cache.incompleteCount());
    }

    /** Neighbours the stack talks to, REACHABLE; a flood must not push them out. */
    private static List<Ipv6Address> resolvedNeighbours(NeighborCache<String> c, int n) {
        List<Ipv6Address> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            Ipv6Address ip = Ipv6Address.documentation(i);
            c.resolve(ip, "p" + i, 0);
            c.advertisementSeen(ip, MacAddress.of(0x020000000000L + i), false, true, false, 0);
            assertEquals(State.REACHABLE, c.state(ip));
            out.add(ip);
        }
        return out;
    }

    @Test
    void aFloodOfSolicitationsKeepsTheCacheBoundedAndResolvedNeighboursAlive() {
        List<String> gone = new ArrayList<>();
        NeighborCache<String> c = new NeighborCache<>(NeighborCache.Config.defaults(), gone::add);
        List<Ipv6Address> neighbours = resolvedNeighbours(c, 20);
        // One more neighbour, resolved earlier and idle (STALE), but used: kept before unused ones.
        Ipv6Address idle = Ipv6Address.documentation(1000);
        c.resolve(idle, "i", 0);
        c.advertisementSeen(idle, MacAddress.of(0x0200000003e8L), false, false, false, 0);
        c.confirmReachable(idle, 0);
        c.tick(50 * S); // everything REACHABLE is STALE now, but used
        for (int i = 0; i < 100_000; i++) {
            c.solicitationSeen(new Ipv6Address(0xfe80_0000_0000_0000L, 0x1_0000L + i), MacAddress.of(0x020000100000L + i), 60 * S);
            assertTrue(c.size() <= 1024);
        }
        assertEquals(1024, c.size());
        for (Ipv6Address n : neighbours) {
            assertEquals(State.STALE, c.state(n), n + " survived");
        }
        assertEquals(State.STALE, c.state(idle));
        assertTrue(c.evictedEntries() >= 100_000 - 1024);
        // Confirming a neighbour still works: its entry (and MAC) was kept.
        c.confirmReachable(neighbours.get(0), 61 * S);
        assertEquals(MacAddress.of(0x020000000001L), c.resolve(neighbours.get(0), "x", 61 * S).mac());
    }

    @Test
    void aScanOfASubnetOnlyChurnsIncompleteEntries() {
        List<String> gone = new ArrayList<>();
        NeighborCache<String> c = new NeighborCache<>(NeighborCache.Config.defaults(), gone::add);
        List<Ipv6Address> neighbours = resolvedNeighbours(c, 20);
        for (int i = 0; i < 100_000; i++) {
            c.resolve(new Ipv6Address(0x2001_0db8_0001_0000L, i + 1), "scan" + i, S);
            assertTrue(c.incompleteCount() <= 256);
        }
        assertEquals(256, c.incompleteCount());
        assertEquals(20 + 256, c.size());
        for (Ipv6Address n : neighbours) {
            assertEquals(State.REACHABLE, c.state(n));
        }
        assertEquals(100_000 - 256, gone.size(), "each evicted INCOMPLETE entry's packet was dropped");
        assertEquals(100_000 - 256, c.droppedPackets());
    }

    @Test
    void aFullCacheOfResolvedNeighboursRefusesNewEntries() {
        NeighborCache<String> c = new NeighborCache<>(new NeighborCache.Config(4, 2, 1, 600 * S), dropped::add);
        List<Ipv6Address> neighbours = resolvedNeighbours(c, 4);
        assertEquals(List.of(), c.solicitationSeen(a, mac, 1));
        assertNull(c.state(a));
        NeighborCache.Resolution r = c.resolve(a, "p", 1);
        assertFalse(r.resolved());
        assertFalse(r.solicit());
        assertEquals(List.of("p"), dropped);
        assertEquals(2, c.refusedEntries());
        for (Ipv6Address n : neighbours) {
            assertEquals(State.REACHABLE, c.state(n));
        }
    }
}
