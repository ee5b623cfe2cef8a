package io.jrump.net.stack;

import io.jrump.net.Ipv6Address;
import io.jrump.net.dhcp6.Dhcp6Info;
import io.jrump.net.dhcp6.Dhcp6InfoClient;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.ndp.NeighborCache;
import io.netty.buffer.ByteBuf;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * IPv6 on one interface: its addresses and what it learnt from routers ({@link AddressAutoconfig},
 * which runs duplicate address detection on every address), its neighbour cache, and the
 * multicast groups it listens to. Owned by the event loop; {@link Ipv6Layer} drives it.
 */
final class Ipv6Link {
    final Interface iface;
    final AddressAutoconfig auto;
    final NeighborCache<ByteBuf> neighbors;
    /** Whether router advertisements configure the link (SLAAC, routers, prefixes, RDNSS). */
    final boolean acceptRouterAdvertisements;
    /** Groups listened to: all-nodes, and the solicited-node group of every address (tentative ones too). */
    final Set<Ipv6Address> groups = new LinkedHashSet<>();
    /** Groups whose MLDv2 state-change report is still to be repeated once (RFC 3810 §6.1: robustness 2). */
    final Set<Ipv6Address> reportAgainJoined = new LinkedHashSet<>();
    final Set<Ipv6Address> reportAgainLeft = new LinkedHashSet<>();
    /** The stateless DHCPv6 client, started when a router advertises the O (or M) flag; or null. */
    Dhcp6InfoClient dhcp6;
    /** What it last configured, or null. */
    Dhcp6Info dhcp6Info;

    Ipv6Link(Interface iface, AddressAutoconfig auto, NeighborCache<ByteBuf> neighbors, boolean acceptRouterAdvertisements) {
        this.iface = iface;
        this.auto = auto;
        this.neighbors = neighbors;
        this.acceptRouterAdvertisements = acceptRouterAdvertisements;
        groups.add(Ipv6Address.ALL_NODES);
    }

    /**
     * The addresses assigned here (DAD passed), as of the last change autoconfiguration reported:
     * every packet in asks, and {@code auto.address} builds a view per call.
     */
    private Set<Ipv6Address> assigned = Set.of();
    /** The addresses still under duplicate address detection, likewise. */
    private Set<Ipv6Address> tentative = Set.of();
    /** The address table as of the last change, for readers off the event loop ({@link Interface#ipv6Addresses()}). */
    private volatile List<AddressAutoconfig.Address> published = List.of();

    /** Re-reads {@link #assigned} and {@link #tentative}: Ipv6Layer calls it whenever autoconfiguration reports a change. */
    void addressesChanged() {
        Set<Ipv6Address> nowAssigned = new HashSet<>();
        Set<Ipv6Address> nowTentative = new HashSet<>();
        for (AddressAutoconfig.Address a : auto.addresses()) {
            if (a.assigned()) {
                nowAssigned.add(a.address());
            } else if (a.state() == AddressAutoconfig.AddressState.TENTATIVE) {
                nowTentative.add(a.address());
            }
        }
        assigned = nowAssigned;
        tentative = nowTentative;
        published = List.copyOf(auto.addresses());
    }

    /** The address table as of the last change: safe to read from any thread. */
    List<AddressAutoconfig.Address> publishedAddresses() {
        return published;
    }

    /** Whether {@code a} is assigned here (preferred or deprecated: DAD passed). */
    boolean owns(Ipv6Address a) {
        return assigned.contains(a);
    }

    /** Whether {@code a} is here and still under duplicate address detection. */
    boolean isTentative(Ipv6Address a) {
        return !tentative.isEmpty() && tentative.contains(a);
    }

    /** Whether a packet to {@code dst} is for this link: an assigned address, or a group it listens to. */
    boolean accepts(Ipv6Address dst) {
        return dst.isMulticast() ? groups.contains(dst) : owns(dst);
    }

    List<AddressAutoconfig.Address> addresses() {
        return auto.addresses();
    }

    /** The assigned link-local address, preferred first, or null. */
    Ipv6Address linkLocal() {
        Ipv6Address deprecated = null;
        for (AddressAutoconfig.Address a : auto.addresses()) {
            if (a.address().isLinkLocal() && a.assigned()) {
                if (a.state() == AddressAutoconfig.AddressState.PREFERRED) {
                    return a.address();
                }
                deprecated = a.address();
            }
        }
        return deprecated;
    }

    /** The hop limit for unicast packets: the router's CurHopLimit, else 64. */
    int hopLimit() {
        int h = auto.curHopLimit();
        return h > 0 ? h : NetStack.DEFAULT_TTL;
    }

    /** The link MTU: the NIC's (or the interface's), lowered by a router's MTU option. */
    int mtu() {
        return Math.min(iface.mtu, auto.mtu());
    }
}
