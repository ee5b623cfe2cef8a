/**
 * IPv6 Neighbor Discovery and address autoconfiguration as pure components the stack drives
 * (issue 19): {@link io.jrump.net.ndp.NeighborCache} (RFC 4861 §7.3 neighbour unreachability
 * detection, bounded per RFC 6583), {@link io.jrump.net.ndp.AddressAutoconfig} (RFC 4862 DAD and
 * SLAAC, RFC 4861 router discovery, RFC 8106 RDNSS) and {@link io.jrump.net.ndp.StableInterfaceId}
 * (RFC 7217 identifiers, modified EUI-64). They take messages and the time from the caller and
 * answer with what to send and what changed; none sends, schedules or draws randomness itself.
 *
 * <p>Not there yet: wiring into {@code NetStack} (the stack drops IPv6 frames), MLDv2 listener
 * state, RFC 4191 route information and router preferences, RFC 8981 temporary addresses,
 * RFC 7527 enhanced DAD (a looped-back own solicitation would read as a duplicate).
 */
package io.jrump.net.ndp;
