package io.jrump.net.ip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RouteTableTest {
    private static Ipv4Address ip(String s) {
        return Ipv4Address.parse(s);
    }

    @Test
    void theLongestPrefixWinsAndTheDefaultRouteCatchesTheRest() throws Exception {
        RouteTable t = new RouteTable();
        t.add(new RouteTable.Route(ip("0.0.0.0"), 0, ip("198.18.0.1"), "eth0", 0));
        t.add(new RouteTable.Route(ip("198.18.0.0"), 24, Ipv4Address.ANY, "eth0", 0));
        t.add(new RouteTable.Route(ip("198.18.0.128"), 25, Ipv4Address.ANY, "eth1", 0));
        t.add(new RouteTable.Route(ip("198.19.0.0"), 16, ip("198.18.0.2"), "eth0", 5));
        t.add(new RouteTable.Route(ip("198.19.0.0"), 16, ip("198.18.0.3"), "eth0", 1));
        assertEquals("eth1", t.lookup(ip("198.18.0.200")).orElseThrow().iface());
        assertEquals("eth0", t.lookup(ip("198.18.0.20")).orElseThrow().iface());
        assertTrue(t.lookup(ip("198.18.0.20")).orElseThrow().isDirect());
        assertEquals(ip("198.18.0.3"), t.lookup(ip("198.19.7.7")).orElseThrow().gateway(), "lower metric");
        assertEquals(ip("198.18.0.1"), t.lookup(ip("203.0.113.9")).orElseThrow().gateway(), "default route");
        t.removeInterface("eth0");
        assertTrue(t.lookup(ip("203.0.113.9")).isEmpty());
        assertEquals(Errno.ESRCH, assertThrows(ErrnoException.class, () -> t.remove(ip("10.0.0.0"), 8, null)).errno());
        assertThrows(IllegalArgumentException.class, () -> new RouteTable.Route(ip("10.0.0.1"), 8, Ipv4Address.ANY, "x", 0));
    }

    @Test
    void lookupAgreesWithABruteForceModel() throws Exception {
        Random r = new Random(7);
        RouteTable t = new RouteTable();
        List<RouteTable.Route> all = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int len = r.nextInt(33);
            Ipv4Address net = new Ipv4Address(r.nextInt() & Ipv4Address.mask(len));
            RouteTable.Route route = new RouteTable.Route(net, len, Ipv4Address.ANY, "if" + i, r.nextInt(3));
            t.add(route);
            all.add(route);
        }
        for (int i = 0; i < 5000; i++) {
            Ipv4Address dst = new Ipv4Address(r.nextInt());
            RouteTable.Route expected = null;
            for (RouteTable.Route x : all) {
                if (x.matches(dst) && (expected == null || x.prefixLength() > expected.prefixLength()
                        || x.prefixLength() == expected.prefixLength() && x.metric() < expected.metric())) {
                    expected = x;
                }
            }
            assertEquals(expected, t.lookup(dst).orElse(null), dst.toString());
        }
    }
}
