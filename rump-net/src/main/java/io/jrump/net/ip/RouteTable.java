package io.jrump.net.ip;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * The IPv4 routing table: routes to prefixes through an interface, directly or via a gateway,
 * chosen by longest-prefix match (a lower metric breaks a tie, then the older route). A default
 * route is the prefix 0.0.0.0/0. Not thread-safe: the stack changes and reads it on its event
 * loop.
 */
public final class RouteTable {
    /** A route: {@code network/prefixLength} reached through {@code iface}, via {@code gateway} (ANY: on-link). */
    public record Route(Ipv4Address network, int prefixLength, Ipv4Address gateway, String iface, int metric) {
        public Route {
            Ipv4Address.mask(prefixLength); // checks the range
            if ((network.bits() & ~Ipv4Address.mask(prefixLength)) != 0) {
                throw new IllegalArgumentException(network + "/" + prefixLength + " has host bits set");
            }
        }

        public boolean matches(Ipv4Address dst) {
            return dst.inPrefix(network, prefixLength);
        }

        public boolean isDirect() {
            return gateway.isUnspecified();
        }

        @Override
        public String toString() {
            return network + "/" + prefixLength + (isDirect() ? "" : " via " + gateway) + " dev " + iface
                    + (metric != 0 ? " metric " + metric : "");
        }
    }

    private final List<Route> routes = new ArrayList<>();
    private final int limit;

    public RouteTable(int limit) {
        this.limit = limit;
    }

    public RouteTable() {
        this(4096);
    }

    /** Adds a route; {@code EEXIST} for the same prefix, gateway and interface, {@code ENOSPC} past the limit. */
    public void add(Route r) throws ErrnoException {
        for (Route x : routes) {
            if (x.network().equals(r.network()) && x.prefixLength() == r.prefixLength() && x.gateway().equals(r.gateway())
                    && x.iface().equals(r.iface())) {
                throw new ErrnoException(Errno.EEXIST, "route " + r);
            }
        }
        if (routes.size() >= limit) {
            throw new ErrnoException(Errno.ENOSPC, "routing table full (" + limit + " routes)");
        }
        routes.add(r);
    }

    /** Removes routes to a prefix (through {@code iface}, if not null); {@code ESRCH} if there were none. */
    public void remove(Ipv4Address network, int prefixLength, String iface) throws ErrnoException {
        boolean removed = routes.removeIf(r -> r.network().equals(network) && r.prefixLength() == prefixLength
                && (iface == null || r.iface().equals(iface)));
        if (!removed) {
            throw new ErrnoException(Errno.ESRCH, "no route to " + network + "/" + prefixLength);
        }
    }

    /** Removes exactly this route (prefix, gateway, interface and metric); false if there was none. */
    public boolean remove(Route r) {
        return routes.remove(r);
    }

    /** Removes every route through an interface (it went down or away). */
    public void removeInterface(String iface) {
        routes.removeIf(r -> r.iface().equals(iface));
    }

    /** The best route to {@code dst}: longest prefix, then lowest metric, then the oldest. */
    public Optional<Route> lookup(Ipv4Address dst) {
        Route best = null;
        for (Route r : routes) {
            if (r.matches(dst) && (best == null || r.prefixLength() > best.prefixLength()
                    || r.prefixLength() == best.prefixLength() && r.metric() < best.metric())) {
                best = r;
            }
        }
        return Optional.ofNullable(best);
    }

    public List<Route> routes() {
        return Collections.unmodifiableList(routes);
    }
}
