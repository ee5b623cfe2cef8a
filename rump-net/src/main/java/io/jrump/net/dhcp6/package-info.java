/**
 * A stateless DHCPv6 client (RFC 8415 Information-request), independent of sockets and of the
 * stack: the wire format as a checked view ({@link io.jrump.net.dhcp6.Dhcp6Packet}) and records
 * ({@link io.jrump.net.dhcp6.Dhcp6Message}, {@link io.jrump.net.dhcp6.Dhcp6Options},
 * {@link io.jrump.net.dhcp6.Duid}), and the client ({@link io.jrump.net.dhcp6.Dhcp6InfoClient})
 * that reports DNS servers and search lists (RFC 3646) as {@link io.jrump.net.dhcp6.Dhcp6Info}.
 *
 * <p>Not there yet: wiring into {@code NetStack} and the commands, addresses and prefixes
 * (Solicit/Request/IA_NA/IA_PD: a stateful client), Reconfigure, relay messages (refused),
 * authentication.
 */
package io.jrump.net.dhcp6;
