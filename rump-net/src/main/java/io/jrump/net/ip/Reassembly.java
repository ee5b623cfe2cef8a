package io.jrump.net.ip;

import io.jrump.net.IpAddress;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * IPv4 and IPv6 reassembly (RFC 791 and RFC 8200 §4.5, with RFC 815's hole bookkeeping kept as a
 * sorted map of fragments):
 * fragments of one datagram — same source, destination, protocol and id — are gathered until
 * every byte up to the last fragment's end is there. Memory is bounded by a byte budget over all
 * datagrams and by a datagram count; a datagram not complete within the timeout is dropped.
 * Overlapping fragments drop their datagram (they are how evasion and teardrop attacks work),
 * and no datagram may exceed 65,535 bytes. Time comes from the caller; not thread-safe.
 */
public final class Reassembly {
    public static final int MAX_DATAGRAM = 65535;

    /** Limits: bytes held over all datagrams, datagrams in progress, and how long one may take. */
    public record Config(int maxBytes, int maxDatagrams, long timeoutNanos) {
        public static Config defaults() {
            return new Config(4 << 20, 64, 30_000_000_000L);
        }
    }

    /** Counters, by reason. */
    public record Stats(long reassembled, long timedOut, long overlaps, long tooBig, long evicted) {
    }

    private record Key(IpAddress src, IpAddress dst, int protocol, int id) {
    }

    private static final class Datagram {
        final TreeMap<Integer, byte[]> fragments = new TreeMap<>();
        final long deadline;
        int bytes;
        int total = -1; // known once the last fragment (MF clear) arrives

        Datagram(long deadline) {
            this.deadline = deadline;
        }
    }

    private final Config config;
    private final Map<Key, Datagram> inProgress = new LinkedHashMap<>();
    private int heldBytes;
    private long reassembled;
    private long timedOut;
    private long overlaps;
    private long tooBig;
    private long evicted;

    public Reassembly(Config config) {
        this.config = config;
    }

    /**
     * Adds a fragment ({@code offset} in bytes, {@code moreFragments} the MF flag). Returns the
     * whole payload once complete, else null. The caller has checked the IP header; for IPv6
     * {@code protocol} is 0 (RFC 8200 keys a datagram by its addresses and 32-bit id alone).
     */
    public byte[] add(IpAddress src, IpAddress dst, int protocol, int id, int offset, boolean moreFragments,
            byte[] data, long now) {
        expire(now);
        Key key = new Key(src, dst, protocol, id);
        int end = offset + data.length;
        if (offset < 0 || end > MAX_DATAGRAM || (moreFragments && data.length % 8 != 0) || data.length == 0 && moreFragments) {
            tooBig++;
            discard(key);
            return null;
        }
        Datagram d = inProgress.get(key);
        if (d == null) {
            while (inProgress.size() >= config.maxDatagrams() || heldBytes + data.length > config.maxBytes()) {
                if (!evictOldest()) {
                    evicted++;
                    return null; // this one alone is over the budget
                }
            }
            d = new Datagram(now + config.timeoutNanos());
            inProgress.put(key, d);
        } else {
            while (heldBytes + data.length > config.maxBytes() && evictOldestOtherThan(key)) {
                // made room
            }
            if (heldBytes + data.length > config.maxBytes()) {
                evicted++;
                discard(key);
                return null;
            }
        }
        if (!moreFragments) {
            if (d.total >= 0 && d.total != end || lastByteBeyond(d, end)) {
                overlaps++;
                discard(key);
                return null;
            }
            d.total = end;
        } else if (d.total >= 0 && end > d.total) {
            overlaps++;
            discard(key);
            return null;
        }
        Map.Entry<Integer, byte[]> before = d.fragments.floorEntry(offset);
        Map.Entry<Integer, byte[]> after = d.fragments.ceilingEntry(offset);
        if (before != null && before.getKey() + before.getValue().length > offset
                || after != null && after.getKey() < end) {
            overlaps++;
            discard(key);
            return null;
        }
        d.fragments.put(offset, data);
        d.bytes += data.length;
        heldBytes += data.length;
        if (d.total < 0 || d.bytes != d.total) {
            return null;
        }
        byte[] whole = new byte[d.total];
        for (Map.Entry<Integer, byte[]> f : d.fragments.entrySet()) {
            System.arraycopy(f.getValue(), 0, whole, f.getKey(), f.getValue().length);
        }
        discard(key);
        reassembled++;
        return whole;
    }

    private static boolean lastByteBeyond(Datagram d, int end) {
        return !d.fragments.isEmpty() && d.fragments.lastKey() + d.fragments.lastEntry().getValue().length > end;
    }

    /** Drops datagrams past their deadline. */
    public void expire(long now) {
        for (Iterator<Map.Entry<Key, Datagram>> it = inProgress.entrySet().iterator(); it.hasNext(); ) {
            Datagram d = it.next().getValue();
            if (now >= d.deadline) {
                heldBytes -= d.bytes;
                it.remove();
                timedOut++;
            }
        }
    }

    /** When the oldest datagram times out, or Long.MAX_VALUE. */
    public long nextDeadline() {
        return inProgress.isEmpty() ? Long.MAX_VALUE : inProgress.values().iterator().next().deadline;
    }

    private boolean evictOldest() {
        return evictOldestOtherThan(null);
    }

    private boolean evictOldestOtherThan(Key keep) {
        for (Key k : inProgress.keySet()) {
            if (!k.equals(keep)) {
                discard(k);
                evicted++;
                return true;
            }
        }
        return false;
    }

    private void discard(Key key) {
        Datagram d = inProgress.remove(key);
        if (d != null) {
            heldBytes -= d.bytes;
        }
    }

    public int heldBytes() {
        return heldBytes;
    }

    public int datagramsInProgress() {
        return inProgress.size();
    }

    public Stats stats() {
        return new Stats(reassembled, timedOut, overlaps, tooBig, evicted);
    }
}
