package io.jrump.net.ndp;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.wire.Icmpv6Repr;
import io.jrump.net.wire.NdpOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * Host-side IPv6 configuration of one interface: the address table with Duplicate Address
 * Detection and stateless autoconfiguration (RFC 4862), router solicitation and Router
 * Advertisement processing (RFC 4861 §6.3.4, §6.3.5, §6.3.7), DNS servers from RDNSS options
 * (RFC 8106) and RFC 7217 stable addresses ({@link StableInterfaceId}), regenerated on a
 * duplicate. The stack feeds in messages and the clock ({@code now}, nanoseconds); every call
 * returns a {@link Changes} saying what to send, which groups to join or leave, what changed and
 * when to call {@link #tick} next. Randomness (the delays before the first solicitations, the
 * ReachableTime factor) comes from the {@link RandomGenerator} the stack hands in:
 * {@code host.random()::nextLong} is one. Not thread-safe.
 *
 * <p>Redirects (RFC 4861 §8) are not honoured: the stack keeps sending through its default
 * router, which is always correct if not always the shortest path; {@link #redirect} only counts
 * them. Every table is bounded ({@link Config}); what does not fit is refused and counted.
 */
public final class AddressAutoconfig {
    /** RFC 4861 §10: router solicitations sent at most. */
    public static final int MAX_RTR_SOLICITATIONS = 3;
    /** RFC 4861 §10: 4 s between router solicitations. */
    public static final long RTR_SOLICITATION_INTERVAL = 4_000_000_000L;
    /** RFC 4861 §10: the random delay before the first solicitation is at most 1 s. */
    public static final long MAX_RTR_SOLICITATION_DELAY = 1_000_000_000L;
    /** A lifetime field of all ones: infinity (RFC 4861 §4.6.2). */
    public static final long INFINITE_LIFETIME = 0xffff_ffffL;
    /** The expiry time of an infinite lifetime. */
    public static final long NEVER = Long.MAX_VALUE;
    /** RFC 4862 §5.5.3 (e): two hours, in nanoseconds. */
    public static final long TWO_HOURS = 7200L * 1_000_000_000L;
    /** How often ReachableTime is drawn again even if no advertisement changes its base (RFC 4861 §6.3.4: every few hours). */
    public static final long REACHABLE_TIME_REFRESH = 2 * 3600L * 1_000_000_000L;
    /** IPv6's minimum link MTU (RFC 8200 §5). */
    public static final int MINIMUM_MTU = 1280;

    public enum AddressState { TENTATIVE, PREFERRED, DEPRECATED, DUPLICATE }

    public enum Origin { LINK_LOCAL, SLAAC, MANUAL }

    /** How interface identifiers are made: RFC 7217 (default) or the modified EUI-64 of the MAC. */
    public enum IdentifierKind { STABLE, EUI64 }

    /**
     * Settings and bounds. {@code dupAddrDetectTransmits}: solicitations per DAD (0 skips DAD);
     * {@code linkMtu}: the interface's MTU, the most an RA's MTU option may set.
     */
    public record Config(int dupAddrDetectTransmits, boolean solicitRouters, IdentifierKind identifiers, int linkMtu,
            int maxAddresses, int maxRouters, int maxPrefixes, int maxDnsServers) {
        public Config {
            if (dupAddrDetectTransmits < 0 || dupAddrDetectTransmits > 10 || linkMtu < MINIMUM_MTU || maxAddresses < 1
                    || maxRouters < 1 || maxPrefixes < 1 || maxDnsServers < 1) {
                throw new IllegalArgumentException("autoconfiguration settings " + dupAddrDetectTransmits + "/" + linkMtu
                        + "/" + maxAddresses + "/" + maxRouters + "/" + maxPrefixes + "/" + maxDnsServers);
            }
        }

        /** One DAD transmission, routers solicited, RFC 7217 identifiers; 16 addresses, 8 routers, 16 prefixes, 8 DNS servers. */
        public static Config defaults(int linkMtu) {
            return new Config(1, true, IdentifierKind.STABLE, linkMtu, 16, 8, 16, 8);
        }
    }

    /**
     * One address: {@code preferredUntil} and {@code validUntil} are times in the caller's clock
     * ({@link #NEVER} for infinite); {@code dadCounter} the RFC 7217 counter it was made with.
     */
    public record Address(Ipv6Address address, int prefixLength, AddressState state, Origin origin, long preferredUntil,
            long validUntil, int dadCounter) {
        /** Assigned to the interface: the stack answers solicitations for it and may use it (a DEPRECATED one only for existing flows). */
        public boolean assigned() {
            return state == AddressState.PREFERRED || state == AddressState.DEPRECATED;
        }
    }

    /** An on-link prefix (RFC 4861 §6.3.4: L flag), until {@code expires}. */
    public record Prefix(Ipv6Address prefix, int length, long expires) {
    }

    /**
     * A Neighbor Solicitation for DAD (RFC 4862 §5.4.2): from :: to {@code destination} (the
     * target's solicited-node group, joined beforehand), no link-layer address option.
     */
    public record DadSolicitation(Ipv6Address target, Ipv6Address destination) {
        public Ipv6Address source() {
            return Ipv6Address.UNSPECIFIED;
        }
    }

    /**
     * A Router Solicitation to send to ff02::2 (RFC 4861 §6.3.7) from {@code source}: an assigned
     * link-local address (with a source link-layer address option) or :: (without).
     */
    public record RouterSolicitation(Ipv6Address source) {
        public Ipv6Address destination() {
            return Ipv6Address.ALL_ROUTERS;
        }
    }

    /**
     * What a call changed and what the stack should do. {@code added}: new TENTATIVE addresses
     * (not yet usable: no source, no answers); {@code preferred}: addresses now PREFERRED (DAD
     * passed, or a deprecated one renewed); {@code deprecated}: now DEPRECATED; {@code removed}:
     * gone (expired, or replaced after a duplicate); {@code duplicates}: found duplicate;
     * {@code join}/{@code leave}: solicited-node groups (send MLDv2 reports; joins before the
     * solicitations); {@code routersChanged} (default router list), {@code prefixesChanged}
     * (on-link prefixes), {@code dnsChanged} (RDNSS servers), {@code parametersChanged} (hop
     * limit, ReachableTime, RetransTimer, MTU, M/O flags); {@code nextWakeup}: when to call
     * {@link #tick} (Long.MAX_VALUE: nothing pending).
     */
    public record Changes(List<Address> added, List<Ipv6Address> preferred, List<Ipv6Address> deprecated,
            List<Ipv6Address> removed, List<Ipv6Address> duplicates, List<DadSolicitation> neighborSolicitations,
            List<RouterSolicitation> routerSolicitations, List<Ipv6Address> join, List<Ipv6Address> leave,
            boolean routersChanged, boolean prefixesChanged, boolean dnsChanged, boolean parametersChanged,
            long nextWakeup) {
        /** Whether nothing needs doing (apart from waking at {@code nextWakeup}). */
        public boolean isEmpty() {
            return added.isEmpty() && preferred.isEmpty() && deprecated.isEmpty() && removed.isEmpty()
                    && duplicates.isEmpty() && neighborSolicitations.isEmpty() && routerSolicitations.isEmpty()
                    && join.isEmpty() && leave.isEmpty() && !routersChanged && !prefixesChanged && !dnsChanged
                    && !parametersChanged;
        }
    }

    private record PrefixKey(Ipv6Address prefix, int length) {
    }

    private static final class Entry {
        final Ipv6Address address;
        final int prefixLength;
        final Origin origin;
        final int dadCounter;
        AddressState state = AddressState.TENTATIVE;
        long preferredUntil;
        long validUntil;
        int dadSent;
        long dadDeadline;

        Entry(Ipv6Address address, int prefixLength, Origin origin, int dadCounter) {
            this.address = address;
            this.prefixLength = prefixLength;
            this.origin = origin;
            this.dadCounter = dadCounter;
        }

        Address view() {
            return new Address(address, prefixLength, state, origin, preferredUntil, validUntil, dadCounter);
        }
    }

    /** Collects one call's changes. */
    private final class ChangeSet {
        final List<Address> added = new ArrayList<>();
        final List<Ipv6Address> preferred = new ArrayList<>();
        final List<Ipv6Address> deprecated = new ArrayList<>();
        final List<Ipv6Address> removed = new ArrayList<>();
        final List<Ipv6Address> duplicates = new ArrayList<>();
        final List<DadSolicitation> solicitations = new ArrayList<>();
        final List<RouterSolicitation> routerSolicitations = new ArrayList<>();
        final List<Ipv6Address> join = new ArrayList<>();
        final List<Ipv6Address> leave = new ArrayList<>();
        boolean routers;
        boolean prefixes;
        boolean dns;
        boolean parameters;

        Changes build() {
            // A group left and joined again in one call (two addresses sharing it) is no change.
            List<Ipv6Address> both = new ArrayList<>(join);
            both.retainAll(leave);
            join.removeAll(both);
            leave.removeAll(both);
            return new Changes(List.copyOf(added), List.copyOf(preferred), List.copyOf(deprecated), List.copyOf(removed),
                    List.copyOf(duplicates), List.copyOf(solicitations), List.copyOf(routerSolicitations), List.copyOf(join),
                    List.copyOf(leave), routers, prefixes, dns, parameters, nextWakeup());
        }
    }

    private final Config config;
    private final String interfaceName;
    private final MacAddress mac;
    private final StableInterfaceId ids;
    private final byte[] networkId;
    private final RandomGenerator random;

    private final Map<Ipv6Address, Entry> addresses = new LinkedHashMap<>();
    private final Map<Ipv6Address, Integer> groups = new HashMap<>(); // solicited-node group → addresses in it
    private final Map<Ipv6Address, Long> routers = new LinkedHashMap<>(); // default router → expiry
    private final Map<PrefixKey, Prefix> prefixes = new LinkedHashMap<>();
    private final Map<Ipv6Address, Long> dnsServers = new LinkedHashMap<>();

    private boolean started;
    private int routerSolicitationsSent;
    private long routerSolicitationDeadline = Long.MAX_VALUE;

    private int curHopLimit = 64;
    private long baseReachableTime = NeighborCache.REACHABLE_TIME;
    private long reachableTime;
    private long reachableTimeDrawnAt;
    private long retransTimer = NeighborCache.RETRANS_TIMER;
    private int mtu;
    private boolean managed;
    private boolean otherConfig;

    private long ignoredPrefixes;
    private long ignoredMtuOptions;
    private long ignoredRedirects;
    private long refused;
    private long duplicatesFound;
    private long conflicts;

    /**
     * @param interfaceName Net_Iface of RFC 7217 (stable across restarts)
     * @param mac the interface's MAC, for EUI-64 identifiers
     * @param networkId Network_ID of RFC 7217 (e.g. the SSID; may be empty)
     * @param random the stack's randomness (from {@code host.random()})
     */
    public AddressAutoconfig(Config config, String interfaceName, MacAddress mac, StableInterfaceId ids, byte[] networkId,
            RandomGenerator random) {
        this.config = config;
        this.interfaceName = interfaceName;
        this.mac = mac;
        this.ids = ids;
        this.networkId = networkId.clone();
        this.random = random;
        this.mtu = config.linkMtu();
        this.reachableTime = NeighborCache.reachableTime(baseReachableTime, random.nextDouble());
    }

    /**
     * The interface came up: makes the link-local address (fe80::/64) and starts its DAD, and
     * schedules the first router solicitation after a random delay. Only the first call acts.
     */
    public Changes start(long now) {
        ChangeSet c = new ChangeSet();
        if (started) {
            return c.build();
        }
        started = true;
        reachableTimeDrawnAt = now;
        if (config.solicitRouters()) {
            routerSolicitationDeadline = now + randomDelay();
        }
        Ipv6Address ll;
        int counter = 0;
        if (config.identifiers() == IdentifierKind.STABLE) {
            StableInterfaceId.Generated g = ids.linkLocal(interfaceName, networkId, 0);
            ll = g.address();
            counter = g.dadCounter();
        } else {
            ll = StableInterfaceId.withInterfaceId(StableInterfaceId.LINK_LOCAL_PREFIX, StableInterfaceId.modifiedEui64(mac));
        }
        if (addresses.containsKey(ll) || addresses.size() >= config.maxAddresses()) { // configured by hand before start
            return c.build();
        }
        add(ll, 64, Origin.LINK_LOCAL, counter, NEVER, NEVER, now, c);
        return c.build();
    }

    /**
     * A manually configured address: TENTATIVE until its DAD passes, then PREFERRED, lifetimes
     * infinite; a duplicate stays in the table as DUPLICATE.
     *
     * @throws ErrnoException EEXIST if the address is in the table, ENOSPC if the table is full,
     *     EINVAL for a multicast or unspecified address or a prefix length out of 1..128
     */
    public Changes addManual(Ipv6Address address, int prefixLength, long now) throws ErrnoException {
        if (address.isMulticast() || address.isUnspecified() || prefixLength < 1 || prefixLength > 128) {
            throw new ErrnoException(Errno.EINVAL, "cannot assign " + address + "/" + prefixLength);
        }
        if (addresses.containsKey(address)) {
            throw new ErrnoException(Errno.EEXIST, address + " is already assigned");
        }
        if (addresses.size() >= config.maxAddresses()) {
            throw new ErrnoException(Errno.ENOSPC, "the interface has " + addresses.size() + " addresses, the most allowed");
        }
        ChangeSet c = new ChangeSet();
        add(address, prefixLength, Origin.MANUAL, 0, NEVER, NEVER, now, c);
        return c.build();
    }

    /** Removes an address of any origin (nothing if it is not in the table). */
    public Changes remove(Ipv6Address address) {
        ChangeSet c = new ChangeSet();
        Entry e = addresses.remove(address);
        if (e != null) {
            forget(e, c);
        }
        return c.build();
    }

    /**
     * A valid Router Advertisement from link-local {@code source} (parsed, so RFC 4861 §6.1.2 is
     * checked). Per §6.3.4: the default router list (lifetime 0 removes), Cur Hop Limit,
     * ReachableTime (re-randomised when the base changes) and RetransTimer when non-zero, M and O,
     * the MTU option (ignored below 1280 or above the link MTU), prefix information (below) and
     * RDNSS servers (lifetime 0 removes). A non-zero router lifetime ends router solicitation
     * (§6.3.7). The source link-layer address option is for the neighbour cache
     * ({@link NeighborCache#routerSeen}).
     *
     * <p>Prefix information: a link-local prefix is ignored; with L, the on-link prefix list is
     * updated (valid lifetime 0 removes); with A, a preferred lifetime above the valid one, or a
     * length other than 64, is ignored (counted); otherwise a new prefix gets an address (DAD
     * first), and an existing one its preferred lifetime and its valid lifetime under the
     * two-hour rule of RFC 4862 §5.5.3 (e).
     */
    public Changes routerAdvertisement(Ipv6Address source, Icmpv6Repr.RouterAdvertisement ra, long now) {
        ChangeSet c = new ChangeSet();
        if (!source.isLinkLocal()) {
            return c.build();
        }
        if (ra.routerLifetime() != 0) {
            routerSolicitationDeadline = Long.MAX_VALUE; // solicited enough
        }
        updateRouter(source, ra.routerLifetime(), now, c);
        if (ra.curHopLimit() != 0 && ra.curHopLimit() != curHopLimit) {
            curHopLimit = ra.curHopLimit();
            c.parameters = true;
        }
        if (ra.reachableTime() != 0 && ra.reachableTime() * 1_000_000L != baseReachableTime) {
            baseReachableTime = ra.reachableTime() * 1_000_000L;
            reachableTime = NeighborCache.reachableTime(baseReachableTime, random.nextDouble());
            reachableTimeDrawnAt = now;
            c.parameters = true;
        }
        if (ra.retransTimer() != 0 && ra.retransTimer() * 1_000_000L != retransTimer) {
            retransTimer = ra.retransTimer() * 1_000_000L;
            c.parameters = true;
        }
        if (ra.managed() != managed || ra.otherConfig() != otherConfig) {
            managed = ra.managed();
            otherConfig = ra.otherConfig();
            c.parameters = true;
        }
        for (NdpOption o : ra.options()) {
            if (o instanceof NdpOption.Mtu m) {
                if (m.mtu() < MINIMUM_MTU || m.mtu() > config.linkMtu()) {
                    ignoredMtuOptions++;
                } else if (m.mtu() != mtu) {
                    mtu = (int) m.mtu();
                    c.parameters = true;
                }
            } else if (o instanceof NdpOption.PrefixInformation p) {
                prefixInformation(p, now, c);
            } else if (o instanceof NdpOption.Rdnss r) {
                rdnss(r, now, c);
            }
        }
        return c.build();
    }

    /**
     * A Neighbor Solicitation from {@code source}. For a TENTATIVE target from :: it is another
     * node's DAD: our address is a duplicate (RFC 4862 §5.4.3). From a unicast source it is
     * address resolution, which a tentative address ignores (the stack must not answer: see
     * {@link Address#assigned()}). Our own DAD solicitations must not be fed back here.
     */
    public Changes neighborSolicitation(Ipv6Address source, Icmpv6Repr.NeighborSolicitation ns, long now) {
        ChangeSet c = new ChangeSet();
        Entry e = addresses.get(ns.target());
        if (e != null && e.state == AddressState.TENTATIVE && source.isUnspecified()) {
            duplicate(e, now, c);
        }
        return c.build();
    }

    /**
     * A Neighbor Advertisement: for a TENTATIVE target, the address is a duplicate (RFC 4862
     * §5.4.4); for an assigned one, another node claims it — counted as a conflict, the address
     * kept.
     */
    public Changes neighborAdvertisement(Icmpv6Repr.NeighborAdvertisement na, long now) {
        ChangeSet c = new ChangeSet();
        Entry e = addresses.get(na.target());
        if (e != null) {
            if (e.state == AddressState.TENTATIVE) {
                duplicate(e, now, c);
            } else if (e.state != AddressState.DUPLICATE) {
                conflicts++;
            }
        }
        return c.build();
    }

    /**
     * Removes {@code router} from the default router list: the neighbour cache reported it no
     * longer a router ({@link NeighborCache.Advertised#noLongerRouter()}, RFC 4861 §7.2.5).
     */
    public Changes removeRouter(Ipv6Address router) {
        ChangeSet c = new ChangeSet();
        c.routers = routers.remove(router) != null;
        return c.build();
    }

    /** A Redirect: not honoured (see the class comment), only counted. */
    public void redirect(Icmpv6Repr.Redirect redirect) {
        ignoredRedirects++;
    }

    /**
     * Runs what is due at {@code now}: DAD solicitations and completions, PREFERRED → DEPRECATED
     * at the preferred lifetime, removal at the valid lifetime, expiry of routers, prefixes and DNS
     * servers, router solicitations; ReachableTime is drawn again when it is two hours old.
     */
    public Changes tick(long now) {
        ChangeSet c = new ChangeSet();
        for (Iterator<Entry> it = addresses.values().iterator(); it.hasNext(); ) {
            Entry e = it.next();
            if (now >= e.validUntil) {
                it.remove();
                forget(e, c);
                continue;
            }
            if (e.state == AddressState.TENTATIVE && now >= e.dadDeadline) {
                if (e.dadSent < config.dupAddrDetectTransmits()) {
                    e.dadSent++;
                    e.dadDeadline = now + retransTimer;
                    c.solicitations.add(new DadSolicitation(e.address, e.address.solicitedNode()));
                } else {
                    assign(e, now, c);
                }
            } else if (e.state == AddressState.PREFERRED && now >= e.preferredUntil) {
                e.state = AddressState.DEPRECATED;
                c.deprecated.add(e.address);
            }
        }
        if (routers.values().removeIf(expiry -> now >= expiry)) {
            c.routers = true;
        }
        if (prefixes.values().removeIf(p -> now >= p.expires())) {
            c.prefixes = true;
        }
        if (dnsServers.values().removeIf(expiry -> now >= expiry)) {
            c.dns = true;
        }
        if (started && now - reachableTimeDrawnAt >= REACHABLE_TIME_REFRESH) {
            // Not a wake-up of its own: drawn again whenever tick runs next.
            reachableTime = NeighborCache.reachableTime(baseReachableTime, random.nextDouble());
            reachableTimeDrawnAt = now;
            c.parameters = true;
        }
        if (now >= routerSolicitationDeadline) {
            routerSolicitationsSent++;
            c.routerSolicitations.add(new RouterSolicitation(routerSolicitationSource()));
            routerSolicitationDeadline = routerSolicitationsSent < MAX_RTR_SOLICITATIONS
                    ? now + RTR_SOLICITATION_INTERVAL : Long.MAX_VALUE;
        }
        return c.build();
    }

    /** When {@link #tick} next has work, or Long.MAX_VALUE. */
    public long nextWakeup() {
        long next = routerSolicitationDeadline;
        for (Entry e : addresses.values()) {
            next = Math.min(next, e.validUntil);
            if (e.state == AddressState.TENTATIVE) {
                next = Math.min(next, e.dadDeadline);
            } else if (e.state == AddressState.PREFERRED) {
                next = Math.min(next, e.preferredUntil);
            }
        }
        for (long expiry : routers.values()) {
            next = Math.min(next, expiry);
        }
        for (Prefix p : prefixes.values()) {
            next = Math.min(next, p.expires());
        }
        for (long expiry : dnsServers.values()) {
            next = Math.min(next, expiry);
        }
        return next;
    }

    /** The address table, in the order addresses were added. */
    public List<Address> addresses() {
        return addresses.values().stream().map(Entry::view).toList();
    }

    /** One address's entry, or null. */
    public Address address(Ipv6Address address) {
        Entry e = addresses.get(address);
        return e == null ? null : e.view();
    }

    /** The default router list (RFC 4861 §6.3.4): link-local router address → expiry time. */
    public Map<Ipv6Address, Long> defaultRouters() {
        return Map.copyOf(routers);
    }

    /** The on-link prefix list. */
    public List<Prefix> onLinkPrefixes() {
        return List.copyOf(prefixes.values());
    }

    /** RDNSS servers (RFC 8106), in the order learned: address → expiry time. */
    public Map<Ipv6Address, Long> dnsServers() {
        return new LinkedHashMap<>(dnsServers);
    }

    /** CurHopLimit: 64 until an RA sets it. */
    public int curHopLimit() {
        return curHopLimit;
    }

    /** BaseReachableTime, nanoseconds. */
    public long baseReachableTime() {
        return baseReachableTime;
    }

    /** ReachableTime (randomised), nanoseconds: for {@link NeighborCache#setReachableTime}. */
    public long reachableTime() {
        return reachableTime;
    }

    /** RetransTimer, nanoseconds: for {@link NeighborCache#setRetransTimer} and DAD. */
    public long retransTimer() {
        return retransTimer;
    }

    /** The link MTU: the interface's unless an RA lowered it. */
    public int mtu() {
        return mtu;
    }

    /** The M flag of the last RA: addresses are available from DHCPv6. */
    public boolean managed() {
        return managed;
    }

    /** The O flag of the last RA: other configuration is available from DHCPv6 (Information-request). */
    public boolean otherConfig() {
        return otherConfig;
    }

    /** Prefix information options ignored: link-local prefix, preferred above valid, length not 64 with A set. */
    public long ignoredPrefixes() {
        return ignoredPrefixes;
    }

    /** MTU options ignored: below 1280 or above the link MTU. */
    public long ignoredMtuOptions() {
        return ignoredMtuOptions;
    }

    public long ignoredRedirects() {
        return ignoredRedirects;
    }

    /** Addresses, routers, prefixes or DNS servers not taken because their table was full. */
    public long refused() {
        return refused;
    }

    /** Duplicates found by DAD. */
    public long duplicatesFound() {
        return duplicatesFound;
    }

    /** Advertisements from other nodes for an address we hold (after its DAD). */
    public long conflicts() {
        return conflicts;
    }

    private void updateRouter(Ipv6Address source, int lifetimeSeconds, long now, ChangeSet c) {
        if (lifetimeSeconds == 0) {
            if (routers.remove(source) != null) {
                c.routers = true;
            }
        } else if (routers.containsKey(source) || routers.size() < config.maxRouters()) {
            if (routers.put(source, expiry(lifetimeSeconds, now)) == null) {
                c.routers = true;
            }
        } else {
            refused++;
        }
    }

    private void prefixInformation(NdpOption.PrefixInformation p, long now, ChangeSet c) {
        Ipv6Address prefix = p.prefix().masked(p.prefixLength());
        if (prefix.isLinkLocal()) {
            ignoredPrefixes++;
            return;
        }
        if (p.onLink()) {
            PrefixKey key = new PrefixKey(prefix, p.prefixLength());
            if (p.validLifetime() == 0) {
                if (prefixes.remove(key) != null) {
                    c.prefixes = true;
                }
            } else if (prefixes.containsKey(key) || prefixes.size() < config.maxPrefixes()) {
                if (prefixes.put(key, new Prefix(prefix, p.prefixLength(), expiry(p.validLifetime(), now))) == null) {
                    c.prefixes = true;
                }
            } else {
                refused++;
            }
        }
        if (!p.autonomous()) {
            return;
        }
        if (p.preferredLifetime() > p.validLifetime() || p.prefixLength() != 64) {
            ignoredPrefixes++;
            return;
        }
        Entry e = slaacAddress(prefix);
        if (e == null) {
            if (p.validLifetime() == 0) {
                return;
            }
            if (addresses.size() >= config.maxAddresses()) {
                refused++;
                return;
            }
            Ipv6Address a;
            int counter = 0;
            if (config.identifiers() == IdentifierKind.STABLE) {
                StableInterfaceId.Generated g = ids.address(prefix, interfaceName, networkId, 0);
                a = g.address();
                counter = g.dadCounter();
            } else {
                a = StableInterfaceId.withInterfaceId(prefix, StableInterfaceId.modifiedEui64(mac));
            }
            if (addresses.containsKey(a)) { // configured by hand already
                return;
            }
            long valid = expiry(p.validLifetime(), now);
            add(a, 64, Origin.SLAAC, counter, Math.min(expiry(p.preferredLifetime(), now), valid), valid, now, c);
            return;
        }
        // RFC 4862 §5.5.3 (e): the two-hour rule keeps a forged RA from cutting a lifetime short.
        long received = p.validLifetime() == INFINITE_LIFETIME ? NEVER : p.validLifetime() * 1_000_000_000L;
        long remaining = e.validUntil == NEVER ? NEVER : Math.max(0, e.validUntil - now);
        if (received > TWO_HOURS || received > remaining) {
            e.validUntil = expiry(p.validLifetime(), now);
        } else if (remaining > TWO_HOURS) {
            e.validUntil = now + TWO_HOURS;
        } // else: two hours or less remain; an unauthenticated RA cannot shorten them
        e.preferredUntil = Math.min(expiry(p.preferredLifetime(), now), e.validUntil);
        if (e.state == AddressState.PREFERRED && now >= e.preferredUntil) {
            e.state = AddressState.DEPRECATED;
            c.deprecated.add(e.address);
        } else if (e.state == AddressState.DEPRECATED && now < e.preferredUntil) {
            e.state = AddressState.PREFERRED;
            c.preferred.add(e.address);
        }
    }

    /** RFC 8106 §5.3.1: each server's lifetime is refreshed, 0 removes it; a full list replaces the server expiring soonest. */
    private void rdnss(NdpOption.Rdnss r, long now, ChangeSet c) {
        for (Ipv6Address server : r.servers()) {
            if (r.lifetime() == 0) {
                if (dnsServers.remove(server) != null) {
                    c.dns = true;
                }
                continue;
            }
            long expiry = expiry(r.lifetime(), now);
            if (!dnsServers.containsKey(server) && dnsServers.size() >= config.maxDnsServers()) {
                Map.Entry<Ipv6Address, Long> soonest = null;
                for (Map.Entry<Ipv6Address, Long> s : dnsServers.entrySet()) {
                    if (soonest == null || s.getValue() < soonest.getValue()) {
                        soonest = s;
                    }
                }
                if (soonest.getValue() >= expiry) {
                    refused++;
                    continue;
                }
                dnsServers.remove(soonest.getKey());
            }
            if (dnsServers.put(server, expiry) == null) {
                c.dns = true;
            }
        }
    }

    private void add(Ipv6Address address, int prefixLength, Origin origin, int counter, long preferredUntil,
            long validUntil, long now, ChangeSet c) {
        Entry e = new Entry(address, prefixLength, origin, counter);
        e.preferredUntil = preferredUntil;
        e.validUntil = validUntil;
        addresses.put(address, e);
        join(address, c);
        if (config.dupAddrDetectTransmits() == 0) {
            c.added.add(e.view());
            assign(e, now, c);
            return;
        }
        e.dadDeadline = now + randomDelay();
        c.added.add(e.view());
    }

    /** DAD passed: the address is assigned, PREFERRED unless its preferred lifetime is over. */
    private void assign(Entry e, long now, ChangeSet c) {
        if (now < e.preferredUntil) {
            e.state = AddressState.PREFERRED;
            c.preferred.add(e.address);
        } else {
            e.state = AddressState.DEPRECATED;
            c.deprecated.add(e.address);
        }
    }

    /**
     * DAD failed. An RFC 7217 address (link-local or SLAAC) is replaced by one made with the next
     * DAD_Counter, up to IDGEN_RETRIES times; otherwise (manual, EUI-64, retries spent) the
     * address stays as DUPLICATE, unused.
     */
    private void duplicate(Entry e, long now, ChangeSet c) {
        duplicatesFound++;
        c.duplicates.add(e.address);
        leave(e.address, c);
        e.state = AddressState.DUPLICATE;
        if (e.origin == Origin.MANUAL || config.identifiers() != IdentifierKind.STABLE
                || e.dadCounter >= StableInterfaceId.IDGEN_RETRIES) {
            return;
        }
        StableInterfaceId.Generated g = e.origin == Origin.LINK_LOCAL
                ? ids.linkLocal(interfaceName, networkId, e.dadCounter + 1)
                : ids.address(e.address, interfaceName, networkId, e.dadCounter + 1);
        if (addresses.containsKey(g.address())) {
            return;
        }
        addresses.remove(e.address);
        c.removed.add(e.address);
        add(g.address(), e.prefixLength, e.origin, g.dadCounter(), e.preferredUntil, e.validUntil, now, c);
    }

    /** An entry left the table: its group is left (a DUPLICATE one left it already). */
    private void forget(Entry e, ChangeSet c) {
        if (e.state != AddressState.DUPLICATE) {
            leave(e.address, c);
        }
        c.removed.add(e.address);
    }

    private void join(Ipv6Address address, ChangeSet c) {
        Ipv6Address group = address.solicitedNode();
        if (groups.merge(group, 1, Integer::sum) == 1) {
            c.join.add(group);
        }
    }

    private void leave(Ipv6Address address, ChangeSet c) {
        Ipv6Address group = address.solicitedNode();
        Integer n = groups.get(group);
        if (n == null) {
            return;
        }
        if (n == 1) {
            groups.remove(group);
            c.leave.add(group);
        } else {
            groups.put(group, n - 1);
        }
    }

    private Entry slaacAddress(Ipv6Address prefix) {
        for (Entry e : addresses.values()) {
            if (e.origin == Origin.SLAAC && e.address.masked(64).equals(prefix)) {
                return e;
            }
        }
        return null;
    }

    /** An assigned link-local address to solicit from, or ::. */
    private Ipv6Address routerSolicitationSource() {
        for (Entry e : addresses.values()) {
            if (e.origin == Origin.LINK_LOCAL && e.view().assigned()) {
                return e.address;
            }
        }
        return Ipv6Address.UNSPECIFIED;
    }

    /** A uniform delay in [0, MAX_RTR_SOLICITATION_DELAY] (RFC 4861 §6.3.7, RFC 4862 §5.4.2). */
    private long randomDelay() {
        return random.nextLong(MAX_RTR_SOLICITATION_DELAY + 1);
    }

    /** The time a lifetime of {@code seconds} (all ones: infinite) ends. */
    private static long expiry(long seconds, long now) {
        if (seconds == INFINITE_LIFETIME) {
            return NEVER;
        }
        long nanos = seconds * 1_000_000_000L; // at most 4.3e18: no overflow
        long end = now + nanos;
        return end < now ? NEVER : end;
    }
}
