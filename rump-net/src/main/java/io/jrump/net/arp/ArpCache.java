package io.jrump.net.arp;

import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The neighbour cache of one interface (RFC 826 with the timeouts every kernel adds): resolved
 * entries that expire, and unresolved ones that hold a short queue of packets waiting for the
 * answer while requests are retried. Everything is bounded — entries, packets per entry,
 * retries — and every entry times out, so nothing the wire sends can grow it for ever. Time
 * comes from the caller; not thread-safe (the stack's event loop owns it).
 *
 * @param <P> a queued packet; {@code dropped} is told of each one thrown away (to release it)
 */
public final class ArpCache<P> {
    /** Limits and timeouts. */
    public record Config(int maxEntries, int maxQueuedPerEntry, long reachableNanos, long retryNanos, int maxRequests) {
        public static Config defaults() {
            return new Config(1024, 3, 60_000_000_000L, 1_000_000_000L, 3);
        }
    }

    /**
     * What to do with a packet for an address: send it to {@code mac} now, or it waits (and maybe
     * ask). With a {@code mac} and {@code sendRequest}, the entry is in its last quarter of life
     * and in use: ask the neighbour again, by unicast to that MAC, to refresh it before it expires
     * (Linux's PROBE state), and send the packet meanwhile.
     */
    public record Resolution(MacAddress mac, boolean sendRequest) {
        public boolean resolved() {
            return mac != null;
        }
    }

    /**
     * What the clock's passing asks for: addresses to ask again; and the packets that waited for an
     * address that never answered, handed to the caller (who tells their senders, then releases
     * them; they do not go to {@code dropped}).
     */
    public record Tick<P>(List<Ipv4Address> requests, int expired, List<P> unreachable) {
    }

    private static final class Entry<P> {
        MacAddress mac; // null while unresolved
        private Resolution resolved; // the answer for mac, kept: asked for every packet sent
        long deadline; // expiry when resolved; next retry when not
        int requests;
        long nextRefresh; // resolved: when an entry in use may be asked about again
        final ArrayDeque<P> queue = new ArrayDeque<>();

        Resolution resolution() {
            if (resolved == null || resolved.mac() != mac) {
                resolved = new Resolution(mac, false);
            }
            return resolved;
        }
    }

    private final Config config;
    private final Consumer<P> dropped;
    private final Map<Ipv4Address, Entry<P>> entries = new LinkedHashMap<>();
    private long droppedPackets;

    public ArpCache(Config config, Consumer<P> dropped) {
        this.config = config;
        this.dropped = dropped;
    }

    /** The address's MAC if it is resolved and not expired. */
    public MacAddress lookup(Ipv4Address ip, long now) {
        Entry<P> e = entries.get(ip);
        return e != null && e.mac != null && now < e.deadline ? e.mac : null;
    }

    /**
     * A packet to send to {@code ip}: its MAC if known; otherwise the packet is queued (the
     * oldest dropped if the queue is full) and a request is due if none is outstanding.
     */
    public Resolution resolve(Ipv4Address ip, P packet, long now) {
        Entry<P> e = entries.get(ip);
        if (e != null && e.mac != null && now < e.deadline) {
            // An entry in use is refreshed before it expires, so a long flow never waits for ARP.
            boolean refresh = now >= e.deadline - config.reachableNanos() / 4 && now >= e.nextRefresh;
            if (refresh) {
                e.nextRefresh = now + config.retryNanos();
            }
            return refresh ? new Resolution(e.mac, true) : e.resolution();
        }
        boolean ask = false;
        if (e == null || e.mac != null) { // new, or resolved but expired: start over
            if (e == null) {
                makeRoom();
                e = new Entry<>();
                entries.put(ip, e);
            }
            e.mac = null;
            e.requests = 1;
            e.deadline = now + config.retryNanos();
            ask = true;
        }
        if (e.queue.size() >= config.maxQueuedPerEntry()) {
            drop(e.queue.poll());
        }
        e.queue.add(packet);
        return new Resolution(null, ask);
    }

    /**
     * An ARP packet told us {@code ip} is at {@code mac}: the entry is resolved, updated or (if
     * {@code create}, as for a request addressed to us) made. Returns the packets that waited.
     */
    public List<P> learned(Ipv4Address ip, MacAddress mac, boolean create, long now) {
        Entry<P> e = entries.get(ip);
        if (e == null) {
            if (!create) {
                return List.of();
            }
            makeRoom();
            e = new Entry<>();
            entries.put(ip, e);
        }
        e.mac = mac;
        e.deadline = now + config.reachableNanos();
        e.requests = 0;
        e.nextRefresh = 0;
        List<P> waiting = new ArrayList<>(e.queue);
        e.queue.clear();
        return waiting;
    }

    /** Expires entries and retries requests that are due; an address that never answers is given up. */
    public Tick<P> tick(long now) {
        List<Ipv4Address> ask = new ArrayList<>();
        List<P> unreachable = new ArrayList<>();
        int expired = 0;
        for (Iterator<Map.Entry<Ipv4Address, Entry<P>>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Ipv4Address, Entry<P>> me = it.next();
            Entry<P> e = me.getValue();
            if (now < e.deadline) {
                continue;
            }
            if (e.mac != null || e.requests >= config.maxRequests()) {
                droppedPackets += e.queue.size();
                unreachable.addAll(e.queue);
                it.remove();
                expired++;
            } else {
                e.requests++;
                e.deadline = now + config.retryNanos();
                ask.add(me.getKey());
            }
        }
        return new Tick<>(ask, expired, unreachable);
    }

    /** When the next {@link #tick} has work, or Long.MAX_VALUE. */
    public long nextDeadline() {
        long next = Long.MAX_VALUE;
        for (Entry<P> e : entries.values()) {
            next = Math.min(next, e.deadline);
        }
        return next;
    }

    public void flush() {
        entries.values().forEach(e -> e.queue.forEach(this::drop));
        entries.clear();
    }

    public int size() {
        return entries.size();
    }

    public long droppedPackets() {
        return droppedPackets;
    }

    /** The entries, for `rump net stat` and tests: address → MAC (null while unresolved). */
    public Map<Ipv4Address, MacAddress> snapshot() {
        Map<Ipv4Address, MacAddress> out = new LinkedHashMap<>();
        entries.forEach((ip, e) -> out.put(ip, e.mac));
        return out;
    }

    /** A full table evicts its oldest entry, resolved or not, rather than refuse new neighbours. */
    private void makeRoom() {
        if (entries.size() < config.maxEntries()) {
            return;
        }
        Iterator<Entry<P>> it = entries.values().iterator();
        Entry<P> oldest = it.next();
        oldest.queue.forEach(this::drop);
        it.remove();
    }

    private void drop(P p) {
        droppedPackets++;
        dropped.accept(p);
    }
}
