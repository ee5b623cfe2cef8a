package io.jrump.net.ip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.Ipv4Address;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ReassemblyTest {
    private static final long S = 1_000_000_000L;
    private final Ipv4Address a = Ipv4Address.parse("198.18.0.1");
    private final Ipv4Address b = Ipv4Address.parse("198.18.0.2");

    /** A payload cut into 8-byte-aligned fragments of random sizes. */
    private static List<int[]> cut(int length, Random r) {
        List<int[]> out = new ArrayList<>();
        for (int at = 0; at < length; ) {
            int n = Math.min(length - at, 8 * (1 + r.nextInt(40)));
            out.add(new int[] {at, n});
            at += n;
        }
        return out;
    }

    @Test
    void fragmentsInAnyOrderMakeTheDatagram() {
        Random r = new Random(1);
        Reassembly re = new Reassembly(Reassembly.Config.defaults());
        for (int round = 0; round < 200; round++) {
            byte[] payload = new byte[1 + r.nextInt(20_000)];
            r.nextBytes(payload);
            List<int[]> frags = cut(payload.length, r);
            Collections.shuffle(frags, r);
            byte[] got = null;
            for (int i = 0; i < frags.size(); i++) {
                int[] f = frags.get(i);
                boolean last = f[0] + f[1] == payload.length;
                byte[] result = re.add(a, b, 17, round, f[0], !last, Arrays.copyOfRange(payload, f[0], f[0] + f[1]), round);
                if (i < frags.size() - 1) {
                    assertNull(result);
                } else {
                    got = result;
                }
            }
            assertArrayEquals(payload, got, "round " + round);
            assertEquals(0, re.heldBytes());
        }
        assertEquals(200, re.stats().reassembled());
    }

    @Test
    void overlapsTimeoutsAndOversizeDatagramsAreDropped() {
        Reassembly re = new Reassembly(Reassembly.Config.defaults());
        re.add(a, b, 6, 1, 0, true, new byte[16], 0);
        assertNull(re.add(a, b, 6, 1, 8, false, new byte[16], 0), "overlaps the first");
        assertEquals(1, re.stats().overlaps());
        assertEquals(0, re.datagramsInProgress());
        re.add(a, b, 6, 2, 0, true, new byte[16], 0);
        re.expire(30 * S);
        assertEquals(1, re.stats().timedOut());
        assertNull(re.add(a, b, 6, 3, 65528, false, new byte[16], 0), "past 65535 bytes");
        assertEquals(1, re.stats().tooBig());
        assertNull(re.add(a, b, 6, 4, 0, true, new byte[7], 0), "a middle fragment not a multiple of 8");
    }

    @Test
    void memoryStaysWithinTheBudgetUnderAFloodOfPartialDatagrams() {
        Random r = new Random(2);
        Reassembly re = new Reassembly(new Reassembly.Config(64 * 1024, 16, 30 * S));
        for (int i = 0; i < 20_000; i++) {
            byte[] data = new byte[8 * (1 + r.nextInt(100))];
            re.add(new Ipv4Address(r.nextInt()), b, 17, r.nextInt(65536), 8 * r.nextInt(2000), true, data, i);
            assertTrue(re.heldBytes() <= 64 * 1024, "held " + re.heldBytes());
            assertTrue(re.datagramsInProgress() <= 16);
        }
        assertTrue(re.stats().evicted() > 0);
    }
}
