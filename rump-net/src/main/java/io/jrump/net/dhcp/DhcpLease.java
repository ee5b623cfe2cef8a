package io.jrump.net.dhcp;

import io.jrump.net.Ipv4Address;
import java.util.List;
import java.util.Objects;

/**
 * What a DHCPACK gave: the address and what to configure with it. Times are seconds from
 * {@code acquiredNanos} (the monotonic time the REQUEST that got the ACK was sent, RFC 2131
 * §4.4.1); {@code leaseSeconds} {@link DhcpOptions#INFINITE} means never expiring. Immutable.
 *
 * @param prefixLength from the Subnet Mask option, else the address's class (RFC 1122 §3.3.1.1 fallback)
 * @param domainName null if the server gave none
 * @param mtu 0 if the server gave none
 */
public record DhcpLease(
        Ipv4Address address,
        int prefixLength,
        List<Ipv4Address> routers,
        List<Ipv4Address> dnsServers,
        String domainName,
        int mtu,
        Ipv4Address server,
        long leaseSeconds,
        long renewalSeconds,
        long rebindingSeconds,
        long acquiredNanos) {

    public DhcpLease {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(server, "server");
        routers = List.copyOf(routers);
        dnsServers = List.copyOf(dnsServers);
    }

    public boolean infinite() {
        return leaseSeconds == DhcpOptions.INFINITE;
    }
}
