package io.jrump.net.dns;

import java.time.Duration;
import java.util.List;

/**
 * What a {@link DnsResolver} asks whom and how long it remembers, after resolv.conf(5).
 *
 * @param servers tried in order, each try waiting {@code timeout} (at most 30 s), the whole list
 *     {@code attempts} (1..5) times
 * @param search domains appended to names with fewer than {@code ndots} dots before trying them as
 *     given, and after for the others (a final dot: as given only)
 * @param udpPayloadSize advertised in the OPT record of every query (RFC 6891); 0 sends no OPT
 * @param cacheEntries the most (name, type) answers kept; the least recently used go first
 * @param maxTtl cap on a positive answer's TTL in the cache
 * @param maxNegativeTtl cap on a negative answer's TTL (RFC 2308 §5: from the SOA)
 * @param maxCnames the longest CNAME chain followed
 */
public record DnsConfig(List<DnsServer> servers, List<DnsName> search, int ndots, Duration timeout, int attempts,
        int udpPayloadSize, int cacheEntries, Duration maxTtl, Duration maxNegativeTtl, int maxCnames) {
    public DnsConfig {
        servers = List.copyOf(servers);
        search = List.copyOf(search);
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("a resolver needs at least one name server");
        }
        if (ndots < 0 || ndots > 15 || attempts < 1 || attempts > 5 || cacheEntries < 0 || maxCnames < 0
                || maxCnames > 16 || udpPayloadSize < 0 || udpPayloadSize > 0xffff
                || (udpPayloadSize != 0 && udpPayloadSize < 512)) {
            throw new IllegalArgumentException("DNS config out of range: " + ndots + " ndots, " + attempts
                    + " attempts, " + cacheEntries + " cache entries, " + maxCnames + " CNAMEs, payload " + udpPayloadSize);
        }
        // resolv.conf caps its timeout at 30 s; a TTL cap beyond the 32-bit TTL field means nothing
        if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(Duration.ofSeconds(30)) > 0
                || maxTtl.isNegative() || maxNegativeTtl.isNegative() || maxTtl.getSeconds() > 0xffffffffL
                || maxNegativeTtl.getSeconds() > 0xffffffffL) {
            throw new IllegalArgumentException("DNS timeout " + timeout + " not in (0, 30 s], or TTL cap "
                    + maxTtl + "/" + maxNegativeTtl + " negative or over 2^32 s");
        }
    }

    /**
     * resolv.conf's defaults: no search list, ndots 1, timeout 5 s, 2 attempts; 1232-byte EDNS
     * payload (the 2020 DNS flag day's size, which avoids fragmentation); 512 cache entries, TTLs
     * capped at one day, negative ones at one hour; CNAME chains of at most 8.
     */
    public static DnsConfig of(List<DnsServer> servers) {
        return new DnsConfig(servers, List.of(), 1, Duration.ofSeconds(5), 2, 1232, 512, Duration.ofDays(1),
                Duration.ofHours(1), 8);
    }

    public DnsConfig withSearch(List<DnsName> domains) {
        return new DnsConfig(servers, domains, ndots, timeout, attempts, udpPayloadSize, cacheEntries, maxTtl,
                maxNegativeTtl, maxCnames);
    }

    public DnsConfig withTimeout(Duration perTry, int tries) {
        return new DnsConfig(servers, search, ndots, perTry, tries, udpPayloadSize, cacheEntries, maxTtl,
                maxNegativeTtl, maxCnames);
    }

    public DnsConfig withCache(int entries, Duration ttlCap, Duration negativeTtlCap) {
        return new DnsConfig(servers, search, ndots, timeout, attempts, udpPayloadSize, entries, ttlCap,
                negativeTtlCap, maxCnames);
    }

    public DnsConfig withUdpPayloadSize(int size) {
        return new DnsConfig(servers, search, ndots, timeout, attempts, size, cacheEntries, maxTtl, maxNegativeTtl,
                maxCnames);
    }
}
