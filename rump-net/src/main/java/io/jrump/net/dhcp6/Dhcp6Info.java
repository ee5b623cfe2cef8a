package io.jrump.net.dhcp6;

import io.jrump.net.Ipv6Address;
import io.jrump.net.dns.DnsName;
import java.util.List;
import java.util.Objects;

/**
 * What a successful Reply to an Information-request gave (RFC 8415 §18.2.10). Immutable.
 *
 * @param serverId the server that answered
 * @param dnsServers from option 23 (RFC 3646), empty if none
 * @param searchList from option 24 (RFC 3646), empty if none
 * @param refreshSeconds when to ask again, from {@code acquiredNanos}: the Information Refresh Time
 *     (32) raised to at least 600 s, 86400 s if absent (RFC 8415 §21.23), {@link Dhcp6Options#INFINITY} for never
 * @param solMaxRtSeconds the server's SOL_MAX_RT (82) if given within 60..86400, else null (for a
 *     later stateful client; this one does not Solicit)
 * @param acquiredNanos the monotonic time the Reply was received
 */
public record Dhcp6Info(
        Duid serverId,
        List<Ipv6Address> dnsServers,
        List<DnsName> searchList,
        long refreshSeconds,
        Long solMaxRtSeconds,
        long acquiredNanos) {

    public Dhcp6Info {
        Objects.requireNonNull(serverId, "serverId");
        dnsServers = List.copyOf(dnsServers);
        searchList = List.copyOf(searchList);
    }

    /** Whether the server said never to refresh. */
    public boolean infinite() {
        return refreshSeconds == Dhcp6Options.INFINITY;
    }
}
