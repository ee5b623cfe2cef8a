package io.jrump.net.ndp;

import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The IPv6 neighbour cache of one interface: Neighbor Unreachability Detection as RFC 4861 §7.3
 * describes it, with the states INCOMPLETE, REACHABLE, STALE, DELAY and PROBE. The stack feeds in
 * what it sends and receives; the cache answers with link-layer addresses, packets that may now
 * go, and solicitations to send. Time comes from the caller as {@code now} (nanoseconds); not
 * thread-safe (the stack's event loop owns it).
 *
 * <p>Bounded as RFC 6583 §6–7 advise: at most {@link Config#maxEntries} entries, of which at most
 * {@link Config#maxIncomplete} are INCOMPLETE, so a scan of a /64 (each probe making an
 * INCOMPLETE entry) only churns INCOMPLETE entries and never evicts resolved neighbours. A new
 * entry in a full cache evicts the least recently used STALE entry the stack never sent to
 * (one a flood of solicitations planted), then the least recently used STALE one; with none, the
 * new entry is refused. Packets queued per INCOMPLETE entry are bounded (the oldest dropped).
 *
 * @param <P> a queued packet; {@code dropped} is told of each one thrown away (to release it)
 */
public final class NeighborCache<P> {
    /** RFC 4861 §10: multicast solicitations sent while resolving before giving up. */
    public static final int MAX_MULTICAST_SOLICIT = 3;
    /** RFC 4861 §10: unicast probes sent in PROBE before giving up. */
    public static final int MAX_UNICAST_SOLICIT = 3;
    /** RFC 4861 §10: DELAY_FIRST_PROBE_TIME, 5 s. */
    public static final long DELAY_FIRST_PROBE_TIME = 5_000_000_000L;
    /** RFC 4861 §10: the default RetransTimer, 1 s. */
    public static final long RETRANS_TIMER = 1_000_000_000L;
    /** RFC 4861 §10: REACHABLE_TIME, the default BaseReachableTime, 30 s. */
    public static final long REACHABLE_TIME = 30_000_000_000L;

    /** The states of RFC 4861 §7.3.2. */
    public enum State { INCOMPLETE, REACHABLE, STALE, DELAY, PROBE }

    /**
     * Limits. {@code staleLifetimeNanos}: a STALE entry not used for that long is dropped (the
     * RFC keeps STALE entries indefinitely; a bounded cache collects them).
     */
    public record Config(int maxEntries, int maxIncomplete, int maxQueuedPerEntry, long staleLifetimeNanos) {
        public Config {
            if (maxEntries < 1 || maxIncomplete < 1 || maxIncomplete > maxEntries || maxQueuedPerEntry < 1
                    || staleLifetimeNanos <= 0) {
                throw new IllegalArgumentException("neighbour cache limits " + maxEntries + "/" + maxIncomplete + "/"
                        + maxQueuedPerEntry + "/" + staleLifetimeNanos);
            }
        }

        /** 1024 entries, 256 of them INCOMPLETE, 3 packets queued per entry, STALE entries kept 20 minutes. */
        public static Config defaults() {
            return new Config(1024, 256, 3, 20L * 60 * 1_000_000_000L);
        }
    }

    /**
     * The answer for a packet to send: the neighbour's {@code mac} (send now), or null (the packet
     * waits, or was refused and dropped when the cache is full). {@code solicit}: send a multicast
     * Neighbor Solicitation for the address now (to {@link Ipv6Address#solicitedNode()}).
     */
    public record Resolution(MacAddress mac, boolean solicit) {
        public boolean resolved() {
            return mac != null;
        }
    }

    /**
     * A Neighbor Solicitation to send for {@code target}: to its solicited-node group when
     * {@code mac} is null (resolution, INCOMPLETE), else unicast to {@code target} at {@code mac}
     * (a PROBE).
     */
    public record Solicitation(Ipv6Address target, MacAddress mac) {
        public boolean multicast() {
            return mac == null;
        }

        /** The IPv6 destination of the solicitation. */
        public Ipv6Address destination() {
            return mac == null ? target.solicitedNode() : target;
        }
    }

    /**
     * What a Neighbor Advertisement changed: {@code sendable} packets that waited for the answer
     * (send them to the now known address), and {@code noLongerRouter} when a neighbour known as
     * a router advertised without the Router flag (the caller removes it from the default router
     * list, RFC 4861 §7.2.5 last paragraph).
     */
    public record Advertised<P>(List<P> sendable, boolean noLongerRouter) {
    }

    /**
     * What the clock's passing asks for: {@code solicit}, solicitations to send; {@code unreachable},
     * packets that waited for a neighbour that never answered (the caller owns them now: it may
     * send ICMPv6 Destination Unreachable code 3 for each, then releases them — they do not go
     * through {@code dropped}); {@code gaveUp}, entries deleted because resolution or probing
     * failed; {@code collected}, STALE entries dropped after a long time unused.
     */
    public record Tick<P>(List<Solicitation> solicit, List<P> unreachable, int gaveUp, int collected) {
    }

    /** One entry, for `rump net stat` and tests. */
    public record Neighbor(State state, MacAddress mac, boolean router, int queued) {
    }

    private static final class Entry<P> {
        State state;
        MacAddress mac; // null only in INCOMPLETE
        boolean router;
        boolean used; // the stack sent (or tried to send) to it, or reachability was confirmed
        int probes;
        long deadline; // when the state's timer runs out (collection time for STALE)
        final ArrayDeque<P> queue = new ArrayDeque<>(2);
    }

    private final Config config;
    private final Consumer<P> dropped;
    // Access-ordered: iteration starts at the least recently used entry, the first to evict.
    private final LinkedHashMap<Ipv6Address, Entry<P>> entries = new LinkedHashMap<>(64, 0.75f, true);
    private int incomplete;
    private long reachableTime = REACHABLE_TIME;
    private long retransTimer = RETRANS_TIMER;
    private long droppedPackets;
    private long evictedEntries;
    private long refusedEntries;

    public NeighborCache(Config config, Consumer<P> dropped) {
        this.config = config;
        this.dropped = dropped;
    }

    /**
     * ReachableTime from BaseReachableTime and a uniform random number in [0, 1): the base times
     * a factor between MIN_RANDOM_FACTOR 0.5 and MAX_RANDOM_FACTOR 1.5 (RFC 4861 §6.3.2).
     */
    public static long reachableTime(long baseReachableNanos, double random) {
        if (baseReachableNanos < 0 || !(random >= 0 && random < 1)) {
            throw new IllegalArgumentException("base " + baseReachableNanos + " ns, random " + random);
        }
        return (long) (baseReachableNanos * (0.5 + random));
    }

    /** Sets ReachableTime (nanoseconds, already randomised: see {@link #reachableTime}); entries made REACHABLE later use it. */
    public void setReachableTime(long nanos) {
        if (nanos <= 0) {
            throw new IllegalArgumentException("reachable time " + nanos);
        }
        reachableTime = nanos;
    }

    /** Sets RetransTimer, the interval between solicitations (nanoseconds; RFC 4861 §6.3.4 from a Router Advertisement). */
    public void setRetransTimer(long nanos) {
        if (nanos <= 0) {
            throw new IllegalArgumentException("retrans timer " + nanos);
        }
        retransTimer = nanos;
    }

    public long reachableTime() {
        return reachableTime;
    }

    public long retransTimer() {
        return retransTimer;
    }

    /**
     * A packet to send to the on-link neighbour {@code ip} (RFC 4861 §7.2.2, §7.3.3): its MAC when
     * the entry is REACHABLE, STALE (which becomes DELAY: reachability will be probed unless it is
     * confirmed within 5 s), DELAY or PROBE. Otherwise the packet is queued (the oldest dropped
     * past the bound) on an INCOMPLETE entry, made if needed, whose first multicast solicitation
     * is asked for now.
     */
    public Resolution resolve(Ipv6Address ip, P packet, long now) {
        Entry<P> e = entries.get(ip);
        if (e != null && e.state != State.INCOMPLETE) {
            expireReachable(e, now);
            e.used = true;
            if (e.state == State.STALE) {
                e.state = State.DELAY;
                e.deadline = now + DELAY_FIRST_PROBE_TIME;
            }
            return new Resolution(e.mac, false);
        }
        boolean solicit = false;
        if (e == null) {
            e = newEntry(ip, State.INCOMPLETE);
            if (e == null) {
                drop(packet);
                return new Resolution(null, false);
            }
            e.used = true;
            e.probes = 1;
            e.deadline = now + retransTimer;
            solicit = true;
        }
        if (e.queue.size() >= config.maxQueuedPerEntry()) {
            drop(e.queue.poll());
        }
        e.queue.add(packet);
        return new Resolution(null, solicit);
    }

    /**
     * A Neighbor Solicitation (or Router Solicitation, or Redirect) from {@code ip} carried its
     * link-layer address {@code mac} (RFC 4861 §7.2.3, §6.2.6, §8.3): a new entry is made STALE;
     * an existing one whose address changed is updated and made STALE; one with the same address
     * keeps its state. Returns the packets that waited for an INCOMPLETE entry, now sendable (the
     * entry, used, then goes to DELAY as RFC 4861 §7.3.3 says sending to a STALE entry does).
     */
    public List<P> solicitationSeen(Ipv6Address ip, MacAddress mac, long now) {
        return learn(ip, mac, false, now);
    }

    /**
     * A Router Advertisement from {@code ip}, with its source link-layer address {@code mac} if it
     * carried one (RFC 4861 §6.3.4): as {@link #solicitationSeen}, and the entry (if any) is marked
     * a router.
     */
    public List<P> routerSeen(Ipv6Address ip, MacAddress mac, long now) {
        if (mac == null) {
            Entry<P> e = entries.get(ip);
            if (e != null) {
                e.router = true;
            }
            return List.of();
        }
        return learn(ip, mac, true, now);
    }

    private List<P> learn(Ipv6Address ip, MacAddress mac, boolean router, long now) {
        Entry<P> e = entries.get(ip);
        if (e == null) {
            e = newEntry(ip, State.STALE);
            if (e == null) {
                return List.of();
            }
            e.mac = mac;
            e.router = router;
            e.deadline = now + config.staleLifetimeNanos();
            return List.of();
        }
        if (router) {
            e.router = true;
        }
        if (e.state == State.INCOMPLETE) {
            e.mac = mac;
            return flushQueue(e, State.STALE, now);
        }
        if (!mac.equals(e.mac)) {
            e.mac = mac;
            setStale(e, now);
        }
        return List.of();
    }

    /**
     * A Neighbor Advertisement for {@code target} (RFC 4861 §7.2.5), with its target link-layer
     * address {@code mac} or null, and its Router, Solicited and Override flags. Without an entry
     * it is ignored. An INCOMPLETE entry without {@code mac} ignores it; with one, records it and
     * becomes REACHABLE (solicited) or STALE, its queued packets returned. Otherwise: with
     * Override clear and a different address, a REACHABLE entry becomes STALE and nothing else
     * changes, other states ignore it; else a different address is recorded, the entry becomes
     * REACHABLE if Solicited, or STALE if the address changed, and the router flag is updated.
     */
    public Advertised<P> advertisementSeen(Ipv6Address target, MacAddress mac, boolean router, boolean solicited,
            boolean override, long now) {
        Entry<P> e = entries.get(target);
        if (e == null) {
            return new Advertised<>(List.of(), false);
        }
        if (e.state == State.INCOMPLETE) {
            if (mac == null) {
                return new Advertised<>(List.of(), false);
            }
            e.mac = mac;
            e.router = router;
            List<P> out = flushQueue(e, solicited ? State.REACHABLE : State.STALE, now);
            return new Advertised<>(out, false);
        }
        expireReachable(e, now);
        boolean different = mac != null && !mac.equals(e.mac);
        if (!override && different) {
            if (e.state == State.REACHABLE) {
                setStale(e, now);
            }
            return new Advertised<>(List.of(), false);
        }
        if (different) {
            e.mac = mac;
        }
        if (solicited) {
            setReachable(e, now);
        } else if (different) {
            setStale(e, now);
        }
        boolean wasRouter = e.router;
        e.router = router;
        return new Advertised<>(List.of(), wasRouter && !router);
    }

    /**
     * Upper-layer confirmation that {@code ip} is reachable (RFC 4861 §7.3.1: e.g. new
     * acknowledgements on a TCP connection): a resolved entry becomes REACHABLE.
     */
    public void confirmReachable(Ipv6Address ip, long now) {
        Entry<P> e = entries.get(ip);
        if (e != null && e.state != State.INCOMPLETE) {
            e.used = true;
            setReachable(e, now);
        }
    }

    /**
     * Runs the timers due at {@code now}: an INCOMPLETE entry retries its multicast solicitation
     * every RetransTimer, MAX_MULTICAST_SOLICIT times in all, then is deleted (its packets in
     * {@link Tick#unreachable}); REACHABLE becomes STALE after ReachableTime; DELAY becomes PROBE
     * after DELAY_FIRST_PROBE_TIME and sends a unicast probe, PROBE repeats it every RetransTimer,
     * MAX_UNICAST_SOLICIT in all, then the entry is deleted; a STALE entry unused for
     * {@link Config#staleLifetimeNanos} is collected.
     */
    public Tick<P> tick(long now) {
        List<Solicitation> solicit = new ArrayList<>();
        List<P> unreachable = new ArrayList<>();
        int gaveUp = 0;
        int collected = 0;
        for (Iterator<Map.Entry<Ipv6Address, Entry<P>>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Ipv6Address, Entry<P>> me = it.next();
            Entry<P> e = me.getValue();
            if (now < e.deadline) {
                continue;
            }
            switch (e.state) {
                case INCOMPLETE -> {
                    if (e.probes < MAX_MULTICAST_SOLICIT) {
                        e.probes++;
                        e.deadline = now + retransTimer;
                        solicit.add(new Solicitation(me.getKey(), null));
                    } else {
                        droppedPackets += e.queue.size();
                        unreachable.addAll(e.queue);
                        incomplete--;
                        it.remove();
                        gaveUp++;
                    }
                }
                case REACHABLE -> {
                    e.state = State.STALE;
                    e.deadline = now + config.staleLifetimeNanos();
                }
                case STALE -> {
                    it.remove();
                    collected++;
                }
                case DELAY -> {
                    e.state = State.PROBE;
                    e.probes = 1;
                    e.deadline = now + retransTimer;
                    solicit.add(new Solicitation(me.getKey(), e.mac));
                }
                case PROBE -> {
                    if (e.probes < MAX_UNICAST_SOLICIT) {
                        e.probes++;
                        e.deadline = now + retransTimer;
                        solicit.add(new Solicitation(me.getKey(), e.mac));
                    } else {
                        it.remove();
                        gaveUp++;
                    }
                }
            }
        }
        return new Tick<>(solicit, unreachable, gaveUp, collected);
    }

    /** When the next {@link #tick} has work, or Long.MAX_VALUE with no entries. */
    public long nextDeadline() {
        long next = Long.MAX_VALUE;
        for (Entry<P> e : entries.values()) {
            next = Math.min(next, e.deadline);
        }
        return next;
    }

    /** The state of {@code ip}'s entry, or null without one (REACHABLE past its time is reported as is until the next tick). */
    public State state(Ipv6Address ip) {
        Entry<P> e = entries.get(ip);
        return e == null ? null : e.state;
    }

    /** Deletes {@code ip}'s entry, its queued packets dropped. */
    public void remove(Ipv6Address ip) {
        Entry<P> e = entries.remove(ip);
        if (e != null) {
            discard(e);
        }
    }

    /** Deletes every entry (the interface went down), queued packets dropped. */
    public void flush() {
        entries.values().forEach(this::discard);
        entries.clear();
    }

    public int size() {
        return entries.size();
    }

    /** Entries in INCOMPLETE. */
    public int incompleteCount() {
        return incomplete;
    }

    /** Packets dropped: queue overflow, evicted or deleted entries, refused entries, given-up resolutions. */
    public long droppedPackets() {
        return droppedPackets;
    }

    /** Entries evicted to make room for new ones. */
    public long evictedEntries() {
        return evictedEntries;
    }

    /** New entries refused because the cache was full of entries that may not be evicted. */
    public long refusedEntries() {
        return refusedEntries;
    }

    /** The entries, least recently used first, for `rump net stat` and tests. */
    public Map<Ipv6Address, Neighbor> snapshot() {
        Map<Ipv6Address, Neighbor> out = new LinkedHashMap<>();
        entries.forEach((ip, e) -> out.put(ip, new Neighbor(e.state, e.mac, e.router, e.queue.size())));
        return out;
    }

    /** A new entry in {@code state}, room made for it; null when refused. */
    private Entry<P> newEntry(Ipv6Address ip, State state) {
        if (state == State.INCOMPLETE && incomplete >= config.maxIncomplete()) {
            evict(State.INCOMPLETE, false);
        }
        if (entries.size() >= config.maxEntries()
                && !evict(State.STALE, true) && !evict(State.STALE, false)
                && !(state == State.INCOMPLETE && evict(State.INCOMPLETE, false))) {
            refusedEntries++;
            return null;
        }
        Entry<P> e = new Entry<>();
        e.state = state;
        if (state == State.INCOMPLETE) {
            incomplete++;
        }
        entries.put(ip, e);
        return e;
    }

    /** Evicts the least recently used entry in {@code state} (only one never used, if {@code unusedOnly}). */
    private boolean evict(State state, boolean unusedOnly) {
        for (Iterator<Entry<P>> it = entries.values().iterator(); it.hasNext(); ) {
            Entry<P> e = it.next();
            if (e.state == state && !(unusedOnly && e.used)) {
                it.remove();
                discard(e);
                evictedEntries++;
                return true;
            }
        }
        return false;
    }

    /** Leaves INCOMPLETE for {@code state}, returning the queued packets; sending them uses a STALE entry, which makes it DELAY. */
    private List<P> flushQueue(Entry<P> e, State state, long now) {
        incomplete--;
        List<P> out = new ArrayList<>(e.queue);
        e.queue.clear();
        if (state == State.REACHABLE) {
            setReachable(e, now);
        } else if (out.isEmpty()) {
            setStale(e, now);
        } else {
            e.state = State.DELAY;
            e.deadline = now + DELAY_FIRST_PROBE_TIME;
        }
        return out;
    }

    /** A REACHABLE entry past ReachableTime is STALE (RFC 4861 §7.3.3), whether or not tick has run since. */
    private void expireReachable(Entry<P> e, long now) {
        if (e.state == State.REACHABLE && now >= e.deadline) {
            setStale(e, now);
        }
    }

    private void setReachable(Entry<P> e, long now) {
        e.state = State.REACHABLE;
        e.probes = 0;
        e.deadline = now + reachableTime;
    }

    private void setStale(Entry<P> e, long now) {
        e.state = State.STALE;
        e.probes = 0;
        e.deadline = now + config.staleLifetimeNanos();
    }

    private void discard(Entry<P> e) {
        if (e.state == State.INCOMPLETE) {
            incomplete--;
        }
        e.queue.forEach(this::drop);
        e.queue.clear();
    }

    private void drop(P p) {
        droppedPackets++;
        dropped.accept(p);
    }
}
