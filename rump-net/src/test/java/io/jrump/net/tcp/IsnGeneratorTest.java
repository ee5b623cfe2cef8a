package io.jrump.net.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.jrump.net.Ipv4Address;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class IsnGeneratorTest {
    private static final byte[] SECRET = "0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final Ipv4Address A = Ipv4Address.parse("198.18.0.1");
    private static final Ipv4Address B = Ipv4Address.parse("198.18.0.2");

    @Test
    void advancesOneEvery4MicrosecondsForOneTuple() {
        IsnGenerator g = new IsnGenerator(SECRET);
        int t0 = g.isn(A, 80, B, 40000, 1_000_000);
        assertEquals(t0, g.isn(A, 80, B, 40000, 1_000_000 + 3_999));
        assertEquals(t0 + 1, g.isn(A, 80, B, 40000, 1_000_000 + 4_000));
        assertEquals(t0 + 250_000, g.isn(A, 80, B, 40000, 1_000_000 + 1_000_000_000L));
    }

    @Test
    void differsPerFourTupleAndPerSecret() {
        IsnGenerator g = new IsnGenerator(SECRET);
        long now = 123_456_789L;
        Set<Integer> seen = new HashSet<>();
        seen.add(g.isn(A, 80, B, 40000, now));
        seen.add(g.isn(A, 80, B, 40001, now));
        seen.add(g.isn(A, 81, B, 40000, now));
        seen.add(g.isn(B, 80, A, 40000, now));
        seen.add(g.isn(A, 80, Ipv4Address.parse("198.18.0.3"), 40000, now));
        assertEquals(5, seen.size());
        byte[] other = SECRET.clone();
        other[0] ^= 1;
        assertNotEquals(g.isn(A, 80, B, 40000, now), new IsnGenerator(other).isn(A, 80, B, 40000, now));
    }
}
