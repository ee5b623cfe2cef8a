package io.jrump.net.ndp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StableInterfaceIdTest {
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NET = "office".getBytes(StandardCharsets.US_ASCII);
    private static final Ipv6Address PREFIX = Ipv6Address.parse("2001:db8:1:2::");
    private final StableInterfaceId ids = new StableInterfaceId(KEY);

    @Test
    void sameInputsGiveTheSameAddress() {
        StableInterfaceId.Generated one = ids.address(PREFIX, "eth0", NET, 0);
        StableInterfaceId.Generated two = new StableInterfaceId(KEY.clone()).address(PREFIX, "eth0", NET.clone(), 0);
        assertEquals(one, two);
        assertEquals(0, one.dadCounter());
        assertTrue(one.address().inPrefix(PREFIX, 64));
        // The low 64 bits of the prefix argument play no part.
        assertEquals(one, ids.address(Ipv6Address.parse("2001:db8:1:2::99"), "eth0", NET, 0));
    }

    @Test
    void everyInputChangesTheIdentifier() {
        long base = ids.rawInterfaceId(PREFIX, "eth0", NET, 0);
        Set<Long> seen = new HashSet<>();
        seen.add(base);
        assertTrue(seen.add(ids.rawInterfaceId(Ipv6Address.parse("2001:db8:1:3::"), "eth0", NET, 0)), "prefix");
        assertTrue(seen.add(ids.rawInterfaceId(PREFIX, "eth1", NET, 0)), "interface");
        assertTrue(seen.add(ids.rawInterfaceId(PREFIX, "eth0", "home".getBytes(StandardCharsets.US_ASCII), 0)), "network");
        assertTrue(seen.add(ids.rawInterfaceId(PREFIX, "eth0", new byte[0], 0)), "no network id");
        assertTrue(seen.add(ids.rawInterfaceId(PREFIX, "eth0", NET, 1)), "DAD counter");
        byte[] otherKey = KEY.clone();
        otherKey[0] ^= 1;
        assertTrue(seen.add(new StableInterfaceId(otherKey).rawInterfaceId(PREFIX, "eth0", NET, 0)), "key");
        // Fields do not run together: "eth0" + "x..." differs from "eth0x" + "...".
        assertNotEquals(ids.rawInterfaceId(PREFIX, "eth0", "xy".getBytes(StandardCharsets.US_ASCII), 0),
                ids.rawInterfaceId(PREFIX, "eth0x", "y".getBytes(StandardCharsets.US_ASCII), 0));
    }

    @Test
    void linkLocalUsesTheSameFunctionOnFe80() {
        StableInterfaceId.Generated ll = ids.linkLocal("eth0", NET, 0);
        assertTrue(ll.address().isLinkLocal());
        assertEquals(Ipv6Address.parse("fe80::").high(), ll.address().high());
        assertEquals(ids.rawInterfaceId(Ipv6Address.parse("fe80::"), "eth0", NET, 0), ll.address().low());
    }

    @Test
    void reservedIdentifiersAreRFC5453s() {
        assertTrue(StableInterfaceId.isReserved(0));
        assertTrue(StableInterfaceId.isReserved(0xfdff_ffff_ffff_ff80L));
        assertTrue(StableInterfaceId.isReserved(0xfdff_ffff_ffff_ffffL));
        assertFalse(StableInterfaceId.isReserved(0xfdff_ffff_ffff_ff7fL));
        assertTrue(StableInterfaceId.isReserved(0x0200_5eff_fe00_0000L));
        assertTrue(StableInterfaceId.isReserved(0x0200_5eff_fe00_5213L));
        assertTrue(StableInterfaceId.isReserved(0x0200_5eff_feff_ffffL));
        assertFalse(StableInterfaceId.isReserved(0x0200_5eff_ff00_0000L));
        assertFalse(StableInterfaceId.isReserved(0x0200_5eff_fdff_ffffL));
        assertFalse(StableInterfaceId.isReserved(1));
    }

    @Test
    void reservedIdentifiersAreSkippedWithTheNextCounter() {
        // An F that gives reserved identifiers for counters 0..2.
        long[] values = {0, 0xfdff_ffff_ffff_ff90L, 0x0200_5eff_fe00_5213L, 0x1234_5678_9abc_def0L};
        StableInterfaceId rigged = new StableInterfaceId((prefix, iface, net, counter) -> values[Math.min(counter, 3)]);
        StableInterfaceId.Generated g = rigged.address(PREFIX, "eth0", NET, 0);
        assertEquals(3, g.dadCounter());
        assertEquals(Ipv6Address.parse("2001:db8:1:2:1234:5678:9abc:def0"), g.address());
        assertEquals(3, rigged.address(PREFIX, "eth0", NET, 2).dadCounter());
    }

    @Test
    void aShortKeyIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new StableInterfaceId(new byte[15]));
    }

    @Test
    void modifiedEui64FromAMac() {
        assertEquals(0x5054_00ff_fe12_3456L, StableInterfaceId.modifiedEui64(MacAddress.parse("52:54:00:12:34:56")));
        assertEquals(Ipv6Address.parse("fe80::5054:ff:fe12:3456"), StableInterfaceId.withInterfaceId(
                Ipv6Address.parse("fe80::"), StableInterfaceId.modifiedEui64(MacAddress.parse("52:54:00:12:34:56"))));
        // RFC 4291 Appendix A: a universal address (u bit 0) gets the bit set.
        assertEquals(0x0234_56ff_fe78_9abcL, StableInterfaceId.modifiedEui64(MacAddress.parse("00:34:56:78:9a:bc")));
        // RFC 7042's documentation MAC: its EUI-64 lands in the block RFC 5453 reserves.
        long iana = StableInterfaceId.modifiedEui64(MacAddress.parse("00:00:5e:00:53:01"));
        assertEquals(0x0200_5eff_fe00_5301L, iana);
        assertTrue(StableInterfaceId.isReserved(iana));
    }
}
