package io.jrump.net.dns;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Answers by (name, type), each until its TTL runs out on the monotonic clock; at most
 * {@code capacity} entries, the least recently used dropped first. Names are keyed in lower case,
 * as DNS compares them. Not thread-safe: the resolver uses it on its event loop.
 */
final class DnsCache {

    /** What a lookup of one (name, type) came to. */
    sealed interface Outcome {}

    /** The addresses (A or AAAA RDATA), after any CNAMEs. */
    record Found(List<DnsRdata> addresses) implements Outcome {}

    /** NXDOMAIN: the name does not exist. */
    record NoSuchName() implements Outcome {}

    /** NOERROR without records of the type: the name exists, without such data. */
    record NoData() implements Outcome {}

    private record Key(DnsName name, int type) {}

    private record Entry(Outcome outcome, long expiresAt) {}

    private final int capacity;
    private final LinkedHashMap<Key, Entry> entries;

    DnsCache(int capacity) {
        this.capacity = capacity;
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, Entry> eldest) {
                return size() > DnsCache.this.capacity;
            }
        };
    }

    /** The live outcome for the name and type at monotonic time {@code now}, or null. */
    Outcome get(DnsName name, int type, long now) {
        Key key = new Key(name.toLowerCase(), type);
        Entry e = entries.get(key);
        if (e == null) {
            return null;
        }
        if (now - e.expiresAt >= 0) {
            entries.remove(key);
            return null;
        }
        return e.outcome;
    }

    /** Keeps the outcome for {@code ttlNanos}; nothing if that is not positive. */
    void put(DnsName name, int type, Outcome outcome, long now, long ttlNanos) {
        if (ttlNanos <= 0 || capacity == 0) {
            return;
        }
        entries.put(new Key(name.toLowerCase(), type), new Entry(outcome, now + ttlNanos));
    }

    int size() {
        return entries.size();
    }

    void clear() {
        entries.clear();
    }
}
