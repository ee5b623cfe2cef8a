package io.jrump.net.ip;

import io.jrump.net.Ipv6Address;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * IPv6 Path MTU discovery's memory (RFC 8201): the MTU a Packet Too Big message reported toward
 * each destination, never below the IPv6 minimum of 1,280 (§4: a smaller report is taken as
 * 1,280) and never raised by a message (only by ageing: an entry is forgotten after
 * {@code ageNanos}, 10 minutes by default as §4 suggests, and the path is tried at the link MTU
 * again). Bounded: the oldest entry goes when {@code maxEntries} is reached, so a flood of forged
 * messages for many destinations costs a fixed amount of memory. Time comes from the caller; not
 * thread-safe.
 */
public final class PathMtuCache {
    public static final int MINIMUM_MTU = 1280;
    public static final long DEFAULT_AGE_NANOS = 600_000_000_000L;

    private record Entry(int mtu, long expires) {
    }

    private final int maxEntries;
    private final long ageNanos;
    private final Map<Ipv6Address, Entry> entries = new LinkedHashMap<>();

    public PathMtuCache(int maxEntries, long ageNanos) {
        if (maxEntries < 1 || ageNanos <= 0) {
            throw new IllegalArgumentException("path MTU cache of " + maxEntries + " entries for " + ageNanos + " ns");
        }
        this.maxEntries = maxEntries;
        this.ageNanos = ageNanos;
    }

    public PathMtuCache() {
        this(1024, DEFAULT_AGE_NANOS);
    }

    /**
     * A Packet Too Big for {@code destination} said {@code reported} (the 32-bit MTU field). Returns
     * the path MTU now in force if it went down, else -1 (a report at or above what is known, or
     * above {@code linkMtu}, changes nothing).
     */
    public int reported(Ipv6Address destination, long reported, int linkMtu, long now) {
        int mtu = (int) Math.max(MINIMUM_MTU, Math.min(reported, linkMtu));
        int current = mtu(destination, linkMtu, now);
        if (mtu >= current) {
            return -1;
        }
        entries.remove(destination);
        if (entries.size() >= maxEntries) {
            Iterator<Ipv6Address> oldest = entries.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
        entries.put(destination, new Entry(mtu, now + ageNanos));
        return mtu;
    }

    /** The path MTU toward {@code destination}: what was reported and has not aged out, else {@code linkMtu}. */
    public int mtu(Ipv6Address destination, int linkMtu, long now) {
        Entry e = entries.get(destination);
        if (e == null) {
            return linkMtu;
        }
        if (now >= e.expires()) {
            entries.remove(destination);
            return linkMtu;
        }
        return Math.min(e.mtu(), linkMtu);
    }

    public int size() {
        return entries.size();
    }
}
