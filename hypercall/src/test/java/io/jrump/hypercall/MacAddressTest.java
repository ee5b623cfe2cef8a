package io.jrump.hypercall;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MacAddressTest {
    @Test
    void parsesAndPrintsColonForm() {
        MacAddress m = MacAddress.parse("02:00:5E:10:00:01");
        assertEquals("02:00:5e:10:00:01", m.toString());
        assertEquals(m, MacAddress.parse("02-00-5e-10-00-01"));
        assertArrayEquals(new byte[] {2, 0, 0x5e, 0x10, 0, 1}, m.toBytes());
        assertEquals(0x02005e100001L, m.toLong());
    }

    @Test
    void rejectsMalformedText() {
        for (String bad : new String[] {"", "02:00:5e:10:00", "02:00:5e:10:00:01:02", "0g:00:00:00:00:00",
            "2:00:5e:10:00:01", "02:00:5e:10:00:+1"}) {
            assertThrows(IllegalArgumentException.class, () -> MacAddress.parse(bad), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> MacAddress.of(new byte[5]));
    }

    @Test
    void readsAndWritesAtAnIndexWithoutMovingThePosition() {
        ByteBuffer b = ByteBuffer.allocate(20).position(3);
        MacAddress m = MacAddress.of(0xfe_dc_ba_98_76_54L);
        m.write(b, 7);
        assertEquals(3, b.position());
        assertEquals(m, MacAddress.read(b, 7));
    }

    @Test
    void classifiesGroupAndLocalBits() {
        assertTrue(MacAddress.BROADCAST.isBroadcast());
        assertTrue(MacAddress.BROADCAST.isMulticast());
        assertTrue(MacAddress.parse("01:00:5e:00:00:fb").isMulticast());
        assertFalse(MacAddress.parse("00:1b:21:00:00:01").isLocallyAdministered());
    }

    @Test
    void randomLocalAddressesAreUnicastAndLocallyAdministered() {
        Random rnd = new Random(1);
        HostRandom r = rnd::nextBytes;
        for (int i = 0; i < 1000; i++) {
            MacAddress m = MacAddress.randomLocal(r);
            assertFalse(m.isMulticast());
            assertTrue(m.isLocallyAdministered());
        }
    }
}
