package io.jrump.net.stack;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The stack's counters, by protocol and reason, as {@code rump net stat} and {@code netstat -s}
 * show them: what arrived, what was sent, and every drop with why. Counted on the event loop;
 * read from any thread. A count is a hash lookup of a constant name, without a lock: several
 * happen per packet.
 */
public final class NetStats {
    private final Map<String, AtomicLong> counters = new ConcurrentHashMap<>();

    /**
     * The counter behind {@code name}, for a path that counts per packet: it keeps the handle and
     * increments it without a lookup.
     */
    AtomicLong counter(String name) {
        return counters.computeIfAbsent(name, k -> new AtomicLong());
    }

    /** Adds one to {@code name}, e.g. {@code ip.in}, {@code ip.drop.bad_checksum}. */
    public void count(String name) {
        add(name, 1);
    }

    public void add(String name, long n) {
        AtomicLong v = counters.get(name);
        if (v == null) {
            v = counters.computeIfAbsent(name, k -> new AtomicLong());
        }
        v.addAndGet(n);
    }

    public long get(String name) {
        AtomicLong v = counters.get(name);
        return v == null ? 0 : v.get();
    }

    /** Every counter that is not zero, by name. */
    public Map<String, Long> snapshot() {
        Map<String, Long> out = new TreeMap<>();
        counters.forEach((k, v) -> {
            if (v.get() != 0) {
                out.put(k, v.get());
            }
        });
        return out;
    }
}
