package io.jrump.net.stack;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.net.Ipv6Address;
import io.jrump.net.dhcp6.Dhcp6Info;
import io.jrump.net.dhcp6.Dhcp6InfoClient;
import io.jrump.net.dns.DnsName;
import io.jrump.net.ip.PathMtuCache;
import io.jrump.net.ip.Reassembly;
import io.jrump.net.ip.TokenBucket;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.ndp.NeighborCache;
import io.jrump.net.ndp.StableInterfaceId;
import io.jrump.net.wire.EtherType;
import io.jrump.net.wire.Icmpv6Packet;
import io.jrump.net.wire.Icmpv6Repr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv6ExtensionHeader;
import io.jrump.net.wire.Ipv6ExtensionHeader.FragmentHeader;
import io.jrump.net.wire.Ipv6ExtensionHeader.UnknownOptionAction;
import io.jrump.net.wire.Ipv6HeaderChain;
import io.jrump.net.wire.Ipv6Packet;
import io.jrump.net.wire.Ipv6Repr;
import io.jrump.net.wire.NdpOption;
import io.jrump.net.wire.UdpDatagram;
import io.jrump.net.wire.UdpRepr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * IPv6 of one stack (RFC 8200): input through the extension header chain with bounded
 * reassembly, ICMPv6 (RFC 4443: echo, errors sent rate-limited and received), neighbour
 * discovery (RFC 4861) and address autoconfiguration (RFC 4862, RFC 7217 identifiers) through
 * {@link Ipv6Link}, MLDv2 reports for the groups joined (RFC 3810), output with source address
 * selection (RFC 6724), fragmentation and Path MTU discovery (RFC 8201). A host, not a router:
 * packets for other addresses are dropped; redirects are ignored (counted). Runs on the stack's
 * event loop.
 */
final class Ipv6Layer {
    /** RFC 8200 §4.5: a datagram not reassembled within 60 seconds is dropped. */
    private static final long REASSEMBLY_TIMEOUT = 60_000_000_000L;
    /** The fixed header, the fragment header: what each fragment carries before its data. */
    private static final int FRAGMENT_OVERHEAD = Ipv6Packet.HEADER_LENGTH + FragmentHeader.LENGTH;

    /**
     * Neighbour cache limits: 64 packets may wait per neighbour (a 64 KiB datagram in fragments
     * must not lose its head to its tail; Linux keeps 101), and 64 neighbours may be unresolved at
     * once, so at most 4,096 packets of at most one MTU wait in all.
     */
    private static final NeighborCache.Config NEIGHBORS = new NeighborCache.Config(1024, 64, 64, 20L * 60 * 1_000_000_000L);

    private final NetStack stack;
    private final NetStats stats;
    private final Reassembly reassembly = new Reassembly(new Reassembly.Config(4 << 20, 64, REASSEMBLY_TIMEOUT));
    private final PathMtuCache pathMtu = new PathMtuCache();
    private final TokenBucket icmpErrors;
    private final StableInterfaceId ids;
    private final RandomGenerator random;
    /** Default routes configured by hand: gateway and interface (routers learnt from RAs live in each link). */
    private final List<StaticRoute> staticRoutes = new ArrayList<>();

    /** A route configured by hand: {@code prefix/length} through {@code gateway} (or on-link if unspecified). */
    record StaticRoute(Ipv6Address prefix, int length, Ipv6Address gateway, Interface iface) {
    }

    /** Where a packet goes: the interface, and the neighbour on it (the destination itself when on-link). */
    record Route(Interface iface, Ipv6Address nextHop) {
    }

    Ipv6Layer(NetStack stack) {
        this.stack = stack;
        this.stats = stack.statsCounter();
        this.icmpErrors = new TokenBucket(1_000_000, 50, stack.now());
        this.random = stack.host().random()::nextLong;
        byte[] secret = new byte[32]; // RFC 7217's secret_key: per boot here, as no state is kept between runs
        stack.host().random().nextBytes(secret);
        this.ids = new StableInterfaceId(secret);
    }

    // ---- configuration ----------------------------------------------------------------------------

    /**
     * Turns IPv6 on for an Ethernet interface: a link-local address (RFC 7217, or EUI-64) under DAD,
     * the all-nodes group, and with {@code slaac}, router solicitation and autoconfiguration from
     * advertisements. Nothing if it is on already (EEXIST if asked for SLAAC it does not have).
     */
    Ipv6Link enable(Interface i, Ipv6Options options) throws ErrnoException {
        if (i.v6 != null) {
            if (options.slaac() && !i.v6.acceptRouterAdvertisements) {
                throw new ErrnoException(Errno.EEXIST, "IPv6 is already on for " + i.name + ", without SLAAC");
            }
            return i.v6;
        }
        AddressAutoconfig.Config config = new AddressAutoconfig.Config(options.dadTransmits(), options.slaac(),
                options.identifiers(), Math.max(PathMtuCache.MINIMUM_MTU, i.mtu), 16, 8, 16, 8);
        AddressAutoconfig auto = new AddressAutoconfig(config, i.name, i.mac, ids, new byte[0], random);
        NeighborCache<ByteBuf> cache = new NeighborCache<>(NEIGHBORS, ByteBuf::release);
        Ipv6Link link = new Ipv6Link(i, auto, cache, options.slaac());
        i.v6 = link;
        apply(link, auto.start(stack.now()));
        return link;
    }

    void addAddress(Interface i, Ipv6Address address, int prefixLength) throws ErrnoException {
        Ipv6Link link = i.v6 != null ? i.v6 : enable(i, Ipv6Options.manual());
        apply(link, link.auto.addManual(address, prefixLength, stack.now()));
    }

    void removeAddress(Interface i, Ipv6Address address) throws ErrnoException {
        if (i.v6 == null || i.v6.auto.address(address) == null) {
            throw new ErrnoException(Errno.EADDRNOTAVAIL, i.name + " has no address " + address);
        }
        apply(i.v6, i.v6.auto.remove(address));
    }

    void addDefaultRoute(Interface i, Ipv6Address gateway) throws ErrnoException {
        if (!gateway.isLinkLocal() && !onLink(i, gateway)) {
            throw new ErrnoException(Errno.ENETUNREACH, "gateway " + gateway + " is not on " + i.name + "'s link");
        }
        StaticRoute r = new StaticRoute(Ipv6Address.UNSPECIFIED, 0, gateway, i);
        if (staticRoutes.contains(r)) {
            throw new ErrnoException(Errno.EEXIST, "default route via " + gateway);
        }
        staticRoutes.add(r);
    }

    // ---- addresses and routes -----------------------------------------------------------------------

    /** Whether {@code a} is a usable address of this stack: ::1, or assigned (DAD passed) on a link. */
    boolean isLocal(Ipv6Address a) {
        if (a.isLoopback()) {
            return true;
        }
        for (Interface i : stack.interfacesOnLoop()) {
            if (i.v6 != null && i.v6.owns(a)) {
                return true;
            }
        }
        return false;
    }

    /** The interface a link-scope destination is meant for: the source's, else the first with IPv6 on. */
    private Interface linkFor(Ipv6Address source) throws ErrnoException {
        Interface first = null;
        for (Interface i : stack.interfacesOnLoop()) {
            if (i.v6 == null || i.isLoopback()) {
                continue;
            }
            if (source != null && i.v6.auto.address(source) != null) {
                return i;
            }
            if (first == null) {
                first = i;
            }
        }
        if (first == null) {
            throw new ErrnoException(Errno.ENETUNREACH, "no interface has IPv6");
        }
        return first;
    }

    /** Whether {@code dst} is on {@code i}'s link: in an assigned address's prefix or an advertised on-link prefix. */
    private static boolean onLink(Interface i, Ipv6Address dst) {
        if (i.v6 == null) {
            return false;
        }
        for (AddressAutoconfig.Address a : i.v6.addresses()) {
            if (a.assigned() && a.prefixLength() < 128 && dst.inPrefix(a.address(), a.prefixLength())) {
                return true;
            }
        }
        for (AddressAutoconfig.Prefix p : i.v6.auto.onLinkPrefixes()) {
            if (dst.inPrefix(p.prefix(), p.length())) {
                return true;
            }
        }
        return false;
    }

    /**
     * The route to {@code dst} (from {@code source}, if known, for link-scope destinations): the
     * loopback for our own addresses; the link for link-local and multicast ones and for on-link
     * prefixes; else a configured route, else a default router learnt from advertisements,
     * preferring one whose neighbour entry is not known unreachable (RFC 4861 §6.3.6). No route
     * is ENETUNREACH: a destination is not assumed on-link (RFC 4943).
     */
    Route route(Ipv6Address dst, Ipv6Address source) throws ErrnoException {
        if (isLocal(dst)) {
            return new Route(stack.loopback(), dst);
        }
        if (dst.isLinkLocal() || dst.isMulticast()) {
            return new Route(linkFor(source), dst);
        }
        for (Interface i : stack.interfacesOnLoop()) {
            if (onLink(i, dst)) {
                return new Route(i, dst);
            }
        }
        StaticRoute best = null;
        for (StaticRoute r : staticRoutes) {
            if (dst.inPrefix(r.prefix(), r.length()) && (best == null || r.length() > best.length())) {
                best = r;
            }
        }
        if (best != null) {
            return new Route(best.iface(), best.gateway().isUnspecified() ? dst : best.gateway());
        }
        Route fallback = null;
        for (Interface i : stack.interfacesOnLoop()) {
            if (i.v6 == null) {
                continue;
            }
            for (Ipv6Address router : i.v6.auto.defaultRouters().keySet()) {
                NeighborCache.State s = i.v6.neighbors.state(router);
                if (s != null && s != NeighborCache.State.INCOMPLETE) {
                    return new Route(i, router);
                }
                if (fallback == null) {
                    fallback = new Route(i, router);
                }
            }
        }
        if (fallback != null) {
            return fallback;
        }
        throw new ErrnoException(Errno.ENETUNREACH, "no route to " + dst);
    }

    /** The source address for a packet to {@code dst} (RFC 6724 §5); EADDRNOTAVAIL if the interface has none usable. */
    Ipv6Address sourceFor(Ipv6Address dst) throws ErrnoException {
        return sourceFor(route(dst, null), dst);
    }

    private Ipv6Address sourceFor(Route route, Ipv6Address dst) throws ErrnoException {
        if (route.iface().isLoopback()) {
            return dst.isLoopback() ? Ipv6Address.LOOPBACK : dst; // our own address talks to itself
        }
        Ipv6Address best = SourceSelection.select(dst, route.iface().v6.addresses());
        if (best == null) {
            throw new ErrnoException(Errno.EADDRNOTAVAIL, route.iface().name + " has no usable IPv6 address for " + dst);
        }
        return best;
    }

    /** The MTU toward {@code dst}: the path's, as Packet Too Big messages lowered it, within the link's. */
    int pathMtu(Ipv6Address dst) throws ErrnoException {
        Route r = route(dst, null);
        int link = r.iface().isLoopback() ? r.iface().mtu : r.iface().v6.mtu();
        return pathMtu.mtu(dst, link, stack.now());
    }

    // ---- output ---------------------------------------------------------------------------------

    /**
     * Sends {@code payload} (released by this call) to {@code dst} as {@code protocol}, from
     * {@code src} (unspecified: chosen by RFC 6724), with {@code hopLimit} (-1: the link's, 1
     * for multicast), fragmented to the path MTU if it does not fit.
     */
    void output(Ipv6Address src, Ipv6Address dst, IpProtocol protocol, ByteBuf payload, int hopLimit) {
        try {
            Route route = route(dst, src.isUnspecified() ? null : src);
            Ipv6Address from = src.isUnspecified() ? sourceFor(route, dst) : src;
            send(route, from, dst, protocol, payload, hopLimit);
        } catch (ErrnoException e) {
            stats.count(e.errno() == Errno.ENETUNREACH ? "ip6.drop.no_route" : "ip6.drop.no_source");
            payload.release();
        }
    }

    private void send(Route route, Ipv6Address from, Ipv6Address dst, IpProtocol protocol, ByteBuf payload,
            int hopLimit) {
        Interface i = route.iface();
        int hops = hopLimit >= 0 ? hopLimit : dst.isMulticast() ? 1 : i.v6 != null ? i.v6.hopLimit() : NetStack.DEFAULT_TTL;
        int len = payload.readableBytes();
        int mtu = i.isLoopback() ? i.mtu : pathMtu.mtu(dst, i.v6.mtu(), stack.now());
        if (Ipv6Packet.HEADER_LENGTH + len <= mtu) {
            sendPacket(route, new Ipv6Repr(from, dst, protocol, len, hops), payload);
            return;
        }
        // RFC 8200 §4.5: only the source fragments; each fragment's data a multiple of 8 but the last.
        int per = (mtu - FRAGMENT_OVERHEAD) / 8 * 8;
        int id = (int) random.nextLong();
        for (int off = 0; off < len; off += per) {
            int n = Math.min(per, len - off);
            FragmentHeader f = new FragmentHeader(protocol, off, off + n < len, id);
            ByteBuf part = Unpooled.buffer(FragmentHeader.LENGTH + n);
            f.emit(part, 0);
            part.writerIndex(FragmentHeader.LENGTH);
            part.writeBytes(payload, payload.readerIndex() + off, n);
            sendPacket(route, new Ipv6Repr(from, dst, IpProtocol.IPV6_FRAGMENT, part.readableBytes(), hops), part);
        }
        stats.count("ip6.out.fragmented");
        payload.release();
    }

    /** Puts the fixed header in front of {@code body} (released by this call) and hands the packet to the link. */
    private void sendPacket(Route route, Ipv6Repr ip, ByteBuf body) {
        ByteBuf packet;
        if (body.readerIndex() >= Ipv6Packet.HEADER_LENGTH + io.jrump.net.wire.EthernetFrame.HEADER_LENGTH) {
            packet = body.readerIndex(body.readerIndex() - Ipv6Packet.HEADER_LENGTH); // headroom: no copy
            ip.emit(packet, packet.readerIndex());
        } else {
            packet = Unpooled.buffer(ip.totalLength());
            ip.emit(packet, 0);
            packet.writerIndex(Ipv6Packet.HEADER_LENGTH);
            packet.writeBytes(body);
            body.release();
        }
        stats.count("ip6.out");
        Interface i = route.iface();
        if (i.isLoopback()) {
            stack.host().scheduler().execute(() -> { // later, as if it came back in
                try {
                    input(i, packet, packet.readerIndex(), packet.readableBytes(), false, 0);
                } finally {
                    packet.release();
                }
            });
            return;
        }
        Ipv6Address hop = route.nextHop();
        if (hop.isMulticast()) {
            stack.ethernetOut(i, multicastMac(hop), EtherType.IPV6, packet);
            return;
        }
        NeighborCache.Resolution r = i.v6.neighbors.resolve(hop, packet, stack.now());
        if (r.resolved()) {
            stack.ethernetOut(i, r.mac(), EtherType.IPV6, packet);
        }
        if (r.solicit()) {
            solicit(i, hop, r.resolved() ? r.mac() : null);
        }
        stack.armTimer();
    }

    /** The Ethernet address of an IPv6 multicast group: 33:33 and the group's low 32 bits (RFC 2464 §7). */
    static MacAddress multicastMac(Ipv6Address group) {
        return MacAddress.of(0x3333_0000_0000L | (group.low() & 0xffff_ffffL));
    }

    /** Sends an ICMPv6 message built by the caller (an echo request from a ping socket, say). */
    void sendIcmp(Ipv6Address from, Ipv6Address to, Icmpv6Repr message) {
        ByteBuf b = Unpooled.buffer(NetStack.HEADROOM + message.bufferLength());
        try {
            Route route = route(to, from.isUnspecified() ? null : from);
            Ipv6Address src = from.isUnspecified() ? sourceFor(route, to) : from;
            message.emit(b, NetStack.HEADROOM, src, to);
            b.setIndex(NetStack.HEADROOM, NetStack.HEADROOM + message.bufferLength());
            send(route, src, to, IpProtocol.ICMPV6, b, -1);
        } catch (ErrnoException e) {
            stats.count("icmp6.drop.no_route");
            b.release();
        }
    }

    /** Neighbour discovery's messages go on the link with hop limit 255 (RFC 4861 §6.1, §7.1). */
    private void sendNd(Interface i, Ipv6Address from, Ipv6Address to, MacAddress toMac, Icmpv6Repr message) {
        int length = message.bufferLength();
        ByteBuf b = Unpooled.buffer(Ipv6Packet.HEADER_LENGTH + length);
        new Ipv6Repr(from, to, IpProtocol.ICMPV6, length, 255).emit(b, 0);
        message.emit(b, Ipv6Packet.HEADER_LENGTH, from, to);
        b.writerIndex(Ipv6Packet.HEADER_LENGTH + length);
        stats.count("icmp6.out.nd");
        stack.ethernetOut(i, toMac != null ? toMac : multicastMac(to), EtherType.IPV6, b);
    }

    /** A Neighbor Solicitation for {@code target}: multicast to its solicited-node group, or unicast to {@code mac} (PROBE). */
    private void solicit(Interface i, Ipv6Address target, MacAddress mac) {
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
    private static Ipv6Address sourceOnLink(Interface i, Ipv6Address target) {
        Ipv6Address chosen = SourceSelection.select(target, i.v6.addresses());
        return chosen != null ? chosen : i.v6.linkLocal();
    }

    // ---- timers and autoconfiguration --------------------------------------------------------------

    /** Runs the links' clocks; true while any has work pending. */
    boolean tick(long now) {
        boolean more = false;
        for (Interface i : stack.interfacesOnLoop()) {
            Ipv6Link link = i.v6;
            if (link == null) {
                continue;
            }
            NeighborCache.Tick<ByteBuf> t = link.neighbors.tick(now);
            for (NeighborCache.Solicitation s : t.solicit()) {
                solicit(i, s.target(), s.multicast() ? null : s.mac());
            }
            for (ByteBuf lost : t.unreachable()) {
                addressUnreachable(lost);
            }
            stats.add("nd.gave_up", t.gaveUp());
            apply(link, link.auto.tick(now));
            repeatReports(link);
            more |= link.neighbors.size() > 0 || link.auto.nextWakeup() != Long.MAX_VALUE
                    || !link.reportAgainJoined.isEmpty() || !link.reportAgainLeft.isEmpty();
        }
        reassembly.expire(now);
        return more || reassembly.datagramsInProgress() > 0;
    }

    /**
     * Acts on what autoconfiguration changed: joins and leaves (MLDv2 reports), DAD and router
     * solicitations, and the neighbour cache's timers; routes follow from the tables at once.
     */
    private void apply(Ipv6Link link, AddressAutoconfig.Changes c) {
        Interface i = link.iface;
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
        if (c.nextWakeup() != Long.MAX_VALUE) {
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
        stack.ethernetOut(link.iface, multicastMac(Ipv6Address.ALL_MLDV2_ROUTERS), EtherType.IPV6, b);
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
        send(new Route(link.iface, to), from, to, IpProtocol.UDP, b, -1);
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

    // ---- input ----------------------------------------------------------------------------------

    /**
     * An IPv6 packet at {@code [offset, offset + length)} of {@code buf}; {@code linkMulticast}
     * if its frame was sent to a multicast or broadcast Ethernet address (no ICMPv6 error answers
     * one, RFC 4443 §2.4 (e.3)); {@code rxFlags} the NIC's receive flags (already masked by its
     * offloads): with a checksum flag a TCP or UDP checksum is not verified, as for IPv4 — a
     * Linux TAP with TUN_F_CSUM hands over IPv6 segments whose checksum field holds only the
     * pseudo-header sum (NEEDS_CSUM), which verification would drop.
     */
    void input(Interface i, ByteBuf buf, int offset, int length, boolean linkMulticast, int rxFlags) {
        boolean checksumTrusted = (rxFlags & (FrameReceiver.RX_CHECKSUM_VALID | FrameReceiver.RX_CHECKSUM_PARTIAL)) != 0;
        Ipv6Packet packet;
        Ipv6Repr ip;
        Ipv6HeaderChain chain;
        try {
            packet = Ipv6Packet.parse(buf, offset, length);
            ip = Ipv6Repr.parse(packet);
            chain = Ipv6HeaderChain.walk(packet);
        } catch (ErrnoException e) {
            stats.count("ip6.drop.malformed");
            return;
        }
        stats.count("ip6.in");
        boolean forUs = i.isLoopback() ? isLocal(ip.destination()) || ip.destination().isMulticast()
                : i.v6 != null && (i.v6.accepts(ip.destination()) || i.v6.isTentative(ip.destination()));
        if (!forUs) {
            stats.count("ip6.drop.not_for_us");
            return;
        }
        Ipv6HeaderChain.Problem problem = chain.problem();
        if (problem != null) {
            stats.count("ip6.drop.header_problem");
            boolean answer = problem.action() == UnknownOptionAction.DISCARD_SEND_PARAMETER_PROBLEM
                    || problem.action() == UnknownOptionAction.DISCARD_SEND_PARAMETER_PROBLEM_UNLESS_MULTICAST
                    && !ip.destination().isMulticast();
            if (answer) {
                sendError(ip, buf, offset, length, linkMulticast && problem.action()
                        != UnknownOptionAction.DISCARD_SEND_PARAMETER_PROBLEM,
                        new Icmpv6Repr.ParameterProblem(problem.code(), problem.pointer(), quote(buf, offset, length)),
                        problem.action() == UnknownOptionAction.DISCARD_SEND_PARAMETER_PROBLEM);
            }
            return;
        }
        if (!chain.complete()) {
            reassemble(i, ip, buf, offset, chain);
            return;
        }
        if (i.v6 != null && !i.isLoopback() && i.v6.isTentative(ip.destination())
                && !chain.upperLayer().equals(IpProtocol.ICMPV6)) {
            stats.count("ip6.drop.tentative"); // RFC 4862 §5.4: only neighbour discovery for a tentative address
            return;
        }
        upperLayer(i, ip, chain, buf, offset, length, linkMulticast, checksumTrusted);
    }

    private void upperLayer(Interface i, Ipv6Repr ip, Ipv6HeaderChain chain, ByteBuf buf, int offset, int length,
            boolean linkMulticast, boolean checksumTrusted) {
        IpProtocol p = chain.upperLayer();
        int at = chain.upperLayerIndex();
        int n = chain.upperLayerLength();
        if (p.equals(IpProtocol.TCP)) {
            stack.tcpIn(ip, buf, at, n, checksumTrusted);
        } else if (p.equals(IpProtocol.UDP)) {
            udpIn(i, ip, buf, offset, length, buf.slice(at, n), linkMulticast, checksumTrusted);
        } else if (p.equals(IpProtocol.ICMPV6)) {
            icmpIn(i, ip, buf, at, n, offset, length, linkMulticast);
        } else if (p.equals(IpProtocol.IPV6_NO_NEXT_HEADER)) {
            stats.count("ip6.in.no_next_header");
        } else {
            stats.count("ip6.drop.unknown_protocol");
            // RFC 8200 §4: Parameter Problem code 1, pointing at the Next Header field naming it.
            int pointer = chain.headers().isEmpty() ? Ipv6Packet.NEXT_HEADER
                    : at - chain.headers().get(chain.headers().size() - 1).bufferLength() - offset;
            sendError(ip, buf, offset, length, linkMulticast, new Icmpv6Repr.ParameterProblem(
                    Ipv6HeaderChain.UNRECOGNIZED_NEXT_HEADER, pointer, quote(buf, offset, length)), false);
        }
    }

    /**
     * A fragment: its data joins its datagram's; once whole, the packet is rebuilt (the fixed
     * header with the fragment header's Next Header, then the data) and processed, once: a
     * fragment header inside reassembled data is refused (no nested reassembly).
     */
    private void reassemble(Interface i, Ipv6Repr ip, ByteBuf buf, int offset, Ipv6HeaderChain chain) {
        FragmentHeader f = chain.fragment();
        // The fragment's data starts after the fragment header (the first fragment's chain was walked on into it).
        int dataIndex = offset + Ipv6Packet.HEADER_LENGTH;
        for (Ipv6ExtensionHeader h : chain.headers()) {
            dataIndex += h.bufferLength();
            if (h == f) {
                break;
            }
        }
        int dataLength = offset + Ipv6Packet.HEADER_LENGTH + ip.payloadLength() - dataIndex;
        byte[] bytes = new byte[dataLength];
        buf.getBytes(dataIndex, bytes);
        byte[] whole = reassembly.add(ip.source(), ip.destination(), 0, f.identification(), f.fragmentOffset(),
                f.moreFragments(), bytes, stack.now());
        stack.armTimer();
        if (whole == null) {
            return;
        }
        if (whole.length > 0xffff) {
            stats.count("ip6.drop.reassembled_too_big");
            return;
        }
        stats.count("ip6.reassembled");
        // The unfragmentable part (only the fixed header is kept: options before the fragment header were processed).
        ByteBuf rebuilt = Unpooled.buffer(Ipv6Packet.HEADER_LENGTH + whole.length);
        new Ipv6Repr(ip.source(), ip.destination(), f.nextHeader(), whole.length, ip.hopLimit(), ip.trafficClass(),
                ip.flowLabel()).emit(rebuilt, 0);
        rebuilt.writerIndex(Ipv6Packet.HEADER_LENGTH);
        rebuilt.writeBytes(whole);
        Ipv6HeaderChain inner;
        Ipv6Repr innerIp;
        try {
            Ipv6Packet p = Ipv6Packet.parse(rebuilt, 0, rebuilt.readableBytes());
            innerIp = Ipv6Repr.parse(p);
            inner = Ipv6HeaderChain.walk(p);
        } catch (ErrnoException e) {
            stats.count("ip6.drop.malformed");
            return;
        }
        if (inner.problem() != null || inner.fragment() != null) {
            stats.count("ip6.drop.header_problem");
            return;
        }
        upperLayer(i, innerIp, inner, rebuilt, 0, rebuilt.readableBytes(), false, false); // flags spoke of one fragment
    }

    private void udpIn(Interface i, Ipv6Repr ip, ByteBuf packet, int offset, int length, ByteBuf data,
            boolean linkMulticast, boolean checksumTrusted) {
        UdpRepr repr;
        try {
            UdpDatagram d = UdpDatagram.parse(data);
            // Mandatory over IPv6: 0 fails, flags or not.
            if (d.checksum() == 0 || !checksumTrusted && !d.verifyChecksum(ip.source(), ip.destination())) {
                stats.count("udp.drop.bad_checksum");
                return;
            }
            repr = UdpRepr.parse(d, ip.source(), ip.destination(), false);
        } catch (ErrnoException e) {
            stats.count("udp.drop.malformed");
            return;
        }
        if (i.v6 != null && i.v6.dhcp6 != null && repr.destinationPort() == Dhcp6InfoClient.CLIENT_PORT
                && repr.sourcePort() == Dhcp6InfoClient.SERVER_PORT) {
            stats.count("dhcp6.in");
            i.v6.dhcp6.receive(repr.payload());
            return;
        }
        stats.count("udp.in");
        if (stack.udpIn6(ip, repr)) {
            return;
        }
        stats.count("udp.drop.no_port");
        if (!ip.destination().isMulticast()) {
            sendError(ip, packet, offset, length, linkMulticast, new Icmpv6Repr.DestinationUnreachable(
                    Icmpv6Repr.DestinationUnreachable.PORT_UNREACHABLE, quote(packet, offset, length)), false);
        }
    }

    private void icmpIn(Interface i, Ipv6Repr ip, ByteBuf buf, int at, int n, int offset, int length,
            boolean linkMulticast) {
        Icmpv6Packet packet;
        Icmpv6Repr icmp;
        try {
            packet = Icmpv6Packet.parse(buf, at, n);
            if (packet.type() == 130) { // Multicast Listener Query (RFC 3810 §5.1): answered with our groups
                if (packet.verifyChecksum(ip.source(), ip.destination()) && i.v6 != null && ip.source().isLinkLocal()) {
                    stats.count("mld.in.query");
                    report(i.v6, List.copyOf(i.v6.groups), List.of());
                }
                return;
            }
            icmp = Icmpv6Repr.parse(packet, ip);
        } catch (ErrnoException e) {
            stats.count(e.errno() == Errno.EPROTONOSUPPORT ? "icmp6.drop.unknown_type" : "icmp6.drop.malformed");
            return;
        }
        stats.count("icmp6.in");
        if (icmp instanceof Icmpv6Repr.Echo echo) {
            if (echo.request()) {
                Ipv6Address from = ip.destination().isMulticast() ? null : ip.destination();
                sendIcmp(from == null ? Ipv6Address.UNSPECIFIED : from, ip.source(),
                        new Icmpv6Repr.Echo(false, echo.identifier(), echo.sequence(), echo.data()));
                stats.count("icmp6.out.echo_reply");
            } else {
                stack.echoReplyIn(ip.source(), echo.identifier(), buf.slice(at, n));
            }
            return;
        }
        if (i.isLoopback() || i.v6 == null) {
            errorIn(icmp);
            return;
        }
        Ipv6Link link = i.v6;
        long now = stack.now();
        if (icmp instanceof Icmpv6Repr.NeighborSolicitation ns) {
            neighborSolicitationIn(link, ip, ns, now);
        } else if (icmp instanceof Icmpv6Repr.NeighborAdvertisement na) {
            stats.count("nd.in.advertisement");
            AddressAutoconfig.Changes c = link.auto.neighborAdvertisement(na, now);
            if (!c.duplicates().isEmpty() || link.auto.address(na.target()) != null) {
                apply(link, c);
                return;
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
                return;
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
            errorIn(icmp);
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

    /**
     * An ICMPv6 error about a packet we sent: a Packet Too Big lowers the path MTU (and TCP's
     * segment size toward it); a port or address unreachable reaches the connected UDP socket.
     */
    private void errorIn(Icmpv6Repr icmp) {
        if (icmp instanceof Icmpv6Repr.PacketTooBig ptb) {
            Quoted q = Quoted.of(ptb.original());
            if (q == null) {
                stats.count("icmp6.drop.bad_quote");
                return;
            }
            try {
                Route r = route(q.destination(), null);
                int link = r.iface().isLoopback() ? r.iface().mtu : r.iface().v6.mtu();
                int mtu = pathMtu.reported(q.destination(), ptb.mtu(), link, stack.now());
                if (mtu > 0) {
                    stats.count("ip6.pmtu.lowered");
                    stack.pathMtuLowered(q.destination(), mtu);
                }
            } catch (ErrnoException e) {
                stats.count("icmp6.drop.no_route");
            }
        } else if (icmp instanceof Icmpv6Repr.DestinationUnreachable u) {
            Quoted q = Quoted.of(u.original());
            if (q != null && q.protocol() == IpProtocol.UDP.value() && q.sourcePort() >= 0) {
                stack.udpUnreachable(q.source(), q.sourcePort(), q.destination(), q.destinationPort(),
                        u.code() == Icmpv6Repr.DestinationUnreachable.PORT_UNREACHABLE ? Errno.ECONNREFUSED
                                : Errno.EHOSTUNREACH);
            }
        }
    }

    /**
     * What an ICMPv6 error quotes of our packet (cut short, so not parsed as a whole packet): its
     * addresses, the Next Header of the fixed header and, if that is the upper layer and its first
     * 4 bytes are there, its ports (else -1). Null if the fixed header is not all there.
     */
    private record Quoted(Ipv6Address source, Ipv6Address destination, int protocol, int sourcePort, int destinationPort) {
        static Quoted of(ByteBuf original) {
            int at = original.readerIndex();
            if (original.readableBytes() < Ipv6Packet.HEADER_LENGTH || original.getUnsignedByte(at) >>> 4 != 6) {
                return null;
            }
            Ipv6Address src = new Ipv6Address(original.getLong(at + 8), original.getLong(at + 16));
            Ipv6Address dst = new Ipv6Address(original.getLong(at + 24), original.getLong(at + 32));
            boolean portsThere = original.readableBytes() >= Ipv6Packet.HEADER_LENGTH + 4;
            int ports = at + Ipv6Packet.HEADER_LENGTH;
            return new Quoted(src, dst, original.getUnsignedByte(at + Ipv6Packet.NEXT_HEADER),
                    portsThere ? original.getUnsignedShort(ports) : -1, portsThere ? original.getUnsignedShort(ports + 2) : -1);
        }
    }

    /** A packet that waited for a neighbour who never answered: address unreachable to its sender, if that is not us. */
    private void addressUnreachable(ByteBuf lost) {
        try {
            Ipv6Packet p = Ipv6Packet.parse(lost, lost.readerIndex(), lost.readableBytes());
            Ipv6Repr ip = Ipv6Repr.parse(p);
            if (!isLocal(ip.source())) {
                sendError(ip, lost, lost.readerIndex(), lost.readableBytes(), false, new Icmpv6Repr.DestinationUnreachable(
                        Icmpv6Repr.DestinationUnreachable.ADDRESS_UNREACHABLE, quote(lost, lost.readerIndex(),
                                lost.readableBytes())), false);
            } else {
                stats.count("ip6.drop.neighbor_unreachable");
            }
        } catch (ErrnoException e) {
            stats.count("ip6.drop.neighbor_unreachable");
        } finally {
            lost.release();
        }
    }

    /** As much of a packet as an error may quote (RFC 4443 §2.4 (c)), copied. */
    private static ByteBuf quote(ByteBuf buf, int offset, int length) {
        return Unpooled.copiedBuffer(buf.slice(offset, Math.min(length, Icmpv6Repr.MAX_ORIGINAL)));
    }

    /**
     * Sends an ICMPv6 error about a received packet, unless RFC 4443 §2.4 (e) forbids it: in answer
     * to an error or a redirect, to a multicast destination or link-layer multicast (unless
     * {@code evenToMulticast}: Packet Too Big, and Parameter Problem for an option whose bits ask),
     * or to an unspecified or multicast source. Rate-limited (§2.4 (f)).
     */
    private void sendError(Ipv6Repr ip, ByteBuf packet, int offset, int length, boolean linkMulticast,
            Icmpv6Repr error, boolean evenToMulticast) {
        if (ip.source().isUnspecified() || ip.source().isMulticast()
                || !evenToMulticast && (ip.destination().isMulticast() || linkMulticast) || isErrorOrRedirect(ip, packet, offset)) {
            stats.count("icmp6.drop.error_not_sent");
            return;
        }
        if (!icmpErrors.tryTake(stack.now())) {
            stats.count("icmp6.drop.rate_limited");
            return;
        }
        Ipv6Address from = ip.destination().isMulticast() || !isLocal(ip.destination()) ? Ipv6Address.UNSPECIFIED
                : ip.destination();
        stats.count("icmp6.out.error");
        sendIcmp(from, ip.source(), error);
    }

    private static boolean isErrorOrRedirect(Ipv6Repr ip, ByteBuf packet, int offset) {
        try {
            Ipv6HeaderChain chain = Ipv6HeaderChain.walk(Ipv6Packet.parse(packet, offset, Ipv6Packet.HEADER_LENGTH
                    + ip.payloadLength()));
            if (!chain.upperLayer().equals(IpProtocol.ICMPV6) || chain.upperLayerLength() < 1) {
                return false;
            }
            int type = packet.getUnsignedByte(chain.upperLayerIndex());
            return type < 128 || type == Icmpv6Packet.TYPE_REDIRECT;
        } catch (ErrnoException e) {
            return false;
        }
    }
}
