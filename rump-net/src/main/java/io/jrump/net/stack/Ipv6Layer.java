package io.jrump.net.stack;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.net.Ipv6Address;
import io.jrump.net.dhcp6.Dhcp6InfoClient;
import io.jrump.net.ip.PathMtuCache;
import io.jrump.net.ip.Reassembly;
import io.jrump.net.ip.TokenBucket;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.ndp.NeighborCache;
import io.jrump.net.ndp.StableInterfaceId;
import io.jrump.net.wire.EtherType;
import io.jrump.net.wire.EthernetFrame;
import io.jrump.net.wire.Icmpv6Packet;
import io.jrump.net.wire.Icmpv6Repr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv6ExtensionHeader;
import io.jrump.net.wire.Ipv6ExtensionHeader.FragmentHeader;
import io.jrump.net.wire.Ipv6ExtensionHeader.UnknownOptionAction;
import io.jrump.net.wire.Ipv6HeaderChain;
import io.jrump.net.wire.Ipv6Packet;
import io.jrump.net.wire.Ipv6Repr;
import io.jrump.net.wire.UdpDatagram;
import io.jrump.net.wire.UdpRepr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;

/**
 * IPv6 of one stack (RFC 8200): input through the extension header chain with bounded
 * reassembly, ICMPv6 (RFC 4443: echo, errors sent rate-limited and received), routes, output
 * with source address selection (RFC 6724), fragmentation and Path MTU discovery (RFC 8201).
 * Each interface's state is an {@link Ipv6Link}; neighbour discovery, autoconfiguration's
 * messages, MLDv2 reports and DHCPv6 are {@link NeighborDiscovery}'s. A host, not a router:
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
    /** {@code ip6.in} and {@code ip6.out}, counted per packet through their handles (no lookup by name). */
    private final AtomicLong packetsIn;
    private final AtomicLong packetsOut;
    private final Reassembly reassembly = new Reassembly(new Reassembly.Config(4 << 20, 64, REASSEMBLY_TIMEOUT));
    private final PathMtuCache pathMtu = new PathMtuCache();
    private final TokenBucket icmpErrors;
    private final StableInterfaceId ids;
    private final RandomGenerator random;
    /** Default routes configured by hand: gateway and interface (routers learnt from RAs live in each link). */
    private final List<StaticRoute> staticRoutes = new ArrayList<>();
    private final NeighborDiscovery nd;
    /**
     * Routes to global destinations looked up lately (every segment asks): our own addresses,
     * on-link prefixes and static routes, not routes through a default router. Emptied by
     * {@link #routesChanged} (an address, prefix, router, route or interface changed); bounded.
     */
    private final Map<Ipv6Address, Route> routeCache = new HashMap<>();
    private static final int ROUTE_CACHE_MAX = 256;

    /** A route configured by hand: {@code prefix/length} through {@code gateway} (or on-link if unspecified). */
    record StaticRoute(Ipv6Address prefix, int length, Ipv6Address gateway, Interface iface) {
    }

    /** Where a packet goes: the interface, and the neighbour on it (the destination itself when on-link). */
    record Route(Interface iface, Ipv6Address nextHop) {
    }

    Ipv6Layer(NetStack stack) {
        this.stack = stack;
        this.stats = stack.statsCounter();
        this.packetsIn = stats.counter("ip6.in");
        this.packetsOut = stats.counter("ip6.out");
        this.icmpErrors = new TokenBucket(1_000_000, 50, stack.now());
        this.random = stack.host().random()::nextLong;
        byte[] secret = new byte[32]; // RFC 7217's secret_key: per boot here, as no state is kept between runs
        stack.host().random().nextBytes(secret);
        this.ids = new StableInterfaceId(secret);
        this.nd = new NeighborDiscovery(stack, this);
    }

    /** The links' control plane: neighbour discovery, autoconfiguration's messages, MLD, DHCPv6. */
    NeighborDiscovery discovery() {
        return nd;
    }

    // ---- configuration ----------------------------------------------------------------------------

    /**
     * Turns IPv6 on for an Ethernet interface: a link-local address (RFC 7217, or EUI-64) under DAD,
     * the all-nodes group, and with {@code slaac}, router solicitation and autoconfiguration from
     * advertisements. Nothing if it is on already (EEXIST if asked for SLAAC it does not have).
     */
    Ipv6Link enable(Interface i, Ipv6Options options) throws ErrnoException {
        if (i.v6 == null && i.mtu < PathMtuCache.MINIMUM_MTU) {
            throw new ErrnoException(Errno.EINVAL, i.name + " has MTU " + i.mtu + ": IPv6 needs a link MTU of at least "
                    + PathMtuCache.MINIMUM_MTU + " (RFC 8200 §5)");
        }
        if (i.v6 != null) {
            if (options.slaac() && !i.v6.acceptRouterAdvertisements) {
                throw new ErrnoException(Errno.EEXIST, "IPv6 is already on for " + i.name + ", without SLAAC");
            }
            return i.v6;
        }
        AddressAutoconfig.Config config = new AddressAutoconfig.Config(options.dadTransmits(), options.slaac(),
                options.identifiers(), i.mtu, 16, 8, 16, 8);
        AddressAutoconfig auto = new AddressAutoconfig(config, i.name, i.mac, ids, new byte[0], random);
        NeighborCache<ByteBuf> cache = new NeighborCache<>(NEIGHBORS, ByteBuf::release);
        Ipv6Link link = new Ipv6Link(i, auto, cache, options.slaac());
        i.v6 = link;
        routesChanged();
        nd.apply(link, auto.start(stack.now()));
        return link;
    }

    void addAddress(Interface i, Ipv6Address address, int prefixLength) throws ErrnoException {
        Ipv6Link link = i.v6 != null ? i.v6 : enable(i, Ipv6Options.manual());
        nd.apply(link, link.auto.addManual(address, prefixLength, stack.now()));
    }

    void removeAddress(Interface i, Ipv6Address address) throws ErrnoException {
        if (i.v6 == null || i.v6.auto.address(address) == null) {
            throw new ErrnoException(Errno.EADDRNOTAVAIL, i.name + " has no address " + address);
        }
        nd.apply(i.v6, i.v6.auto.remove(address));
    }

    void addDefaultRoute(Interface i, Ipv6Address gateway) throws ErrnoException {
        if (i.v6 == null) {
            throw new ErrnoException(Errno.ENETUNREACH, "IPv6 is off on " + i.name + ": no route through it");
        }
        if (!gateway.isLinkLocal() && !onLink(i, gateway)) {
            throw new ErrnoException(Errno.ENETUNREACH, "gateway " + gateway + " is not on " + i.name + "'s link");
        }
        StaticRoute r = new StaticRoute(Ipv6Address.UNSPECIFIED, 0, gateway, i);
        if (staticRoutes.contains(r)) {
            throw new ErrnoException(Errno.EEXIST, "default route via " + gateway);
        }
        staticRoutes.add(r);
        routesChanged();
    }

    // ---- addresses and routes -----------------------------------------------------------------------

    /** Forgets the cached routes: what they follow from changed (NetStack.topologyChanged calls this). */
    void routesChanged() {
        routeCache.clear();
    }

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
        if (dst.isLinkLocal() || dst.isMulticast()) {
            return isLocal(dst) ? new Route(stack.loopback(), dst) : new Route(linkFor(source), dst);
        }
        Route r = routeCache.get(dst);
        if (r == null) {
            r = tableRoute(dst);
            if (r == null) {
                return routerRoute(dst);
            }
            if (routeCache.size() >= ROUTE_CACHE_MAX) {
                routeCache.clear();
            }
            routeCache.put(dst, r);
        }
        return r;
    }

    /** The route to a global (or ULA) {@code dst} from our addresses, on-link prefixes and static routes; null if none. */
    private Route tableRoute(Ipv6Address dst) {
        if (isLocal(dst)) {
            return new Route(stack.loopback(), dst);
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
        return null;
    }

    /** A default router learnt from advertisements (not cached: the choice follows neighbour reachability). */
    private Route routerRoute(Ipv6Address dst) throws ErrnoException {
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
        output(src, dst, protocol, payload, hopLimit, null);
    }

    /**
     * As {@link #output(Ipv6Address, Ipv6Address, IpProtocol, ByteBuf, int)}, with {@code offload}
     * (or null) saying what the NIC completes: a partial checksum, or a TCP segment longer than the
     * MTU to cut (TSO6), which is never fragmented.
     */
    void output(Ipv6Address src, Ipv6Address dst, IpProtocol protocol, ByteBuf payload, int hopLimit,
            NetStack.L4Offload offload) {
        try {
            Route route = route(dst, src.isUnspecified() ? null : src);
            Ipv6Address from = src.isUnspecified() ? sourceFor(route, dst) : src;
            send(route, from, dst, protocol, payload, hopLimit, offload);
        } catch (ErrnoException e) {
            stats.count(e.errno() == Errno.ENETUNREACH ? "ip6.drop.no_route" : "ip6.drop.no_source");
            payload.release();
        }
    }

    void send(Route route, Ipv6Address from, Ipv6Address dst, IpProtocol protocol, ByteBuf payload,
            int hopLimit) {
        send(route, from, dst, protocol, payload, hopLimit, null);
    }

    private void send(Route route, Ipv6Address from, Ipv6Address dst, IpProtocol protocol, ByteBuf payload,
            int hopLimit, NetStack.L4Offload offload) {
        Interface i = route.iface();
        int hops = hopLimit >= 0 ? hopLimit : dst.isMulticast() ? 1 : i.v6 != null ? i.v6.hopLimit() : NetStack.DEFAULT_TTL;
        int len = payload.readableBytes();
        int mtu = i.isLoopback() ? i.mtu : pathMtu.mtu(dst, i.v6.mtu(), stack.now());
        if (Ipv6Packet.HEADER_LENGTH + len <= mtu || offload != null && offload.segmentSize() > 0) {
            sendPacket(route, new Ipv6Repr(from, dst, protocol, len, hops), payload, offload);
            return;
        }
        if (offload != null) {
            NetStack.finishChecksum(payload, offload); // fragments: no NIC completes a checksum across them
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
            sendPacket(route, new Ipv6Repr(from, dst, IpProtocol.IPV6_FRAGMENT, part.readableBytes(), hops), part, null);
        }
        stats.count("ip6.out.fragmented");
        payload.release();
    }

    /**
     * Puts the fixed header in front of {@code body} (released by this call) and hands the packet
     * to the link, asking its NIC for {@code offload} (or null) where it can: the loopback, a
     * multicast destination, a NIC without the offload (the route changed under the sender) and a
     * neighbour not yet resolved (its queue keeps no offload) get a checksum completed here; a large
     * segment is then dropped (counted; TCP sends it again) and, for the neighbour, a solicitation sent.
     */
    private void sendPacket(Route route, Ipv6Repr ip, ByteBuf body, NetStack.L4Offload offload) {
        Interface i = route.iface();
        Ipv6Address hop = route.nextHop();
        if (offload != null) {
            boolean large = offload.segmentSize() > 0;
            boolean nicDoes = !i.isLoopback() && !hop.isMulticast() && i.offloads.contains(NicOffload.TX_CHECKSUM)
                    && (!large || i.segmentsTcp6());
            NeighborCache.State state = nicDoes ? i.v6.neighbors.state(hop) : null;
            boolean resolved = state != null && state != NeighborCache.State.INCOMPLETE;
            if (!nicDoes || !resolved) {
                if (large) {
                    stats.count(nicDoes ? "ip6.drop.offload_unresolved" : "ip6.drop.offload_unsupported");
                    body.release();
                    if (nicDoes) {
                        nd.solicit(i, hop, null);
                        stack.armTimerAt(i.v6.neighbors.nextDeadline());
                    }
                    return;
                }
                NetStack.finishChecksum(body, offload);
                offload = null;
            }
        }
        ByteBuf packet;
        if (body.readerIndex() >= Ipv6Packet.HEADER_LENGTH + EthernetFrame.HEADER_LENGTH) {
            packet = body.readerIndex(body.readerIndex() - Ipv6Packet.HEADER_LENGTH); // headroom: no copy
            ip.emit(packet, packet.readerIndex());
        } else {
            packet = Unpooled.buffer(ip.totalLength());
            ip.emit(packet, 0);
            packet.writerIndex(Ipv6Packet.HEADER_LENGTH);
            packet.writeBytes(body);
            body.release();
        }
        packetsOut.incrementAndGet();
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
        if (hop.isMulticast()) {
            stack.ethernetOut(i, multicastMac(hop), EtherType.IPV6, packet);
            return;
        }
        FrameOffload frameOffload = FrameOffload.NONE;
        if (offload != null) {
            int start = EthernetFrame.HEADER_LENGTH + Ipv6Packet.HEADER_LENGTH;
            frameOffload = offload.segmentSize() > 0
                    ? FrameOffload.tcp6Segmentation(start, start + offload.headerLength(), offload.segmentSize())
                    : FrameOffload.checksum(start, offload.checksumOffset());
        }
        NeighborCache.Resolution r = i.v6.neighbors.resolve(hop, packet, stack.now());
        if (r.resolved()) {
            stack.ethernetOut(i, r.mac(), EtherType.IPV6, packet, frameOffload);
        }
        if (r.solicit()) {
            nd.solicit(i, hop, r.resolved() ? r.mac() : null);
        }
        if (!r.resolved() || r.solicit()) {
            stack.armTimerAt(i.v6.neighbors.nextDeadline());
        }
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

    // ---- timers and autoconfiguration --------------------------------------------------------------

    /** Runs the links' clocks; returns when they need it next (Long.MAX_VALUE: nothing pending). */
    long tick(long now) {
        long next = Long.MAX_VALUE;
        for (Interface i : stack.interfacesOnLoop()) {
            if (i.v6 != null) {
                next = Math.min(next, nd.tick(i.v6, now, this::addressUnreachable));
            }
        }
        reassembly.expire(now);
        return Math.min(next, reassembly.nextDeadline());
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
        Ipv6HeaderChain chain = null;
        // A TCP segment right after the fixed header, most of the traffic, has no chain to walk.
        boolean plainTcp;
        try {
            packet = Ipv6Packet.parse(buf, offset, length);
            ip = Ipv6Repr.parse(packet);
            plainTcp = ip.nextHeader().equals(IpProtocol.TCP);
            if (!plainTcp) {
                chain = Ipv6HeaderChain.walk(packet);
            }
        } catch (ErrnoException e) {
            stats.count("ip6.drop.malformed");
            return;
        }
        packetsIn.incrementAndGet();
        boolean forUs = i.isLoopback() ? isLocal(ip.destination()) || ip.destination().isMulticast()
                : i.v6 != null && (i.v6.accepts(ip.destination()) || i.v6.isTentative(ip.destination()));
        if (!forUs) {
            // A group not listened to is what a NIC's multicast filter would have kept out: not a drop.
            stats.count(ip.destination().isMulticast() ? "ip6.in.other_group" : "ip6.drop.not_for_us");
            return;
        }
        if (plainTcp) {
            if (i.v6 != null && !i.isLoopback() && i.v6.isTentative(ip.destination())) {
                stats.count("ip6.drop.tentative"); // RFC 4862 §5.4: only neighbour discovery for a tentative address
                return;
            }
            stack.tcpIn(ip, buf, packet.payloadIndex(), packet.payloadLength(), checksumTrusted);
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
        if (i.v6 != null && !i.isLoopback() && !chain.upperLayer().equals(IpProtocol.ICMPV6)
                && i.v6.isTentative(ip.destination())) {
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
        stack.armTimerAt(reassembly.nextDeadline());
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
                    nd.queryIn(i.v6);
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
        if (i.isLoopback() || i.v6 == null || !nd.icmpIn(i.v6, ip, icmp)) {
            errorIn(icmp);
        }
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

    /**
     * A packet that waited for a neighbour who never answered. Ours (a host sends no one else's):
     * its socket learns of it as Linux's does, `EHOSTUNREACH` for a connected UDP socket and for a
     * TCP connection still opening; another sender's would get an ICMPv6 address unreachable.
     */
    private void addressUnreachable(ByteBuf lost) {
        try {
            stats.count("ip6.drop.neighbor_unreachable");
            Ipv6Packet p = Ipv6Packet.parse(lost, lost.readerIndex(), lost.readableBytes());
            Ipv6Repr ip = Ipv6Repr.parse(p);
            if (!isLocal(ip.source())) {
                sendError(ip, lost, lost.readerIndex(), lost.readableBytes(), false, new Icmpv6Repr.DestinationUnreachable(
                        Icmpv6Repr.DestinationUnreachable.ADDRESS_UNREACHABLE, quote(lost, lost.readerIndex(),
                                lost.readableBytes())), false);
                return;
            }
            Ipv6HeaderChain chain = Ipv6HeaderChain.walk(p);
            if (chain.complete() || chain.fragment().fragmentOffset() == 0) {
                stack.nextHopUnreachable(chain.upperLayer(), ip.source(), ip.destination(), lost, chain.upperLayerIndex(),
                        chain.upperLayerLength());
            }
        } catch (ErrnoException e) {
            // not a packet we can name a socket for: counted above
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
