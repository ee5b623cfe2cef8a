package io.jrump.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class Ipv6AddressTest {
    /** Text in, RFC 5952 canonical text out (the examples of RFC 5952 §4 among them). */
    @ParameterizedTest
    @CsvSource({
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "2001:0db8:0:0:0:0:2:1, 2001:db8::2:1",
        "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
        "2001:db8::0:1, 2001:db8::1",
        "2001:db8:0:0:1:0:0:0, 2001:db8:0:0:1::",
        "2001:DB8::AbCd, 2001:db8::abcd",
        "::, ::",
        "::1, ::1",
        "1::, 1::",
        "fe80::0202:b3ff:fe1e:8329, fe80::202:b3ff:fe1e:8329",
        "::ffff:198.18.0.1, ::ffff:198.18.0.1",
        "::198.18.0.1, ::c612:1",
        "1:2:3:4:5:6:7:8, 1:2:3:4:5:6:7:8",
        "1:0:0:2:0:0:0:3, 1:0:0:2::3",
    })
    void formatsAsRfc5952(String in, String canonical) throws Exception {
        Ipv6Address a = Ipv6Address.parse(in);
        assertEquals(canonical, a.toString());
        assertEquals(a, Ipv6Address.parse(canonical));
        // The JDK as an outside check of the value.
        byte[] jdk = InetAddress.getByName(in).getAddress();
        byte[] ours = a.toBytes();
        if (jdk.length == 4) { // the JDK turns ::ffff:a.b.c.d into an IPv4 address
            assertTrue(a.isIpv4Mapped());
            ours = java.util.Arrays.copyOfRange(ours, 12, 16);
        }
        assertArrayEquals(jdk, ours);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ":", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::",
        "g::", "1:2:3:4:5:6:7:8::", "::1:", ":1::", "1.2.3.4", "::1.2.3", "1.2.3.4::", "::ffff:1.2.3.4:5",
        "fe80::1%eth0", "2001:db8::/32", "1:2:3:4:5:6:7::1.2.3.4"})
    void refusesWhatIsNotAnAddress(String text) {
        assertThrows(IllegalArgumentException.class, () -> Ipv6Address.parse(text), text);
    }

    /** Seeded random addresses, most groups zero: the canonical text parses back, the JDK reads the same bytes, no "::" is left uncompressed. */
    @Test
    void randomAddressesRoundTripThroughTheirText() throws Exception {
        java.util.Random r = new java.util.Random(19);
        for (int i = 0; i < 20_000; i++) {
            int[] g = new int[8];
            for (int k = 0; k < 8; k++) {
                g[k] = r.nextInt(3) == 0 ? r.nextInt(0x10000) : 0;
            }
            Ipv6Address a = Ipv6Address.of(g);
            String text = a.toString();
            assertEquals(a, Ipv6Address.parse(text), text);
            assertTrue(text.length() <= 39 && !text.contains(":::"), text);
            // RFC 5952 §4.2: the run shortened to "::" is a longest one; a lone zero group stays.
            int longestLeft = 0;
            int groups = 0;
            for (String part : text.split("::", -1)) {
                int run = 0;
                for (String group : part.isEmpty() ? new String[0] : part.split(":")) {
                    groups++;
                    run = group.equals("0") ? run + 1 : 0;
                    longestLeft = Math.max(longestLeft, run);
                }
            }
            int compressed = text.contains("::") ? 8 - groups : 0;
            assertTrue(text.contains("::") ? compressed >= 2 && compressed >= longestLeft : longestLeft <= 1, text);
            if (!a.isIpv4Mapped()) {
                assertArrayEquals(InetAddress.getByName(text).getAddress(), a.toBytes(), text);
            }
        }
    }

    @Test
    void scopesAndSolicitedNode() {
        Ipv6Address ll = Ipv6Address.parse("fe80::2aa:ff:fe28:9c5a");
        assertTrue(ll.isLinkLocal());
        assertFalse(ll.isMulticast());
        assertFalse(Ipv6Address.parse("fec0::1").isLinkLocal());
        assertTrue(Ipv6Address.parse("febf::1").isLinkLocal());
        Ipv6Address sn = ll.solicitedNode();
        assertEquals("ff02::1:ff28:9c5a", sn.toString()); // the example of RFC 4291 §2.7.1's rule
        assertTrue(sn.isSolicitedNode());
        assertTrue(sn.isMulticast());
        assertTrue(sn.isLinkLocalMulticast());
        assertEquals(2, sn.multicastScope());
        assertFalse(Ipv6Address.ALL_NODES.isSolicitedNode());
        assertEquals(0xe, Ipv6Address.parse("ff0e::101").multicastScope());
        assertThrows(IllegalStateException.class, ll::multicastScope);
        assertTrue(Ipv6Address.parse("2001:db8:ffff::1").isDocumentation());
        assertFalse(Ipv6Address.parse("2001:db9::1").isDocumentation());
        assertEquals("2001:db8::2a", Ipv6Address.documentation(0x2a).toString());
        assertTrue(Ipv6Address.parse("fd00::1").isUniqueLocal());
        assertTrue(Ipv6Address.LOOPBACK.isLoopback());
        assertTrue(Ipv6Address.UNSPECIFIED.isUnspecified());
        assertTrue(Ipv6Address.parse("2001:db8:1:2::5").inPrefix(Ipv6Address.parse("2001:db8:1::"), 48));
        assertFalse(Ipv6Address.parse("2001:db8:2::5").inPrefix(Ipv6Address.parse("2001:db8:1::"), 48));
        assertEquals(Ipv6Address.parse("2001:db8::"), Ipv6Address.parse("2001:db8::ffff").masked(100).masked(64));
        assertEquals(Ipv6Address.parse("2001:db8::fff0"), Ipv6Address.parse("2001:db8::ffff").masked(124));
        assertEquals(0x2001, Ipv6Address.parse("2001:db8::1").group(0));
        assertEquals(Ipv6Address.parse("2001:db8::1"), Ipv6Address.of(Ipv6Address.parse("2001:db8::1").toBytes(), 0));
        assertTrue(Ipv6Address.parse("::1").compareTo(Ipv6Address.parse("ff02::1")) < 0);
    }
}
