package io.jrump.net.stack;

import io.jrump.net.Ipv6Address;
import io.jrump.net.ndp.AddressAutoconfig;
import java.util.List;

/**
 * IPv6 source address selection (RFC 6724 §5) among one interface's addresses, with the rules
 * that decide anything for a host with one interface and no policy table of its own: prefer the
 * destination itself (rule 1), an appropriate scope (rule 2), a preferred over a deprecated
 * address (rule 3), then the longest matching prefix (rule 8). Tentative and duplicate addresses
 * are never candidates.
 */
final class SourceSelection {
    private SourceSelection() {
    }

    /** The best source for {@code dst}, or null if no address is assigned. */
    static Ipv6Address select(Ipv6Address dst, List<AddressAutoconfig.Address> candidates) {
        AddressAutoconfig.Address best = null;
        for (AddressAutoconfig.Address a : candidates) {
            if (a.assigned() && (best == null || better(a, best, dst))) {
                best = a;
            }
        }
        return best == null ? null : best.address();
    }

    /** Whether {@code a} is a better source than {@code b} for {@code dst}. */
    private static boolean better(AddressAutoconfig.Address a, AddressAutoconfig.Address b, Ipv6Address dst) {
        if (a.address().equals(dst) != b.address().equals(dst)) { // rule 1
            return a.address().equals(dst);
        }
        int sa = scope(a.address());
        int sb = scope(b.address());
        int sd = scope(dst);
        if (sa != sb) { // rule 2: the smallest scope that still reaches the destination
            return sa < sb ? sa >= sd : sb < sd;
        }
        boolean pa = a.state() == AddressAutoconfig.AddressState.PREFERRED;
        boolean pb = b.state() == AddressAutoconfig.AddressState.PREFERRED;
        if (pa != pb) { // rule 3
            return pa;
        }
        return commonPrefix(a.address(), dst) > commonPrefix(b.address(), dst); // rule 8
    }

    /** RFC 6724 §3.1 scopes: link-local unicast and loopback 2, multicast its own, everything else global (0xe). */
    static int scope(Ipv6Address a) {
        if (a.isMulticast()) {
            return a.multicastScope();
        }
        return a.isLinkLocal() || a.isLoopback() ? 2 : 0xe;
    }

    /** Leading bits in common, up to the 64-bit prefix (rule 8 compares no further). */
    static int commonPrefix(Ipv6Address a, Ipv6Address b) {
        return Math.min(64, Long.numberOfLeadingZeros(a.high() ^ b.high()));
    }
}
