package io.jrump.net.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.Ipv4Address;
import java.util.OptionalInt;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SynCookiesTest {
    private static final byte[] SECRET = new byte[16];
    private static final Ipv4Address SERVER = Ipv4Address.parse("198.18.0.1");
    private static final Ipv4Address CLIENT = Ipv4Address.parse("198.18.0.2");
    private static final long PERIOD = SynCookies.DEFAULT_PERIOD_NANOS;

    static {
        for (int i = 0; i < 16; i++) {
            SECRET[i] = (byte) (0xa0 + i);
        }
    }

    @Test
    void roundTripsTheMssThroughTheHandshake() {
        SynCookies c = new SynCookies(SECRET);
        Random rnd = new Random(4987);
        for (int i = 0; i < 1000; i++) {
            int clientIsn = rnd.nextInt();
            int port = rnd.nextInt(65536);
            int mss = 500 + rnd.nextInt(9000);
            long now = rnd.nextLong() >>> 2;
            int cookie = c.encode(SERVER, 80, CLIENT, port, clientIsn, mss, now);
            long later = now + (long) (rnd.nextDouble() * PERIOD); // within the current or the next period
            OptionalInt got = c.check(SERVER, 80, CLIENT, port, clientIsn + 1, cookie + 1, later);
            assertEquals(OptionalInt.of(SynCookies.MSS_TABLE[SynCookies.mssIndex(mss)]), got);
            assertTrue(got.getAsInt() <= Math.max(mss, 536));
        }
    }

    @Test
    void picksTheLargestTableMssNotAboveThePeers() {
        assertEquals(0, SynCookies.mssIndex(100));
        assertEquals(0, SynCookies.mssIndex(536));
        assertEquals(6, SynCookies.mssIndex(1460));
        assertEquals(6, SynCookies.mssIndex(8000));
        assertEquals(7, SynCookies.mssIndex(9000));
    }

    @Test
    void rejectsTamperedWrongTupleOrExpiredCookies() {
        SynCookies c = new SynCookies(SECRET);
        long now = 1000 * PERIOD + 5;
        int isn = 0x1234_5678;
        int cookie = c.encode(SERVER, 80, CLIENT, 40000, isn, 1460, now);
        assertEquals(OptionalInt.of(1460), c.check(SERVER, 80, CLIENT, 40000, isn + 1, cookie + 1, now));
        for (int bit = 0; bit < 32; bit++) {
            assertEquals(OptionalInt.empty(),
                    c.check(SERVER, 80, CLIENT, 40000, isn + 1, (cookie ^ 1 << bit) + 1, now), "bit " + bit);
        }
        assertEquals(OptionalInt.empty(), c.check(SERVER, 80, CLIENT, 40001, isn + 1, cookie + 1, now));
        assertEquals(OptionalInt.empty(), c.check(SERVER, 81, CLIENT, 40000, isn + 1, cookie + 1, now));
        assertEquals(OptionalInt.empty(), c.check(SERVER, 80, SERVER, 40000, isn + 1, cookie + 1, now));
        assertEquals(OptionalInt.empty(), c.check(SERVER, 80, CLIENT, 40000, isn + 2, cookie + 1, now));
        // One period later it is still good; two periods later it has expired; 32 periods later the 5-bit
        // counter matches again but the hash of the full counter does not.
        assertEquals(OptionalInt.of(1460), c.check(SERVER, 80, CLIENT, 40000, isn + 1, cookie + 1, now + PERIOD));
        assertEquals(OptionalInt.empty(), c.check(SERVER, 80, CLIENT, 40000, isn + 1, cookie + 1, now + 2 * PERIOD));
        assertEquals(OptionalInt.empty(), c.check(SERVER, 80, CLIENT, 40000, isn + 1, cookie + 1, now + 32 * PERIOD));
        byte[] other = SECRET.clone();
        other[15] ^= 0x80;
        assertEquals(OptionalInt.empty(),
                new SynCookies(other).check(SERVER, 80, CLIENT, 40000, isn + 1, cookie + 1, now));
    }
}
