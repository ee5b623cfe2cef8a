package io.jrump.net.stack;

import io.jrump.net.ndp.AddressAutoconfig.IdentifierKind;

/**
 * How IPv6 runs on an interface ({@link NetStack#enableIpv6}).
 *
 * @param slaac take router advertisements: solicit routers, configure addresses from their
 *     prefixes (SLAAC, RFC 4862), default routers, the MTU and DNS servers (RDNSS) they give
 * @param dadTransmits Neighbor Solicitations per duplicate address detection (RFC 4862
 *     DupAddrDetectTransmits, 1 by default; 0 turns DAD off), 0..10
 * @param identifiers how interface identifiers are made: {@link IdentifierKind#STABLE} (RFC 7217
 *     stable opaque identifiers, the default) or {@link IdentifierKind#EUI64} (from the MAC)
 */
public record Ipv6Options(boolean slaac, int dadTransmits, IdentifierKind identifiers) {
    public Ipv6Options {
        if (dadTransmits < 0 || dadTransmits > 10) {
            throw new IllegalArgumentException("DupAddrDetectTransmits " + dadTransmits + " out of 0..10");
        }
        if (identifiers == null) {
            throw new IllegalArgumentException("identifiers");
        }
    }

    /** SLAAC from router advertisements, one DAD transmission, stable identifiers: what a host on a LAN wants. */
    public static Ipv6Options slaacDefaults() {
        return new Ipv6Options(true, 1, IdentifierKind.STABLE);
    }

    /** No router advertisements taken: a link-local address and addresses given by hand, each with DAD. */
    public static Ipv6Options manual() {
        return new Ipv6Options(false, 1, IdentifierKind.STABLE);
    }
}
