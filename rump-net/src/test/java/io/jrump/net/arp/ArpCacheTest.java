package io.jrump.net.arp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ArpCacheTest {
    private static final long S = 1_000_000_000L;
    private final List<String> dropped = new ArrayList<>();
    private final ArpCache<String> cache = new ArpCache<>(new ArpCache.Config(4, 2, 60 * S, S, 3), dropped::add);
    private final Ipv4Address a = Ipv4Address.parse("198.18.0.2");
    private final MacAddress mac = MacAddress.of(0x020000000002L);

    @Test
    void packetsWaitForTheAnswerAndGoWithIt() {
        ArpCache.Resolution r = cache.resolve(a, "p1", 0);
        assertFalse(r.resolved());
        assertTrue(r.sendRequest(), "the first packet asks");
        assertFalse(cache.resolve(a, "p2", 1).sendRequest(), "one request outstanding");
        cache.resolve(a, "p3", 2);
        assertEquals(List.of("p1"), dropped, "the queue holds two; the oldest went");
        assertEquals(List.of("p2", "p3"), cache.learned(a, mac, false, 3));
        assertEquals(mac, cache.resolve(a, "p4", 4).mac());
    }

    @Test
    void requestsAreRetriedThenGivenUp() {
        cache.resolve(a, "p", 0);
        assertEquals(List.of(a), cache.tick(S).requests());
        assertEquals(List.of(a), cache.tick(2 * S).requests());
        ArpCache.Tick<String> last = cache.tick(3 * S);
        assertTrue(last.requests().isEmpty());
        assertEquals(1, last.expired());
        assertEquals(List.of("p"), last.unreachable(), "handed back for the sender to learn of");
        assertEquals(List.of(), dropped);
        assertEquals(0, cache.size());
    }

    @Test
    void resolvedEntriesExpire() {
        cache.learned(a, mac, true, 0);
        assertEquals(mac, cache.lookup(a, 59 * S));
        assertNull(cache.lookup(a, 60 * S));
        assertTrue(cache.resolve(a, "p", 60 * S).sendRequest(), "an expired entry asks again");
        assertEquals(0, cache.learned(Ipv4Address.parse("198.18.0.9"), mac, false, 0).size(),
                "an unsolicited reply for an unknown address makes no entry");
        assertEquals(1, cache.size());
    }

    @Test
    void anEntryInUseIsRefreshedBeforeItExpiresAndNeverStopsResolving() {
        cache.learned(a, mac, true, 0);
        assertFalse(cache.resolve(a, "p", 44 * S).sendRequest(), "young: no refresh");
        ArpCache.Resolution late = cache.resolve(a, "p", 45 * S);
        assertEquals(mac, late.mac(), "still sent at once");
        assertTrue(late.sendRequest(), "the last quarter of its life: ask again");
        assertFalse(cache.resolve(a, "p", 45 * S + S / 2).sendRequest(), "one refresh per retry interval");
        assertTrue(cache.resolve(a, "p", 46 * S).sendRequest(), "unanswered: ask again a second later");
        cache.learned(a, mac, false, 47 * S); // the answer
        assertEquals(mac, cache.lookup(a, 106 * S), "refreshed: good for another 60 s");
        assertFalse(cache.resolve(a, "p", 80 * S).sendRequest(), "young again");
        assertTrue(dropped.isEmpty(), "nothing waited");
    }

    @Test
    void memoryStaysBoundedUnderAFloodOfAddresses() {
        Random r = new Random(3);
        for (int i = 0; i < 10_000; i++) {
            cache.resolve(new Ipv4Address(r.nextInt()), "p" + i, i);
            if (i % 7 == 0) {
                cache.learned(new Ipv4Address(r.nextInt()), mac, true, i);
            }
            assertTrue(cache.size() <= 4);
        }
        cache.flush();
        assertEquals(0, cache.size());
        assertEquals(10_000, dropped.size(), "every queued packet is either sent or released once");
    }
}
