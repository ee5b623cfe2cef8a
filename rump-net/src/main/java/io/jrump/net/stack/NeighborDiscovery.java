package io.jrump.net.stack;

import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.dhcp6.Dhcp6Info;
import io.jrump.net.dhcp6.Dhcp6InfoClient;
import io.jrump.net.dns.DnsName;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.ndp.NeighborCache;
import io.jrump.net.wire.EtherType;
import io.jrump.net.wire.Icmpv6Repr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv6ExtensionHeader;
import io.jrump.net.wire.Ipv6Packet;
import io.jrump.net.wire.Ipv6Repr;
import io.jrump.net.wire.NdpOption;
import io.jrump.net.wire.UdpRepr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The control plane of IPv6 links for {@link Ipv6Layer}: neighbour discovery (RFC 4861:
 * solicitations and advertisements, the neighbour cache's timers, router advertisements),
 * what autoconfiguration asks for (DAD and router solicitations, RFC 4862), MLDv2 reports for the
 * groups the links listen to (RFC 3810), and the stateless DHCPv6 client a router's O flag starts
 * (RFC 8415). Runs on the stack's event loop.
 */
final class NeighborDiscovery {
    private final NetStack stack;
    private final NetStats stats;
    private final Ipv6Layer layer;

    NeighborDiscovery(NetStack stack, Ipv6Layer layer) {
        this.stack = stack;
        this.stats = stack.statsCounter();
        this.layer = layer;
    }

    /**
     * Runs one link's clocks: neighbour solicitations retried or given up ({@code unreachable}
     * takes the packets that waited), autoconfiguration's timers, repeated reports. Returns when
     * the link needs it next.
     */
    long tick(Ipv6Link link, long now, Consumer<ByteBuf> unreachable) {
        Interface i = link.iface;
        NeighborCache.Tick<ByteBuf> t = link.neighbors.tick(now);
        for (NeighborCache.Solicitation s : t.solicit()) {
            solicit(i, s.target(), s.multicast() ? null : s.mac());
        }
        t.unreachable().forEach(unreachable);
        stats.add("nd.gave_up", t.gaveUp());
        apply(link, link.auto.tick(now));
        repeatReports(link);
        return Math.min(link.neighbors.nextDeadline(), link.auto.nextWakeup());
    }

    /**
     * A neighbour discovery message for {@code link} (RFC 4861): solicitations answered, DAD
     * conflicts, advertisements for the neighbour cache, router advertisements for
     * autoconfiguration (when the link takes them); solicitations from other hosts and redirects
     * dropped (counted). False if {@code icmp} is not neighbour discovery.
     */
    boolean icmpIn(Ipv6Link link, Ipv6Repr ip, Icmpv6Repr icmp) {
        Interface i = link.iface;
        long now = stack.now();
        if (icmp instanceof Icmpv6Repr.NeighborSolicitation ns) {
            neighborSolicitationIn(link, ip, ns, now);
        } else if (icmp instanceof Icmpv6Repr.NeighborAdvertisement na) {
            stats.count("nd.in.advertisement");
            AddressAutoconfig.Changes c = link.auto.neighborAdvertisement(na, now);
            if (!c.duplicates().isEmpty() || link.auto.address(na.target()) != null) {
                apply(link, c);
                return true;
            }
            NeighborCache.Advertised<ByteBuf> a = link.neighbors.advertisementSeen(na.target(), targetMac(na.options()),
                    na.router(), na.solicited(), na.override(), now);
            flush(i, na.target(), a.sendable());
            if (a.noLongerRouter()) {
                stats.count("nd.router_gone"); // RFC 4861 §7.2.5: it is no default router any more
                apply(link, link.auto.removeRouter(na.target()));
            }
        } else if (icmp instanceof Icmpv6Repr.RouterAdvertisement ra) {
            stats.count("nd.in.router_advertisement");
            if (!link.acceptRouterAdvertisements) {
                return true;
            }
            MacAddress mac = sourceMac(ra.options());
            if (mac != null) {
                flush(i, ip.source(), link.neighbors.routerSeen(ip.source(), mac, now));
            }
            apply(link, link.auto.routerAdvertisement(ip.source(), ra, now));
        } else if (icmp instanceof Icmpv6Repr.RouterSolicitation) {
            stats.count("nd.drop.router_solicitation"); // a host answers none
        } else if (icmp instanceof Icmpv6Repr.Redirect r) {
            link.auto.redirect(r);
            stats.count("nd.drop.redirect"); // not honoured: documented in docs/rump-net.md
        } else {
            return false;
        }
        return true;
    }

    /** A Multicast Listener Query (RFC 3810 §5.1): answered with a report of every group listened to. */
    void queryIn(Ipv6Link link) {
        stats.count("mld.in.query");
        report(link, List.copyOf(link.groups), List.of());
    }

    /** Neighbour discovery's messages go on the link with hop limit 255 (RFC 4861 §6.1, §7.1). */
    private void sendNd(Interface i, Ipv6Address from, Ipv6Address to, MacAddress toMac, Icmpv6Repr message) {
        int length = message.bufferLength();
        ByteBuf b = Unpooled.buffer(Ipv6Packet.HEADER_LENGTH + length);
        new Ipv6Repr(from, to, IpProtocol.ICMPV6, length, 255).emit(b, 0);
        message.emit(b, Ipv6Packet.HEADER_LENGTH, from, to);
        b.writerIndex(Ipv6Packet.HEADER_LENGTH + length);
        stats.count("icmp6.out.nd");
        stack.ethernetOut(i, toMac != null ? toMac : Ipv6Layer.multicastMac(to), EtherType.IPV6, b);
    }

    /** A Neighbor Solicitation for {@code target}: multicast to its solicited-node group, or unicast to {@code mac} (PROBE). */
    void solicit(Interface i, Ipv6Address target, MacAddress mac) {
        Ipv6Address from = sourceOnLink(i, target);
        if (from == null) {
            stats.count("icmp6.drop.ns_without_source");
            return;
        }
        Ipv6Address to = mac == null ? target.solicitedNode() : target;
        sendNd(i, from, to, mac, new Icmpv6Repr.NeighborSolicitation(target,
                List.of(new NdpOption.SourceLinkLayerAddress(i.mac))));
    }

    /** An assigned address of {@code i} to solicit from: one in {@code target}'s prefix, else the link-local. */
    static Ipv6Address sourceOnLink(Interface i, Ipv6Address target) {
        Ipv6Address chosen = SourceSelection.select(target, i.v6.addresses());
        return chosen != null ? chosen : i.v6.linkLocal();
    }

    /**
     * Acts on what autoconfiguration changed: joins and leaves (MLDv2 reports), DAD and router
     * solicitations, and the neighbour cache's timers; routes follow from the tables at once.
     */
    void apply(Ipv6Link link, AddressAutoconfig.Changes c) {
        Interface i = link.iface;
        if (!c.isEmpty()) {
            link.addressesChanged();
        }
        for (Ipv6Address g : c.join()) {
            if (link.groups.add(g)) {
                report(link, List.of(g), List.of());
                link.reportAgainJoined.add(g);
            }
        }
        for (AddressAutoconfig.DadSolicitation d : c.neighborSolicitations()) {
            stats.count("nd.out.dad");
            sendNd(i, d.source(), d.destination(), null, new Icmpv6Repr.NeighborSolicitation(d.target(), List.of()));
        }
        for (AddressAutoconfig.RouterSolicitation r : c.routerSolicitations()) {
            stats.count("nd.out.router_solicitation");
            List<NdpOption> options = r.source().isUnspecified() ? List.of()
                    : List.of(new NdpOption.SourceLinkLayerAddress(i.mac));
            sendNd(i, r.source(), r.destination(), null, new Icmpv6Repr.RouterSolicitation(options));
        }
        for (Ipv6Address g : c.leave()) {
            if (link.groups.remove(g)) {
                report(link, List.of(), List.of(g));
                link.reportAgainJoined.remove(g);
                link.reportAgainLeft.add(g);
            }
        }
        stats.add("nd.dad.duplicate", c.duplicates().size());
        stats.add("nd.address.preferred", c.preferred().size());
        stats.add("nd.address.removed", c.removed().size());
        if (c.parametersChanged()) {
            link.neighbors.setReachableTime(link.auto.reachableTime());
            link.neighbors.setRetransTimer(link.auto.retransTimer());
            if ((link.auto.otherConfig() || link.auto.managed()) && link.dhcp6 == null && link.acceptRouterAdvertisements) {
                startDhcp6(link);
            }
        }
        if (!c.isEmpty()) {
            stack.topologyChanged();
        }
        if (c.dnsChanged()) {
            stack.dnsServersChanged();
        }
        stack.armTimerAt(c.nextWakeup());
        if (!link.reportAgainJoined.isEmpty() || !link.reportAgainLeft.isEmpty()) {
            stack.armTimer();
        }
    }

    /**
     * An MLDv2 report (RFC 3810 §5.2) of groups joined (CHANGE_TO_EXCLUDE, no sources) and left
     * (CHANGE_TO_INCLUDE), to ff02::16 with hop limit 1 and a Router Alert, from the link-local
     * address or :: before it has one (§5.2.13). The all-nodes group is never reported (§6).
     */
    private void report(Ipv6Link link, List<Ipv6Address> joined, List<Ipv6Address> left) {
        List<Icmpv6Repr.MulticastAddressRecord> records = new ArrayList<>();
        for (Ipv6Address g : joined) {
            if (!g.equals(Ipv6Address.ALL_NODES)) {
                records.add(new Icmpv6Repr.MulticastAddressRecord(4, g, List.of()));
            }
        }
        for (Ipv6Address g : left) {
            records.add(new Icmpv6Repr.MulticastAddressRecord(3, g, List.of()));
        }
        if (records.isEmpty()) {
            return;
        }
        Ipv6Address from = link.linkLocal();
        if (from == null) {
            from = Ipv6Address.UNSPECIFIED;
        }
        Icmpv6Repr.Mldv2Report report = new Icmpv6Repr.Mldv2Report(records);
        Ipv6ExtensionHeader.OptionsHeader hopByHop = new Ipv6ExtensionHeader.OptionsHeader(true, IpProtocol.ICMPV6,
                List.of(new Ipv6ExtensionHeader.Option(Ipv6ExtensionHeader.Option.ROUTER_ALERT,
                        Unpooled.wrappedBuffer(new byte[] {0, 0}))));
        int h = hopByHop.bufferLength();
        int length = h + report.bufferLength();
        ByteBuf b = Unpooled.buffer(Ipv6Packet.HEADER_LENGTH + length);
        new Ipv6Repr(from, Ipv6Address.ALL_MLDV2_ROUTERS, IpProtocol.HOP_BY_HOP, length, 1).emit(b, 0);
        hopByHop.emit(b, Ipv6Packet.HEADER_LENGTH);
        report.emit(b, Ipv6Packet.HEADER_LENGTH + h, from, Ipv6Address.ALL_MLDV2_ROUTERS);
        b.writerIndex(Ipv6Packet.HEADER_LENGTH + length);
        stats.count("mld.out.report");
        stack.ethernetOut(link.iface, Ipv6Layer.multicastMac(Ipv6Address.ALL_MLDV2_ROUTERS), EtherType.IPV6, b);
    }

    /** The second sending of each state-change report (Robustness Variable 2), one tick after the first. */
    private void repeatReports(Ipv6Link link) {
        if (link.reportAgainJoined.isEmpty() && link.reportAgainLeft.isEmpty()) {
            return;
        }
        report(link, List.copyOf(link.reportAgainJoined), List.copyOf(link.reportAgainLeft));
        link.reportAgainJoined.clear();
        link.reportAgainLeft.clear();
    }

    /**
     * The stateless DHCPv6 client (RFC 8415 §18.2.6) a router's O or M flag asks for: it asks
     * ff02::1:2 from the link-local address for DNS servers and a search list, and refreshes them.
     * Addresses from DHCPv6 (stateful, IA_NA) are not asked for: the M flag gets only this.
     */
    private void startDhcp6(Ipv6Link link) {
        stats.count("dhcp6.start");
        link.dhcp6 = new Dhcp6InfoClient(stack.host(), link.iface.mac, payload -> sendDhcp6(link, payload),
                new Dhcp6InfoClient.Listener() {
                    @Override
                    public void configured(Dhcp6Info info) {
                        link.dhcp6Info = info;
                        stats.count("dhcp6.configured");
                        stack.dnsServersChanged();
                    }

                    @Override
                    public void removed(Dhcp6Info info) {
                        link.dhcp6Info = null;
                        stack.dnsServersChanged();
                    }
                });
        link.dhcp6.start();
    }

    private void sendDhcp6(Ipv6Link link, ByteBuf payload) {
        Ipv6Address from = link.linkLocal();
        if (from == null || stack.isStopped()) {
            stats.count("dhcp6.drop.no_link_local");
            payload.release();
            return;
        }
        Ipv6Address to = Dhcp6InfoClient.ALL_DHCP_RELAY_AGENTS_AND_SERVERS;
        UdpRepr udp = new UdpRepr(Dhcp6InfoClient.CLIENT_PORT, Dhcp6InfoClient.SERVER_PORT, payload);
        ByteBuf b = Unpooled.buffer(udp.bufferLength());
        udp.emit(b, 0, from, to);
        b.writerIndex(udp.bufferLength());
        payload.release();
        stats.count("dhcp6.out");
        layer.send(new Ipv6Layer.Route(link.iface, to), from, to, IpProtocol.UDP, b, -1);
    }

    /**
     * Every DNS server the links were given: by router advertisements (RDNSS, RFC 8106) and
     * stateless DHCPv6, unexpired.
     */
    List<Ipv6Address> advertisedDnsServers() {
        List<Ipv6Address> out = new ArrayList<>();
        for (Interface i : stack.interfacesOnLoop()) {
            if (i.v6 != null) {
                out.addAll(i.v6.auto.dnsServers().keySet());
                if (i.v6.dhcp6Info != null) {
                    out.addAll(i.v6.dhcp6Info.dnsServers());
                }
            }
        }
        return out;
    }

    /** The search domains stateless DHCPv6 gave the links. */
    List<DnsName> advertisedSearchList() {
        List<DnsName> out = new ArrayList<>();
        for (Interface i : stack.interfacesOnLoop()) {
            if (i.v6 != null && i.v6.dhcp6Info != null) {
                out.addAll(i.v6.dhcp6Info.searchList());
            }
        }
        return out;
    }

    /** Stops the links' DHCPv6 clients (the kernel stops). */
    void stop() {
        for (Interface i : stack.interfacesOnLoop()) {
            if (i.v6 != null && i.v6.dhcp6 != null) {
                i.v6.dhcp6.stop();
            }
        }
    }

    private void neighborSolicitationIn(Ipv6Link link, Ipv6Repr ip, Icmpv6Repr.NeighborSolicitation ns, long now) {
        stats.count("nd.in.solicitation");
        Interface i = link.iface;
        AddressAutoconfig.Address target = link.auto.address(ns.target());
        if (target == null) {
            return; // not ours (we answer for no one else)
        }
        if (target.state() == AddressAutoconfig.AddressState.TENTATIVE
                || target.state() == AddressAutoconfig.AddressState.DUPLICATE) {
            apply(link, link.auto.neighborSolicitation(ip.source(), ns, now));
            return; // RFC 4862 §5.4.3: no answer for a tentative address
        }
        MacAddress mac = sourceMac(ns.options());
        if (ip.source().isUnspecified()) {
            // Someone's DAD for an address we hold: tell everyone it is taken (RFC 4861 §7.2.4).
            sendNd(i, ns.target(), Ipv6Address.ALL_NODES, null, new Icmpv6Repr.NeighborAdvertisement(false, false, true,
                    ns.target(), List.of(new NdpOption.TargetLinkLayerAddress(i.mac))));
            return;
        }
        if (mac != null) {
            flush(i, ip.source(), link.neighbors.solicitationSeen(ip.source(), mac, now));
        }
        MacAddress to = mac;
        if (to == null) {
            NeighborCache.Neighbor known = link.neighbors.snapshot().get(ip.source());
            to = known != null ? known.mac() : null;
        }
        if (to == null) {
            stats.count("nd.drop.solicitation_unanswerable"); // unicast NS without SLLA from an unknown neighbour
            return;
        }
        stats.count("nd.out.advertisement");
        sendNd(i, ns.target(), ip.source(), to, new Icmpv6Repr.NeighborAdvertisement(false, true, true, ns.target(),
                List.of(new NdpOption.TargetLinkLayerAddress(i.mac))));
    }

    private void flush(Interface i, Ipv6Address neighbor, List<ByteBuf> waiting) {
        if (waiting.isEmpty()) {
            return;
        }
        NeighborCache.Neighbor n = i.v6.neighbors.snapshot().get(neighbor);
        for (ByteBuf p : waiting) {
            if (n == null || n.mac() == null) {
                p.release();
            } else {
                stack.ethernetOut(i, n.mac(), EtherType.IPV6, p);
            }
        }
    }

    private static MacAddress sourceMac(List<NdpOption> options) {
        for (NdpOption o : options) {
            if (o instanceof NdpOption.SourceLinkLayerAddress s) {
                return s.address();
            }
        }
        return null;
    }

    private static MacAddress targetMac(List<NdpOption> options) {
        for (NdpOption o : options) {
            if (o instanceof NdpOption.TargetLinkLayerAddress t) {
                return t.address();
            }
        }
        return null;
    }
}
