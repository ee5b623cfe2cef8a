package io.jrump.net.ndp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.ndp.AddressAutoconfig.AddressState;
import io.jrump.net.ndp.AddressAutoconfig.Changes;
import io.jrump.net.ndp.AddressAutoconfig.Origin;
import io.jrump.net.wire.Icmpv6Repr;
import io.jrump.net.wire.NdpOption;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AddressAutoconfigTest {
    private static final long S = 1_000_000_000L;
    private static final long HOUR = 3600 * S;
    private static final long DAY = 24 * HOUR;
    private static final byte[] KEY = "a secret of 128 bits at least...".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NET = new byte[0];
    private static final MacAddress MAC = MacAddress.parse("52:54:00:12:34:56");
    private static final Ipv6Address ROUTER = Ipv6Address.parse("fe80::1");
    private static final Ipv6Address PREFIX = Ipv6Address.parse("2001:db8:1::");
    private final StableInterfaceId ids = new StableInterfaceId(KEY);

    private AddressAutoconfig autoconf(AddressAutoconfig.Config config) {
        return new AddressAutoconfig(config, "eth0", MAC, ids, NET, new SplittableRandom(7));
    }

    private AddressAutoconfig autoconf() {
        return autoconf(AddressAutoconfig.Config.defaults(1500));
    }

    private static Icmpv6Repr.RouterAdvertisement ra(int routerLifetime, NdpOption... options) {
        return new Icmpv6Repr.RouterAdvertisement(0, false, false, routerLifetime, 0, 0, List.of(options));
    }

    private static NdpOption.PrefixInformation pio(Ipv6Address prefix, int length, boolean onLink, boolean autonomous,
            long valid, long preferred) {
        return new NdpOption.PrefixInformation(length, onLink, autonomous, valid, preferred, prefix);
    }

    private static Icmpv6Repr.NeighborSolicitation ns(Ipv6Address target) {
        return new Icmpv6Repr.NeighborSolicitation(target, List.of());
    }

    private static Icmpv6Repr.NeighborAdvertisement na(Ipv6Address target) {
        return new Icmpv6Repr.NeighborAdvertisement(false, false, true, target, List.of());
    }

    /** Started at 0 with its link-local address assigned by 2 s (DAD delay ≤ 1 s, one NS, RetransTimer 1 s). */
    private Ipv6Address settle(AddressAutoconfig a) {
        a.start(0);
        a.tick(S);
        Changes c = a.tick(2 * S);
        assertEquals(1, c.preferred().size());
        return c.preferred().get(0);
    }

    private Ipv6Address slaacAddress() {
        return ids.address(PREFIX, "eth0", NET, 0).address();
    }

    @Test
    void linkLocalAddressPassesDadAndRoutersAreSolicited() {
        AddressAutoconfig a = autoconf();
        Changes c = a.start(0);
        Ipv6Address ll = ids.linkLocal("eth0", NET, 0).address();
        assertEquals(1, c.added().size());
        AddressAutoconfig.Address added = c.added().get(0);
        assertEquals(ll, added.address());
        assertEquals(AddressState.TENTATIVE, added.state());
        assertEquals(Origin.LINK_LOCAL, added.origin());
        assertEquals(AddressAutoconfig.NEVER, added.validUntil());
        assertEquals(List.of(ll.solicitedNode()), c.join(), "the solicited-node group is joined before DAD");
        assertEquals(List.of(), c.neighborSolicitations(), "the first NS waits a random delay");
        assertTrue(c.nextWakeup() <= S);
        assertFalse(a.address(ll).assigned());

        Changes t1 = a.tick(S);
        assertEquals(List.of(new AddressAutoconfig.DadSolicitation(ll, ll.solicitedNode())), t1.neighborSolicitations());
        assertEquals(Ipv6Address.UNSPECIFIED, t1.neighborSolicitations().get(0).source());
        assertEquals(List.of(new AddressAutoconfig.RouterSolicitation(Ipv6Address.UNSPECIFIED)), t1.routerSolicitations(),
                "solicited from :: while the link-local address is tentative");
        assertEquals(Ipv6Address.ALL_ROUTERS, t1.routerSolicitations().get(0).destination());
        assertEquals(List.of(), a.tick(2 * S - 1).preferred());
        assertEquals(List.of(ll), a.tick(2 * S).preferred());
        assertTrue(a.address(ll).assigned());

        assertEquals(List.of(new AddressAutoconfig.RouterSolicitation(ll)), a.tick(5 * S).routerSolicitations());
        assertEquals(1, a.tick(9 * S).routerSolicitations().size());
        assertEquals(List.of(), a.tick(13 * S).routerSolicitations(), "MAX_RTR_SOLICITATIONS sent");
        assertEquals(Long.MAX_VALUE, a.nextWakeup());
        assertTrue(a.start(20 * S).isEmpty(), "started once");
    }

    @Test
    void theHostsRandomnessServes() {
        // What the stack hands in: host.random()::nextLong. Here a HostRandom of fixed bytes.
        io.jrump.hypercall.HostRandom host = bytes -> java.util.Arrays.fill(bytes, (byte) 0x5a);
        AddressAutoconfig a = new AddressAutoconfig(AddressAutoconfig.Config.defaults(1500), "eth0", MAC, ids, NET,
                host::nextLong);
        Changes c = a.start(0);
        assertTrue(c.nextWakeup() >= 0 && c.nextWakeup() <= AddressAutoconfig.MAX_RTR_SOLICITATION_DELAY);
        assertTrue(a.reachableTime() >= 15 * S && a.reachableTime() <= 45 * S);
    }

    @Test
    void anAdvertisementEndsRouterSolicitation() {
        AddressAutoconfig a = autoconf();
        settle(a);
        Changes c = a.routerAdvertisement(ROUTER, ra(1800), 3 * S);
        assertTrue(c.routersChanged());
        assertEquals(List.of(ROUTER), List.copyOf(a.defaultRouters().keySet()));
        assertEquals(List.of(), a.tick(20 * S).routerSolicitations());
    }

    @Test
    void duplicateLinkLocalIsRegeneratedWithTheNextCounterThenGivenUp() {
        AddressAutoconfig a = autoconf();
        a.start(0);
        Ipv6Address current = ids.linkLocal("eth0", NET, 0).address();
        for (int counter = 1; counter <= StableInterfaceId.IDGEN_RETRIES; counter++) {
            Changes c = a.neighborSolicitation(Ipv6Address.UNSPECIFIED, ns(current), S / 2);
            Ipv6Address next = ids.linkLocal("eth0", NET, counter).address();
            assertEquals(List.of(current), c.duplicates());
            assertEquals(List.of(current), c.removed());
            assertEquals(1, c.added().size());
            assertEquals(next, c.added().get(0).address());
            assertEquals(counter, c.added().get(0).dadCounter());
            assertEquals(List.of(current.solicitedNode()), c.leave());
            assertEquals(List.of(next.solicitedNode()), c.join());
            assertNull(a.address(current));
            current = next;
        }
        Changes last = a.neighborSolicitation(Ipv6Address.UNSPECIFIED, ns(current), S);
        assertEquals(List.of(current), last.duplicates());
        assertEquals(List.of(), last.added(), "IDGEN_RETRIES spent");
        assertEquals(AddressState.DUPLICATE, a.address(current).state());
        assertEquals(4, a.duplicatesFound());
        Changes t = a.tick(10 * S);
        assertEquals(List.of(), t.neighborSolicitations(), "no DAD for a duplicate");
        assertEquals(List.of(new AddressAutoconfig.RouterSolicitation(Ipv6Address.UNSPECIFIED)), t.routerSolicitations(),
                "no link-local address: routers are solicited from ::");
    }

    @Test
    void anAdvertisementForATentativeAddressIsADuplicateButResolutionIsNot() {
        AddressAutoconfig a = autoconf();
        a.start(0);
        Ipv6Address ll = ids.linkLocal("eth0", NET, 0).address();
        assertTrue(a.neighborSolicitation(Ipv6Address.parse("fe80::99"), ns(ll), S / 2).isEmpty(),
                "address resolution for a tentative address is ignored");
        Changes c = a.neighborAdvertisement(na(ll), S / 2);
        assertEquals(List.of(ll), c.duplicates());
        assertEquals(1, c.added().get(0).dadCounter());
    }

    @Test
    void aManualAddressGetsDadAndStaysWhenDuplicate() throws ErrnoException {
        AddressAutoconfig a = autoconf();
        settle(a);
        Ipv6Address manual = Ipv6Address.parse("2001:db8::1");
        Changes c = a.addManual(manual, 64, 3 * S);
        assertEquals(Origin.MANUAL, c.added().get(0).origin());
        assertEquals(AddressState.TENTATIVE, a.address(manual).state());
        assertEquals(List.of(manual.solicitedNode()), c.join());
        assertEquals(1, a.tick(4 * S).neighborSolicitations().size());
        Changes dup = a.neighborAdvertisement(na(manual), 4 * S + 1);
        assertEquals(List.of(manual), dup.duplicates());
        assertEquals(List.of(), dup.added(), "a manual address is not regenerated");
        assertEquals(List.of(manual.solicitedNode()), dup.leave());
        assertEquals(AddressState.DUPLICATE, a.address(manual).state());
        assertTrue(a.tick(10 * S).preferred().isEmpty());
        assertEquals(Errno.EEXIST, assertThrows(ErrnoException.class, () -> a.addManual(manual, 64, 11 * S)).errno());
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class,
                () -> a.addManual(Ipv6Address.ALL_NODES, 64, 11 * S)).errno());
        assertEquals(List.of(manual), a.remove(manual).removed());
        assertNull(a.address(manual));
    }

    @Test
    void aManualAddressThatPassesDadIsPreferred() throws ErrnoException {
        AddressAutoconfig a = autoconf();
        Ipv6Address manual = Ipv6Address.parse("2001:db8::1");
        a.addManual(manual, 64, 0);
        a.tick(S);
        assertEquals(List.of(manual), a.tick(2 * S).preferred());
        Changes r = a.remove(manual);
        assertEquals(List.of(manual.solicitedNode()), r.leave());
    }

    @Test
    void slaacAddressLivesThroughAWeekInAFewTicks() {
        AddressAutoconfig a = autoconf();
        Ipv6Address ll = settle(a);
        long t0 = 10 * S;
        Changes c = a.routerAdvertisement(ROUTER, ra(1800, pio(PREFIX, 64, true, true, 7 * 86400, 86400)), t0);
        Ipv6Address addr = slaacAddress();
        assertEquals(1, c.added().size());
        assertEquals(addr, c.added().get(0).address());
        assertEquals(Origin.SLAAC, c.added().get(0).origin());
        assertTrue(c.routersChanged());
        assertTrue(c.prefixesChanged());
        assertEquals(List.of(new AddressAutoconfig.Prefix(PREFIX, 64, t0 + 7 * DAY)), a.onLinkPrefixes());
        assertEquals(t0 + DAY, a.address(addr).preferredUntil());
        assertEquals(t0 + 7 * DAY, a.address(addr).validUntil());

        int ticks = 0;
        boolean preferred = false;
        boolean deprecated = false;
        boolean removed = false;
        boolean routerGone = false;
        for (long now = a.nextWakeup(); now != Long.MAX_VALUE; now = a.nextWakeup()) {
            Changes t = a.tick(now);
            ticks++;
            if (t.preferred().contains(addr)) {
                preferred = true;
                assertTrue(now <= t0 + 2 * S);
            }
            if (t.deprecated().contains(addr)) {
                deprecated = true;
                assertEquals(t0 + DAY, now);
            }
            if (t.removed().contains(addr)) {
                removed = true;
                assertEquals(t0 + 7 * DAY, now);
                assertEquals(List.of(addr.solicitedNode()), t.leave());
                assertTrue(t.prefixesChanged(), "the on-link prefix expires with it");
            }
            if (t.routersChanged()) {
                routerGone = true;
                assertEquals(t0 + 1800 * S, now);
            }
        }
        assertTrue(preferred && deprecated && removed && routerGone);
        assertTrue(ticks <= 8, ticks + " ticks");
        assertEquals(List.of(ll), a.addresses().stream().map(AddressAutoconfig.Address::address).toList());
        assertTrue(a.defaultRouters().isEmpty());
    }

    /** An interface with a SLAAC address of valid lifetime {@code validSeconds} made at 0 and settled (DAD done by 2 s). */
    private AddressAutoconfig withSlaac(long validSeconds) {
        AddressAutoconfig a = autoconf();
        a.routerAdvertisement(ROUTER, ra(0, pio(PREFIX, 64, true, true, validSeconds, 0)), 0);
        a.tick(S);
        a.tick(2 * S);
        long expected = validSeconds == AddressAutoconfig.INFINITE_LIFETIME ? AddressAutoconfig.NEVER : validSeconds * S;
        assertEquals(expected, a.address(slaacAddress()).validUntil());
        return a;
    }

    private long validAfter(AddressAutoconfig a, long now, long advertisedSeconds) {
        a.routerAdvertisement(ROUTER, ra(0, pio(PREFIX, 64, true, true, advertisedSeconds, 0)), now);
        return a.address(slaacAddress()).validUntil();
    }

    @Test
    void twoHourRuleAcceptsALifetimeAboveTwoHours() {
        AddressAutoconfig a = withSlaac(10 * 3600);
        assertEquals(3 * S + 3 * HOUR, validAfter(a, 3 * S, 3 * 3600), "longer than two hours: taken even if shorter");
    }

    @Test
    void twoHourRuleAcceptsALifetimeAboveWhatRemains() {
        AddressAutoconfig a = withSlaac(3600);
        assertEquals(3 * S + 5400 * S, validAfter(a, 3 * S, 5400));
    }

    @Test
    void twoHourRuleIgnoresAShorterLifetimeWhenTwoHoursOrLessRemain() {
        AddressAutoconfig a = withSlaac(3600);
        assertEquals(3600 * S, validAfter(a, 3 * S, 600));
        assertEquals(3600 * S, validAfter(a, 4 * S, 0), "not even 0 removes it");
    }

    @Test
    void twoHourRuleCutsToTwoHoursWhenMoreRemain() {
        AddressAutoconfig a = withSlaac(10 * 3600);
        assertEquals(3 * S + 2 * HOUR, validAfter(a, 3 * S, 1800));
        AddressAutoconfig b = withSlaac(AddressAutoconfig.INFINITE_LIFETIME);
        assertEquals(AddressAutoconfig.NEVER, b.address(slaacAddress()).validUntil());
        assertEquals(3 * S + 2 * HOUR, validAfter(b, 3 * S, 0), "an infinite lifetime counts as more than two hours");
        assertEquals(AddressAutoconfig.NEVER, validAfter(b, 4 * S, AddressAutoconfig.INFINITE_LIFETIME));
    }

    @Test
    void aDeprecatedAddressIsPreferredAgainWhenRenewed() {
        AddressAutoconfig a = withSlaac(7200);
        Ipv6Address addr = slaacAddress();
        assertEquals(AddressState.DEPRECATED, a.address(addr).state(), "preferred lifetime 0: deprecated after DAD");
        Changes c = a.routerAdvertisement(ROUTER, ra(0, pio(PREFIX, 64, true, true, 7200, 3600)), 3 * S);
        assertEquals(List.of(addr), c.preferred());
        assertEquals(AddressState.PREFERRED, a.address(addr).state());
        Changes d = a.routerAdvertisement(ROUTER, ra(0, pio(PREFIX, 64, true, true, 7200, 0)), 4 * S);
        assertEquals(List.of(addr), d.deprecated());
    }

    @Test
    void prefixesThatMustNotConfigureAreIgnoredAndCounted() {
        AddressAutoconfig a = autoconf();
        settle(a);
        Changes c = a.routerAdvertisement(ROUTER, ra(1800,
                pio(PREFIX, 64, false, true, 600, 1200), // preferred above valid
                pio(Ipv6Address.parse("fe80::"), 64, true, true, 600, 600), // link-local
                pio(Ipv6Address.parse("2001:db8:2::"), 48, true, true, 600, 600), // not /64: on-link only
                pio(Ipv6Address.parse("2001:db8:3::"), 64, true, false, 600, 600), // no A: on-link only
                pio(Ipv6Address.parse("2001:db8:4::"), 64, false, true, 0, 0)), 3 * S); // valid 0: nothing
        assertEquals(List.of(), c.added());
        assertEquals(3, a.ignoredPrefixes());
        assertEquals(List.of(Ipv6Address.parse("2001:db8:2::"), Ipv6Address.parse("2001:db8:3::")),
                a.onLinkPrefixes().stream().map(AddressAutoconfig.Prefix::prefix).toList());
        Changes gone = a.routerAdvertisement(ROUTER, ra(1800, pio(Ipv6Address.parse("2001:db8:3::"), 64, true, false, 0, 0)),
                4 * S);
        assertTrue(gone.prefixesChanged());
        assertEquals(1, a.onLinkPrefixes().size());
    }

    @Test
    void prefixBitsPastTheLengthAreMaskedOff() {
        AddressAutoconfig a = autoconf();
        a.routerAdvertisement(ROUTER, ra(0, pio(Ipv6Address.parse("2001:db8:1::ffff"), 64, true, true, 600, 600)), 0);
        assertEquals(PREFIX, a.onLinkPrefixes().get(0).prefix());
        assertTrue(a.address(slaacAddress()) != null);
    }

    @Test
    void advertisedParametersAreTaken() {
        AddressAutoconfig a = autoconf();
        long defaultReachable = a.reachableTime();
        assertTrue(defaultReachable >= 15 * S && defaultReachable <= 45 * S);
        Changes c = a.routerAdvertisement(ROUTER, new Icmpv6Repr.RouterAdvertisement(32, true, true, 1800, 20_000, 2_000,
                List.of(new NdpOption.Mtu(1000), new NdpOption.Mtu(9000), new NdpOption.Mtu(1400))), 0);
        assertTrue(c.parametersChanged());
        assertEquals(32, a.curHopLimit());
        assertEquals(20 * S, a.baseReachableTime());
        assertTrue(a.reachableTime() >= 10 * S && a.reachableTime() <= 30 * S);
        assertEquals(2 * S, a.retransTimer());
        assertTrue(a.managed());
        assertTrue(a.otherConfig());
        assertEquals(1400, a.mtu());
        assertEquals(2, a.ignoredMtuOptions(), "below 1280 and above the link MTU");
        Changes same = a.routerAdvertisement(ROUTER, new Icmpv6Repr.RouterAdvertisement(0, true, true, 1800, 0, 0,
                List.of()), S);
        assertFalse(same.parametersChanged(), "zero means unspecified");
        assertEquals(32, a.curHopLimit());
        assertEquals(2 * S, a.retransTimer());
    }

    @Test
    void reachableTimeIsDrawnAgainEveryTwoHours() {
        AddressAutoconfig a = autoconf();
        Ipv6Address ll = settle(a);
        long first = a.reachableTime();
        assertFalse(a.tick(HOUR).parametersChanged());
        Changes c = a.tick(2 * HOUR);
        assertTrue(c.parametersChanged());
        assertNotEquals(first, a.reachableTime());
        assertTrue(a.reachableTime() >= 15 * S && a.reachableTime() <= 45 * S);
        assertEquals(Long.MAX_VALUE, a.nextWakeup(), "no wake-up of its own: " + ll);
    }

    @Test
    void aRouterTheNeighbourCacheDemotedIsRemoved() {
        AddressAutoconfig a = autoconf();
        a.routerAdvertisement(ROUTER, ra(1800), 0);
        assertTrue(a.removeRouter(ROUTER).routersChanged());
        assertTrue(a.defaultRouters().isEmpty());
        assertFalse(a.removeRouter(ROUTER).routersChanged());
    }

    @Test
    void dadUsesTheAdvertisedRetransTimer() {
        AddressAutoconfig a = autoconf();
        a.routerAdvertisement(ROUTER, new Icmpv6Repr.RouterAdvertisement(0, false, false, 0, 0, 3_000, List.of()), 0);
        a.start(0);
        assertEquals(1, a.tick(S).neighborSolicitations().size());
        assertEquals(List.of(), a.tick(3 * S).preferred());
        assertEquals(1, a.tick(4 * S).preferred().size());
    }

    @Test
    void routersComeAndGo() {
        AddressAutoconfig a = autoconf(new AddressAutoconfig.Config(1, true, AddressAutoconfig.IdentifierKind.STABLE, 1500,
                16, 2, 16, 8));
        a.routerAdvertisement(ROUTER, ra(600), 0);
        Ipv6Address r2 = Ipv6Address.parse("fe80::2");
        a.routerAdvertisement(r2, ra(60), 0);
        assertFalse(a.routerAdvertisement(Ipv6Address.parse("fe80::3"), ra(60), 0).routersChanged(), "list full");
        assertEquals(1, a.refused());
        assertFalse(a.routerAdvertisement(ROUTER, ra(600), S).routersChanged(), "a refresh changes no membership");
        assertEquals(601 * S, a.defaultRouters().get(ROUTER));
        assertTrue(a.routerAdvertisement(ROUTER, ra(0), 2 * S).routersChanged(), "lifetime 0 removes");
        assertTrue(a.tick(60 * S).routersChanged());
        assertTrue(a.defaultRouters().isEmpty());
        assertTrue(a.routerAdvertisement(Ipv6Address.parse("2001:db8::1"), ra(600), 61 * S).isEmpty(),
                "not from a link-local source");
    }

    @Test
    void dnsServersFromRdnss() {
        AddressAutoconfig a = autoconf();
        Ipv6Address d1 = Ipv6Address.parse("2001:db8::53");
        Ipv6Address d2 = Ipv6Address.parse("2001:db8::54");
        Changes c = a.routerAdvertisement(ROUTER, ra(0, new NdpOption.Rdnss(600, List.of(d1, d2))), 0);
        assertTrue(c.dnsChanged());
        assertEquals(List.of(d1, d2), List.copyOf(a.dnsServers().keySet()));
        assertFalse(a.routerAdvertisement(ROUTER, ra(0, new NdpOption.Rdnss(1200, List.of(d1))), S).dnsChanged());
        assertEquals(1201 * S, a.dnsServers().get(d1));
        Changes t = a.tick(600 * S);
        assertTrue(t.dnsChanged());
        assertEquals(List.of(d1), List.copyOf(a.dnsServers().keySet()));
        assertTrue(a.routerAdvertisement(ROUTER, ra(0, new NdpOption.Rdnss(0, List.of(d1))), 601 * S).dnsChanged());
        assertTrue(a.dnsServers().isEmpty());
    }

    @Test
    void aFullDnsListReplacesTheServerExpiringSoonest() {
        AddressAutoconfig a = autoconf();
        for (int i = 1; i <= 8; i++) {
            a.routerAdvertisement(ROUTER, ra(0, new NdpOption.Rdnss(100L * i, List.of(Ipv6Address.documentation(i)))), 0);
        }
        a.routerAdvertisement(ROUTER, ra(0, new NdpOption.Rdnss(50, List.of(Ipv6Address.documentation(9)))), 0);
        assertFalse(a.dnsServers().containsKey(Ipv6Address.documentation(9)), "expires sooner than all: refused");
        a.routerAdvertisement(ROUTER, ra(0, new NdpOption.Rdnss(1000, List.of(Ipv6Address.documentation(10)))), 0);
        assertEquals(8, a.dnsServers().size());
        assertFalse(a.dnsServers().containsKey(Ipv6Address.documentation(1)));
        assertTrue(a.dnsServers().containsKey(Ipv6Address.documentation(10)));
    }

    @Test
    void eui64IdentifiersWhenAsked() {
        AddressAutoconfig a = autoconf(new AddressAutoconfig.Config(1, false, AddressAutoconfig.IdentifierKind.EUI64, 1500,
                16, 8, 16, 8));
        Changes c = a.start(0);
        Ipv6Address ll = Ipv6Address.parse("fe80::5054:ff:fe12:3456");
        assertEquals(ll, c.added().get(0).address());
        a.routerAdvertisement(ROUTER, ra(0, pio(PREFIX, 64, true, true, 600, 600)), 0);
        assertTrue(a.address(Ipv6Address.parse("2001:db8:1::5054:ff:fe12:3456")) != null);
        Changes dup = a.neighborSolicitation(Ipv6Address.UNSPECIFIED, ns(ll), S / 2);
        assertEquals(List.of(), dup.added(), "an EUI-64 address is not regenerated");
        assertEquals(AddressState.DUPLICATE, a.address(ll).state());
        assertEquals(List.of(), a.tick(20 * S).routerSolicitations(), "soliciting routers was turned off");
    }

    @Test
    void dupAddrDetectTransmitsIsHonoured() {
        AddressAutoconfig none = autoconf(new AddressAutoconfig.Config(0, false, AddressAutoconfig.IdentifierKind.STABLE,
                1500, 16, 8, 16, 8));
        Changes c = none.start(0);
        assertEquals(1, c.preferred().size(), "no DAD: preferred at once");
        AddressAutoconfig two = autoconf(new AddressAutoconfig.Config(2, false, AddressAutoconfig.IdentifierKind.STABLE,
                1500, 16, 8, 16, 8));
        two.start(0);
        assertEquals(1, two.tick(S).neighborSolicitations().size());
        assertEquals(1, two.tick(2 * S).neighborSolicitations().size());
        assertEquals(List.of(), two.tick(3 * S - 1).preferred());
        assertEquals(1, two.tick(3 * S).preferred().size());
    }

    @Test
    void theAddressTableIsBounded() {
        AddressAutoconfig a = autoconf(new AddressAutoconfig.Config(1, false, AddressAutoconfig.IdentifierKind.STABLE, 1500,
                3, 8, 16, 8));
        a.start(0);
        for (int i = 1; i <= 5; i++) {
            a.routerAdvertisement(ROUTER, ra(0, pio(new Ipv6Address(0x2001_0db8_0000_0000L + i, 0), 64, false, true, 600, 600)), 0);
        }
        assertEquals(3, a.addresses().size());
        assertEquals(3, a.refused());
        assertEquals(Errno.ENOSPC, assertThrows(ErrnoException.class,
                () -> a.addManual(Ipv6Address.parse("2001:db8::1"), 64, 0)).errno());
    }

    @Test
    void aConflictAfterDadIsCountedNotActedOn() {
        AddressAutoconfig a = autoconf();
        Ipv6Address ll = settle(a);
        assertTrue(a.neighborAdvertisement(na(ll), 3 * S).isEmpty());
        assertEquals(1, a.conflicts());
        assertEquals(AddressState.PREFERRED, a.address(ll).state());
    }

    @Test
    void redirectsAreCountedNotHonoured() {
        AddressAutoconfig a = autoconf();
        a.redirect(new Icmpv6Repr.Redirect(Ipv6Address.parse("fe80::2"), Ipv6Address.parse("2001:db8::9"), List.of()));
        assertEquals(1, a.ignoredRedirects());
        assertTrue(a.defaultRouters().isEmpty());
    }
}
