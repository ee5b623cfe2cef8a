/**
 * A DHCPv4 client, independent of sockets and of the stack: the wire format as a checked view
 * ({@link io.jrump.net.dhcp.DhcpPacket}) and records ({@link io.jrump.net.dhcp.DhcpMessage},
 * {@link io.jrump.net.dhcp.DhcpOptions}), and the RFC 2131 state machine
 * ({@link io.jrump.net.dhcp.DhcpClient}) that reports leases ({@link io.jrump.net.dhcp.DhcpLease})
 * to a listener.
 *
 * <p>Not there yet: wiring into {@code NetStack} and the commands, option overload (52) and RFC 3396
 * long options (refused), DHCPINFORM, relays, DHCPv6.
 */
package io.jrump.net.dhcp;
