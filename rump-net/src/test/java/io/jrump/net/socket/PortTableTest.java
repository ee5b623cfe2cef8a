package io.jrump.net.socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.jrump.net.ip.TokenBucket;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PortTableTest {
    private final Ipv4Address a = Ipv4Address.parse("198.18.0.2");
    private final Ipv4Address b = Ipv4Address.parse("198.18.0.3");

    @Test
    void bindFollowsTheBsdRules() throws Exception {
        PortTable<String> t = new PortTable<>(new Random(1)::nextInt);
        t.bind("s1", a, 80, false);
        t.bind("s2", b, 80, false);
        assertEquals(Errno.EADDRINUSE, assertThrows(ErrnoException.class, () -> t.bind("s3", Ipv4Address.ANY, 80, false)).errno());
        t.bind("w", Ipv4Address.ANY, 81, true);
        t.bind("x", a, 81, true);
        assertEquals(Errno.EADDRINUSE, assertThrows(ErrnoException.class, () -> t.bind("y", a, 81, false)).errno());
        assertEquals("x", t.lookup(a, 81), "the exact address before the wildcard");
        assertEquals("w", t.lookup(b, 81));
        assertNull(t.lookup(a, 82));
        t.unbind("x", 81);
        assertEquals("w", t.lookup(a, 81));
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> t.bind("z", a, 70000, false)).errno());
    }

    @Test
    void ephemeralPortsAreDistinctAndInTheRangeUntilItRunsOut() throws Exception {
        PortTable<Integer> t = new PortTable<>(new Random(2)::nextInt);
        Set<Integer> seen = new HashSet<>();
        int range = PortTable.EPHEMERAL_LAST - PortTable.EPHEMERAL_FIRST + 1;
        for (int i = 0; i < range; i++) {
            int p = t.bind(i, a, 0, false);
            assertTrue(p >= PortTable.EPHEMERAL_FIRST && p <= PortTable.EPHEMERAL_LAST);
            assertTrue(seen.add(p));
        }
        assertEquals(Errno.EADDRNOTAVAIL, assertThrows(ErrnoException.class, () -> t.bind(-1, a, 0, false)).errno());
    }

    @Test
    void anEphemeralPortSkipsPortsTheCallerCannotUse() throws Exception {
        PortTable<Integer> t = new PortTable<>(() -> 0); // every search starts at the first port
        int first = PortTable.EPHEMERAL_FIRST;
        assertEquals(first + 2, t.bind(1, a, 0, false, false, p -> p > first + 1),
                "ports the caller's four-tuples still hold are skipped");
        assertEquals(first, t.bind(2, a, 0, false), "the plain bind has no such test");
        assertEquals(Errno.EADDRNOTAVAIL, assertThrows(ErrnoException.class,
                () -> t.bind(3, a, 0, false, false, p -> false)).errno());
    }

    @Test
    void theTokenBucketAllowsABurstThenTheRate() {
        TokenBucket tb = new TokenBucket(1_000_000, 50, 0);
        int sent = 0;
        for (int i = 0; i < 1000; i++) {
            if (tb.tryTake(0)) {
                sent++;
            }
        }
        assertEquals(50, sent, "the burst");
        sent = 0;
        for (long t = 100_000; t <= 100_000_000; t += 100_000) {
            if (tb.tryTake(t)) {
                sent++;
            }
        }
        assertEquals(100, sent, "one per millisecond over 100 ms");
    }
}
