package io.jrump.net.stack;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.Callout;
import io.jrump.kernel.Component;
import io.jrump.kernel.RumpKernel;
import io.jrump.kernel.sys.Syscalls;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.arp.ArpCache;
import io.jrump.net.dhcp.DhcpLease;
import io.jrump.net.dns.DnsConfig;
import io.jrump.net.dns.DnsName;
import io.jrump.net.dns.DnsResolver;
import io.jrump.net.dns.DnsServer;
import io.jrump.net.ip.Reassembly;
import io.jrump.net.ip.RouteTable;
import io.jrump.net.ip.TokenBucket;
import io.jrump.net.pcap.PcapWriter;
import io.jrump.net.socket.LoopCalls;
import io.jrump.net.tcp.CongestionControls;
import io.jrump.net.wire.ArpPacket;
import io.jrump.net.wire.ArpRepr;
import io.jrump.net.wire.Checksum;
import io.jrump.net.wire.EtherType;
import io.jrump.net.wire.EthernetFrame;
import io.jrump.net.wire.EthernetRepr;
import io.jrump.net.wire.IcmpPacket;
import io.jrump.net.wire.IcmpRepr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv4Packet;
import io.jrump.net.wire.Ipv4Repr;
import io.jrump.net.wire.IpRepr;
import io.jrump.net.wire.Ipv6Packet;
import io.jrump.net.wire.Ipv6Repr;
import io.jrump.net.wire.UdpDatagram;
import io.jrump.net.wire.UdpRepr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The IPv4 stack of one kernel: interfaces on the host's NICs and a loopback, ARP, IPv4 with
 * routing, fragmentation and reassembly, ICMP (echo, and rate-limited unreachable errors) and
 * UDP and TCP. All state lives on the kernel's event loop: frames arrive there, and
 * calls from application threads are handed to it ({@link LoopCalls}), so the simulation host
 * runs a stack deterministically. A host (a router) is not what this is: packets for other
 * addresses are dropped, not forwarded.
 */
public final class NetStack implements Component {
    public static final int DEFAULT_TTL = 64;
    /**
     * Room a transport leaves before its header for the IPv4 and Ethernet headers: a payload whose
     * reader index leaves this much is the sender's own buffer, and the headers are written in
     * place in front of it instead of copying the packet twice more.
     */
    static final int HEADROOM = EthernetFrame.HEADER_LENGTH + Ipv6Packet.HEADER_LENGTH;
    private volatile boolean stopped;
    private static final long TICK_NANOS = 500_000_000L;

    private Hypercalls host;
    private LoopCalls calls;
    private Callout timer;
    private final NetStats stats = new NetStats();
    // Counted for every packet: held, not looked up by name each time.
    private final AtomicLong ethIn = stats.counter("eth.in");
    private final AtomicLong ethOut = stats.counter("eth.out");
    private final AtomicLong ipInCount = stats.counter("ip.in");
    private final AtomicLong ipOutCount = stats.counter("ip.out");
    private final Map<String, Interface> interfaces = new LinkedHashMap<>();
    private final RouteTable routes = new RouteTable();
    private final Reassembly reassembly = new Reassembly(Reassembly.Config.defaults());
    private TokenBucket icmpErrors;
    private Udp udp;
    private Tcp tcp;
    private Ipv6Layer ip6;
    private Sockets sockets;
    private SocketSyscalls socketCalls;
    private Syscalls sys;
    private int nextIpId;

    @Override
    public String name() {
        return "net";
    }

    @Override
    public void start(RumpKernel kernel) throws ErrnoException {
        host = kernel.host();
        calls = new LoopCalls(host.scheduler());
        timer = kernel.newCallout("net-timer");
        icmpErrors = new TokenBucket(1_000_000, 50, now());
        udp = new Udp(this);
        tcp = new Tcp(this, kernel);
        ip6 = new Ipv6Layer(this);
        sockets = new Sockets(this, calls, udp, tcp, kernel.sys().descriptors());
        socketCalls = new SocketSyscalls(sockets);
        kernel.sys().provide(socketCalls);
        sys = kernel.sys();
        nextIpId = (int) (host.random().nextLong() & 0xffff);
        calls.run(() -> {
            Interface lo = new Interface("lo", null, MacAddress.of(0L), 65536, newArpCache());
            lo.addresses.add(new Interface.Address(Ipv4Address.LOOPBACK, 8));
            interfaces.put("lo", lo);
            routes.add(new RouteTable.Route(Ipv4Address.of(127, 0, 0, 0), 8, Ipv4Address.ANY, "lo", 0));
            return null;
        });
    }

    @Override
    public void stop() {
        sys.withdraw(socketCalls);
        try {
            calls.run(() -> {
                ip6.discovery().stop();
                return null;
            });
        } catch (ErrnoException e) {
            host.console().log(System.Logger.Level.WARNING, "net: DHCPv6 clients not stopped: " + e.getMessage());
        }
        stopped = true; // frames already queued on the loop are dropped, not run into a stopped kernel
        timer.stop();
        try {
            calls.run(() -> { // on the loop, where the connections' queues live
                tcp.haltAll();
                return null;
            });
        } catch (ErrnoException e) {
            host.console().log(System.Logger.Level.WARNING, "net: connections not halted: " + e.getMessage());
        }
        for (Interface i : interfaces.values()) {
            i.arp.flush();
            if (i.v6 != null) {
                i.v6.neighbors.flush();
            }
            if (i.nic != null) {
                i.nic.close();
            }
        }
    }

    long now() {
        return host.clock().monotonicNanos();
    }

    Hypercalls host() {
        return host;
    }

    NetStats statsCounter() {
        return stats;
    }

    public NetStats stats() {
        return stats;
    }

    /**
     * Sets one of the stack-wide switches Linux has as sysctls: {@code net.ipv4.tcp_sack},
     * {@code net.ipv4.tcp_timestamps}, {@code net.ipv4.tcp_syncookies} (0 off, else on). They apply
     * to connections opened afterwards. {@code ENOENT} for any other name.
     */
    public void sysctl(String name, int value) throws ErrnoException {
        calls.run(() -> {
            switch (name) {
                case "net.ipv4.tcp_sack" -> tcp.sackEnabled = value != 0;
                case "net.ipv4.tcp_timestamps" -> tcp.timestampsEnabled = value != 0;
                case "net.ipv4.tcp_syncookies" -> tcp.synCookiesEnabled = value != 0;
                default -> throw new ErrnoException(Errno.ENOENT, "sysctl " + name);
            }
            return null;
        });
    }

    /**
     * Sets a stack-wide sysctl that takes a name: {@code net.ipv4.tcp_congestion_control}, the
     * congestion control of connections whose socket did not choose one with TCP_CONGESTION
     * ({@code cubic}, the default, or {@code reno}); it applies to connections established
     * afterwards. {@code ENOENT} for another sysctl or an algorithm not available here.
     */
    public void sysctl(String name, String value) throws ErrnoException {
        calls.run(() -> {
            if (!name.equals("net.ipv4.tcp_congestion_control")) {
                throw new ErrnoException(Errno.ENOENT, "sysctl " + name);
            }
            tcp.defaultCongestion = CongestionControls.check(value);
            return null;
        });
    }

    /**
     * Reads a sysctl that holds a name: {@code net.ipv4.tcp_congestion_control} and
     * {@code net.ipv4.tcp_available_congestion_control} (space-separated, as Linux shows it).
     */
    public String sysctlString(String name) throws ErrnoException {
        return calls.run(() -> switch (name) {
            case "net.ipv4.tcp_congestion_control" -> tcp.defaultCongestion;
            case "net.ipv4.tcp_available_congestion_control" ->
                    String.join(" ", CongestionControls.AVAILABLE);
            default -> throw new ErrnoException(Errno.ENOENT, "sysctl " + name);
        });
    }

    /** The BSD-like socket API of this stack. */
    public Sockets sockets() {
        return sockets;
    }

    /**
     * A stub resolver asking {@code config}'s name servers over this stack's UDP and TCP sockets
     * ({@link StackDnsTransport}); IPv4 servers only. Each call gives a resolver with its own cache.
     */
    public DnsResolver resolver(DnsConfig config) throws ErrnoException {
        if (sockets == null) {
            throw new ErrnoException(Errno.ENXIO, "net: the stack is not started");
        }
        return new DnsResolver(host, new StackDnsTransport(sockets, host.scheduler()), config);
    }

    /**
     * A stub resolver asking the DNS servers the network gave ({@link #dnsServers()}: DHCPv4
     * leases, router advertisements' RDNSS, stateless DHCPv6), with their search domains, as they
     * are now. {@code ENOENT} when none is known yet.
     */
    public DnsResolver resolver() throws ErrnoException {
        List<IpAddress> servers = dnsServers();
        if (servers.isEmpty()) {
            throw new ErrnoException(Errno.ENOENT, "no DNS server known: none came by DHCP, DHCPv6 or router advertisement");
        }
        List<DnsServer> list = new ArrayList<>();
        for (IpAddress a : servers) {
            list.add(new DnsServer(a.toInetAddress(), DnsServer.PORT));
        }
        return resolver(DnsConfig.of(list).withSearch(dnsSearchList()));
    }

    /**
     * Orders addresses to try a connection in (RFC 6724 §6 destination address selection, the
     * rules that decide for a host of this stack): those this stack has no route for, or no source
     * address of a scope that reaches them (a global destination with only a link-local address),
     * go last (rules 1 and 2), then IPv6 before IPv4 (rule 6: the default policy table ranks
     * native IPv6 above IPv4-mapped), otherwise as given (rule 10). A caller tries them in turn.
     */
    public List<IpAddress> sortDestinations(List<IpAddress> candidates) throws ErrnoException {
        return calls.run(() -> {
            List<IpAddress> usable = new ArrayList<>();
            List<IpAddress> unusable = new ArrayList<>();
            for (IpAddress a : candidates) {
                IpAddress d = a.unmapped();
                boolean routed;
                try {
                    IpAddress source = sourceFor(d);
                    routed = !(d instanceof Ipv6Address v6) || SourceSelection.scope((Ipv6Address) source) >= SourceSelection.scope(v6);
                } catch (ErrnoException e) {
                    routed = false;
                }
                (routed ? usable : unusable).add(d);
            }
            List<IpAddress> out = new ArrayList<>();
            for (List<IpAddress> group : List.of(usable, unusable)) {
                group.stream().filter(x -> x.version() == 6).forEach(out::add);
                group.stream().filter(x -> x.version() == 4).forEach(out::add);
            }
            return out;
        });
    }

    /** The search domains the network gave: the DHCPv4 leases' domain names, then stateless DHCPv6's list. */
    public List<DnsName> dnsSearchList() throws ErrnoException {
        return calls.run(() -> {
            java.util.LinkedHashSet<DnsName> out = new java.util.LinkedHashSet<>();
            for (Interface i : interfaces.values()) {
                DhcpLease lease = i.dhcp != null ? i.dhcp.leaseOnLoop() : null;
                if (lease != null && lease.domainName() != null) {
                    try {
                        out.add(DnsName.parse(lease.domainName()));
                    } catch (ErrnoException e) {
                        stats.count("dns.drop.bad_lease_domain");
                    }
                }
            }
            out.addAll(ip6.discovery().advertisedSearchList());
            return List.copyOf(out);
        });
    }

    private ArpCache<ByteBuf> newArpCache() {
        return new ArpCache<>(ArpCache.Config.defaults(), ByteBuf::release);
    }

    // ---- configuration (any thread) --------------------------------------------------------

    /**
     * Attaches an interface to the host NIC (or switch, or link) {@code nicName}. The stack handles
     * every {@link NicOffload}; it asks the host for those in {@code options.offloads()} (none
     * unless asked for: {@code options.withOffloads(NicOffload.ALL)}).
     */
    public Interface addInterface(String nicName, NicOptions options) throws ErrnoException {
        return calls.run(() -> {
            if (interfaces.containsKey(nicName)) {
                throw new ErrnoException(Errno.EEXIST, "interface " + nicName);
            }
            Interface[] self = new Interface[1];
            HostNic nic = host.networkInterfaces().open(nicName, options, new FrameReceiver() {
                @Override
                public void frameReceived(ByteBuffer frame) {
                    frameIn(self[0], frame, 0);
                }

                @Override
                public void frameReceived(ByteBuffer frame, int rxFlags) {
                    frameIn(self[0], frame, rxFlags);
                }
            });
            Interface i = new Interface(nicName, nic, nic.mac(), nic.mtu(), newArpCache());
            self[0] = i;
            interfaces.put(nicName, i);
            topologyChanged();
            return i;
        });
    }

    /** Adds an address to an interface, with the on-link route for its prefix; announces it (gratuitous ARP). */
    public void addAddress(String iface, Ipv4Address address, int prefixLength) throws ErrnoException {
        calls.run(() -> {
            addAddress(iface(iface), address, prefixLength);
            return null;
        });
    }

    void addAddress(Interface i, Ipv4Address address, int prefixLength) throws ErrnoException {
        Interface.Address a = new Interface.Address(address, prefixLength);
        if (i.addresses.contains(a)) {
            throw new ErrnoException(Errno.EEXIST, i.name + ": " + a);
        }
        i.addresses.add(a);
        topologyChanged();
        Ipv4Address network = new Ipv4Address(address.bits() & Ipv4Address.mask(prefixLength));
        RouteTable.Route onLink = new RouteTable.Route(network, prefixLength, Ipv4Address.ANY, i.name, 0);
        if (!routes.routes().contains(onLink)) { // a second address on the same subnet shares it
            routes.add(onLink);
        }
        if (i.nic != null) {
            sendArp(i, ArpRepr.Operation.REQUEST, MacAddress.BROADCAST, address, MacAddress.of(0L), address);
        }
    }

    /**
     * Removes an address from an interface, and its on-link route unless another address of the
     * interface is in the same prefix; {@code EADDRNOTAVAIL} if the interface does not have it.
     */
    public void removeAddress(String iface, Ipv4Address address, int prefixLength) throws ErrnoException {
        calls.run(() -> {
            removeAddress(iface(iface), address, prefixLength);
            return null;
        });
    }

    void removeAddress(Interface i, Ipv4Address address, int prefixLength) throws ErrnoException {
        Interface.Address a = new Interface.Address(address, prefixLength);
        if (!i.addresses.remove(a)) {
            throw new ErrnoException(Errno.EADDRNOTAVAIL, i.name + " has no address " + a);
        }
        Ipv4Address network = new Ipv4Address(address.bits() & Ipv4Address.mask(prefixLength));
        boolean shared = i.addresses.stream().anyMatch(o -> o.prefixLength() == prefixLength
                && (o.address().bits() & Ipv4Address.mask(prefixLength)) == network.bits());
        if (!shared) {
            routes.remove(new RouteTable.Route(network, prefixLength, Ipv4Address.ANY, i.name, 0));
        }
        topologyChanged();
    }

    // ---- IPv6 configuration -------------------------------------------------------------------

    /**
     * Turns IPv6 on for the Ethernet interface {@code iface}: a link-local address (after duplicate
     * address detection), the all-nodes group, and, with {@link Ipv6Options#slaac()}, router
     * solicitation and autoconfiguration from router advertisements (addresses, default routers,
     * MTU, RDNSS). {@code EINVAL} on the loopback (which has ::1 always).
     */
    public void enableIpv6(String iface, Ipv6Options options) throws ErrnoException {
        calls.run(() -> {
            Interface i = iface(iface);
            if (i.isLoopback()) {
                throw new ErrnoException(Errno.EINVAL, "the loopback has ::1 and no other IPv6 configuration");
            }
            ip6.enable(i, options);
            return null;
        });
    }

    /**
     * Adds an IPv6 address by hand (turning IPv6 on without SLAAC if it is off). It is tentative
     * until duplicate address detection passes (about a second), then usable; a duplicate stays
     * listed as DUPLICATE and is never used. Its prefix is on-link.
     */
    public void addAddress(String iface, Ipv6Address address, int prefixLength) throws ErrnoException {
        calls.run(() -> {
            Interface i = iface(iface);
            if (i.isLoopback()) {
                throw new ErrnoException(Errno.EINVAL, "the loopback has ::1 and no other IPv6 address");
            }
            ip6.addAddress(i, address, prefixLength);
            return null;
        });
    }

    /** Removes an IPv6 address (any origin); {@code EADDRNOTAVAIL} if the interface has none such. */
    public void removeAddress(String iface, Ipv6Address address) throws ErrnoException {
        calls.run(() -> {
            ip6.removeAddress(iface(iface), address);
            topologyChanged();
            return null;
        });
    }

    /** A default IPv6 route through {@code gateway} (link-local, or in an on-link prefix) on {@code iface}. */
    public void addDefaultRoute(String iface, Ipv6Address gateway) throws ErrnoException {
        calls.run(() -> {
            ip6.addDefaultRoute(iface(iface), gateway);
            topologyChanged();
            return null;
        });
    }

    /** The IPv6 neighbour cache of {@code iface} (state and link address by neighbour), as {@code ip -6 neigh} shows it. */
    public Map<Ipv6Address, io.jrump.net.ndp.NeighborCache.Neighbor> neighbors(String iface) throws ErrnoException {
        return calls.run(() -> {
            Interface i = iface(iface);
            return i.v6 == null ? Map.of() : i.v6.neighbors.snapshot();
        });
    }

    /** The IPv6 default routers {@code iface} learnt from advertisements, with when each expires (nanoseconds). */
    public Map<Ipv6Address, Long> ipv6Routers(String iface) throws ErrnoException {
        return calls.run(() -> {
            Interface i = iface(iface);
            return i.v6 == null ? Map.of() : i.v6.auto.defaultRouters();
        });
    }

    /**
     * The DNS servers the network gave: those of each running DHCP client's lease, then those of
     * router advertisements (RDNSS), without repeats.
     */
    public List<IpAddress> dnsServers() throws ErrnoException {
        return calls.run(() -> {
            java.util.LinkedHashSet<IpAddress> out = new java.util.LinkedHashSet<>();
            for (Interface i : interfaces.values()) {
                if (i.dhcp != null && i.dhcp.leaseOnLoop() != null) {
                    out.addAll(i.dhcp.leaseOnLoop().dnsServers());
                }
            }
            out.addAll(ip6.discovery().advertisedDnsServers());
            return List.copyOf(out);
        });
    }

    /** Counted: the servers {@link #dnsServers()} lists changed. */
    void dnsServersChanged() {
        stats.count("dns.servers_changed");
    }

    Interface loopback() {
        return interfaces.get("lo");
    }

    // ---- transport entry points for IPv6 ------------------------------------------------------

    void tcpIn(IpRepr ip, ByteBuf buf, int index, int length, boolean checksumTrusted) {
        tcp.input(ip, buf, index, length, checksumTrusted);
    }

    /** A UDP datagram over IPv6 for a socket; false if none wanted it. */
    boolean udpIn6(Ipv6Repr ip, UdpRepr udp) {
        return this.udp.deliver(ip, udp);
    }

    void echoReplyIn(IpAddress from, int identifier, ByteBuf message) {
        udp.echoReplyIn(from, identifier, message);
    }

    void udpUnreachable(IpAddress from, int fromPort, IpAddress to, int toPort, Errno errno) {
        udp.unreachable(from, fromPort, to, toPort, errno);
    }

    /**
     * Our {@code protocol} packet {@code from → to}, whose transport header starts at {@code at}
     * of {@code buf}, never got past its next hop (ARP or neighbour discovery gave up): its socket
     * learns of it as Linux's does, EHOSTUNREACH for a TCP connection still opening and a
     * connected UDP socket. Shorter than the two ports: nothing to name.
     */
    void nextHopUnreachable(IpProtocol protocol, IpAddress from, IpAddress to, ByteBuf buf, int at, int length) {
        if (length < 4) {
            return;
        }
        int sourcePort = buf.getUnsignedShort(at);
        int destinationPort = buf.getUnsignedShort(at + 2);
        if (protocol.equals(IpProtocol.TCP)) {
            tcp.unreachable(from, sourcePort, to, destinationPort, Errno.EHOSTUNREACH);
        } else if (protocol.equals(IpProtocol.UDP)) {
            udp.unreachable(from, sourcePort, to, destinationPort, Errno.EHOSTUNREACH);
        }
    }

    void pathMtuLowered(IpAddress destination, int mtu) {
        tcp.pathMtuLowered(destination, mtu);
    }

    /** Removes exactly this route (as {@link #routes()} lists it); {@code ESRCH} if there is none. */
    public void removeRoute(RouteTable.Route route) throws ErrnoException {
        calls.run(() -> {
            removeRouteOnLoop(route);
            return null;
        });
    }

    void removeRouteOnLoop(RouteTable.Route route) throws ErrnoException {
        if (!routes.remove(route)) {
            throw new ErrnoException(Errno.ESRCH, "no route " + route);
        }
        topologyChanged();
    }

    /** Adds a route on the loop (EEXIST if it is there). */
    void addRouteOnLoop(RouteTable.Route route) throws ErrnoException {
        routes.add(route);
        topologyChanged();
    }

    List<RouteTable.Route> routesOnLoop() {
        return routes.routes();
    }

    /** The on-link route {@code gateway} is reached by, or null. */
    RouteTable.Route onLinkRoute(Ipv4Address gateway) {
        return routes.lookup(gateway).filter(RouteTable.Route::isDirect).orElse(null);
    }

    /**
     * Starts a DHCPv4 client on the Ethernet interface {@code iface} (RFC 2131): it asks for a lease
     * by broadcast before the interface has an address, probes the offered address with ARP
     * (RFC 5227), then configures the address and prefix, a default route through the first
     * router and the MTU (if lower than the NIC's), renews at T1 and removes them all when the
     * lease ends. {@code EBUSY} if a client already runs there, {@code EINVAL} on the loopback.
     */
    public DhcpSession startDhcp(String iface) throws ErrnoException {
        return startDhcp(iface, DhcpSession.Options.DEFAULTS);
    }

    /** {@link #startDhcp(String)} with {@code options}: INIT-REBOOT, the RFC 5227 probe off. */
    public DhcpSession startDhcp(String iface, DhcpSession.Options options) throws ErrnoException {
        java.util.Objects.requireNonNull(options, "options");
        return calls.run(() -> {
            Interface i = iface(iface);
            if (i.isLoopback()) {
                throw new ErrnoException(Errno.EINVAL, "DHCP on the loopback");
            }
            if (i.dhcp != null) {
                throw new ErrnoException(Errno.EBUSY, "a DHCP client already runs on " + iface);
            }
            DhcpSession session = new DhcpSession(this, calls, i, options);
            i.dhcp = session;
            session.start();
            return session;
        });
    }

    boolean isStopped() {
        return stopped;
    }

    public void addRoute(RouteTable.Route route) throws ErrnoException {
        calls.run(() -> {
            iface(route.iface());
            routes.add(route);
            topologyChanged();
            return null;
        });
    }

    /** A default route through {@code gateway}, on the interface whose subnet holds it. */
    public void addDefaultRoute(Ipv4Address gateway) throws ErrnoException {
        calls.run(() -> {
            RouteTable.Route onLink = routes.lookup(gateway).orElseThrow(
                    () -> new ErrnoException(Errno.ENETUNREACH, "gateway " + gateway + " is on no interface's subnet"));
            routes.add(new RouteTable.Route(Ipv4Address.ANY, 0, gateway, onLink.iface(), 0));
            topologyChanged();
            return null;
        });
    }

    public List<RouteTable.Route> routes() throws ErrnoException {
        return calls.run(() -> List.copyOf(routes.routes()));
    }

    /** A snapshot of every TCP connection, as {@code ss -tin} lists them. */
    public List<TcpInfo> tcpConnections() throws ErrnoException {
        return calls.run(tcp::connectionInfo);
    }

    /**
     * What explains a stall, for a report: each TCP connection as one {@link TcpInfo} line, each
     * prefixed with {@code prefix}, then a line of the stack's counters. Never throws: a stack that
     * cannot answer says so in the text.
     */
    public String tcpReport(String prefix) {
        StringBuilder s = new StringBuilder();
        try {
            for (TcpInfo i : tcpConnections()) {
                s.append(prefix).append(i).append('\n');
            }
        } catch (ErrnoException e) {
            s.append(prefix).append("(no connection state: ").append(e.getMessage()).append(")\n");
        }
        return s.append(prefix).append("counters ").append(stats().snapshot()).append('\n').toString();
    }

    public List<Interface> interfaces() throws ErrnoException {
        return calls.run(() -> List.copyOf(interfaces.values()));
    }

    /** Captures every frame sent and received on {@code iface} into {@code pcap}; null stops. */
    public void capture(String iface, PcapWriter pcap) throws ErrnoException {
        calls.run(() -> {
            iface(iface).capture = pcap;
            return null;
        });
    }

    private Interface iface(String name) throws ErrnoException {
        Interface i = interfaces.get(name);
        if (i == null) {
            throw new ErrnoException(Errno.ENODEV, "no interface " + name);
        }
        return i;
    }

    // ---- timers ------------------------------------------------------------------------------

    /** Runs the neighbour caches' and reassembly's clocks while they have work: ticks every half second. */
    void armTimer() {
        armTimerAt(now() + TICK_NANOS);
    }

    /**
     * Makes the next tick come no later than {@code deadline} (IPv6's timers name their own: DAD,
     * lifetimes, neighbour states), so an idle stack holds no timer firing every half second.
     */
    void armTimerAt(long deadline) {
        if (deadline != Long.MAX_VALUE && (!timer.isPending() || timer.deadlineNanos() > deadline)) {
            timer.scheduleAt(deadline, this::tick);
        }
    }

    private void tick() {
        long now = now();
        boolean more = false;
        for (Interface i : interfaces.values()) {
            ArpCache.Tick<ByteBuf> t = i.arp.tick(now);
            stats.add("arp.expired", t.expired());
            for (ByteBuf lost : t.unreachable()) {
                hostUnreachable(lost);
            }
            for (Ipv4Address ip : t.requests()) {
                sendArp(i, ArpRepr.Operation.REQUEST, MacAddress.BROADCAST, i.sourceFor(ip), MacAddress.of(0L), ip);
            }
            more |= i.arp.size() > 0;
        }
        reassembly.expire(now);
        more |= reassembly.datagramsInProgress() > 0;
        long next = ip6.tick(now); // IPv6 says when it needs the next tick
        if (more) {
            next = Math.min(next, now + TICK_NANOS);
        }
        armTimerAt(next == Long.MAX_VALUE ? next : Math.max(next, now + 1_000_000)); // never a busy loop
    }

    // ---- input --------------------------------------------------------------------------------

    /**
     * A frame from a NIC, on the event loop, with the host's receive flags (honoured only for the
     * offloads the NIC has). Anything malformed is counted and dropped, as is a frame longer than
     * the NIC's maximum that is not a large segment the NIC said it delivers.
     */
    private void frameIn(Interface i, ByteBuffer frame, int rxFlags) {
        if (stopped) {
            return;
        }
        ByteBuf buf = Unpooled.wrappedBuffer(frame);
        capture(i, buf);
        ethIn.incrementAndGet();
        int flags = rxFlags & rxFlagMask(i);
        if (frame.remaining() > i.nic.maxFrameLength() && (flags & FrameReceiver.RX_LARGE_SEGMENT) == 0) {
            stats.count("eth.drop.oversized");
            return;
        }
        if ((flags & FrameReceiver.RX_LARGE_SEGMENT) != 0) {
            stats.count("eth.in.large_segment");
        }
        try {
            EthernetFrame eth = EthernetFrame.parse(buf);
            MacAddress to = eth.destination();
            boolean ipv6Multicast = i.v6 != null && (to.toLong() >>> 32) == 0x3333;
            if (!to.equals(i.mac) && !to.equals(MacAddress.BROADCAST) && !ipv6Multicast) {
                stats.count("eth.drop.not_for_us");
                return;
            }
            if (eth.etherType().equals(EtherType.ARP)) {
                arpIn(i, eth.payload());
            } else if (eth.etherType().equals(EtherType.IPV4)) {
                ipIn(i, buf, buf.readerIndex() + eth.payloadOffset(), eth.length() - eth.payloadOffset(), flags);
            } else if (eth.etherType().equals(EtherType.IPV6)) {
                ip6.input(i, buf, buf.readerIndex() + eth.payloadOffset(), eth.length() - eth.payloadOffset(),
                        !to.equals(i.mac), flags);
            } else {
                stats.count("eth.drop.unknown_ethertype");
            }
        } catch (ErrnoException e) {
            stats.count("eth.drop.malformed");
        }
    }

    private void arpIn(Interface i, ByteBuf payload) {
        ArpRepr arp;
        try {
            arp = ArpRepr.parse(ArpPacket.parse(payload));
        } catch (ErrnoException e) {
            stats.count("arp.drop.malformed");
            return;
        }
        stats.count("arp.in");
        Ipv4Address sender = arp.senderProtocolAddress();
        if (i.dhcp != null) {
            i.dhcp.arpSeen(arp);
        }
        boolean forUs = i.owns(arp.targetProtocolAddress());
        if (!sender.isUnspecified() && !sender.isBroadcast()) {
            // RFC 826: update an entry we have; make one if the packet is for us.
            for (ByteBuf waiting : i.arp.learned(sender, arp.senderHardwareAddress(), forUs, now())) {
                ethernetOut(i, arp.senderHardwareAddress(), EtherType.IPV4, waiting);
            }
        }
        if (forUs && arp.operation() == ArpRepr.Operation.REQUEST) {
            sendArp(i, ArpRepr.Operation.REPLY, arp.senderHardwareAddress(), arp.targetProtocolAddress(),
                    arp.senderHardwareAddress(), sender);
        }
    }

    void sendArp(Interface i, ArpRepr.Operation op, MacAddress to, Ipv4Address senderIp, MacAddress targetMac,
            Ipv4Address targetIp) {
        ArpRepr arp = new ArpRepr(op, i.mac, senderIp, targetMac, targetIp);
        ByteBuf b = Unpooled.buffer(arp.bufferLength());
        arp.emit(b, 0);
        b.writerIndex(arp.bufferLength());
        stats.count("arp.out");
        ethernetOut(i, to, EtherType.ARP, b);
    }

    /** The receive flags an interface's NIC may set: those of the offloads it has. */
    private static int rxFlagMask(Interface i) {
        int mask = 0;
        if (i.offloads.contains(NicOffload.RX_CHECKSUM)) {
            mask |= FrameReceiver.RX_CHECKSUM_VALID | FrameReceiver.RX_CHECKSUM_PARTIAL;
            if (i.offloads.contains(NicOffload.RX_TCP4_LARGE_SEGMENTS) || i.offloads.contains(NicOffload.RX_TCP6_LARGE_SEGMENTS)) {
                mask |= FrameReceiver.RX_LARGE_SEGMENT;
            }
        }
        return mask;
    }

    /** An IPv4 packet from an interface (or the loopback). */
    void ipIn(Interface i, ByteBuf packet) {
        ipIn(i, packet, packet.readerIndex(), packet.readableBytes(), 0);
    }

    /**
     * An IPv4 packet at {@code [offset, offset + length)} of {@code buf} (the frame: read in place,
     * no slice per layer), with the NIC's receive flags: with a checksum flag the TCP or UDP
     * checksum is not verified (it was, or it is a host's partial sum that cannot be).
     */
    private void ipIn(Interface i, ByteBuf buf, int offset, int length, int rxFlags) {
        boolean checksumTrusted = (rxFlags & (FrameReceiver.RX_CHECKSUM_VALID | FrameReceiver.RX_CHECKSUM_PARTIAL)) != 0;
        Ipv4Packet packet;
        Ipv4Repr ip;
        try {
            packet = Ipv4Packet.parse(buf, offset, length);
            ip = Ipv4Repr.parse(packet);
        } catch (ErrnoException e) {
            stats.count("ip.drop.malformed");
            return;
        }
        ipInCount.incrementAndGet();
        // A DHCP server may unicast to the address it offers, which is not ours yet: only UDP to
        // port 68 is taken so (udpIn checks the port).
        boolean dhcpOnly = false;
        if (!i.accepts(ip.destination()) && !isLocal(ip.destination())) {
            if (i.dhcp == null || !ip.protocol().equals(IpProtocol.UDP)) {
                stats.count("ip.drop.not_for_us");
                return;
            }
            dhcpOnly = true;
        }
        ByteBuf data = buf;
        int dataIndex = packet.payloadIndex();
        int dataLength = packet.payloadLength();
        if (ip.moreFragments() || ip.fragmentOffset() != 0) {
            byte[] bytes = new byte[dataLength];
            buf.getBytes(dataIndex, bytes);
            byte[] whole = reassembly.add(ip.source(), ip.destination(), ip.protocol().value(), ip.identification(),
                    ip.fragmentOffset(), ip.moreFragments(), bytes, now());
            armTimer();
            if (whole == null) {
                return;
            }
            stats.count("ip.reassembled");
            checksumTrusted = false; // the flags spoke of one fragment, not the datagram
            data = Unpooled.wrappedBuffer(whole);
            dataIndex = 0;
            dataLength = whole.length;
            ip = new Ipv4Repr(ip.source(), ip.destination(), ip.protocol(), whole.length, ip.ttl(),
                    ip.identification(), false, false, 0, ip.dscp(), ip.ecn());
        }
        if (ip.protocol().equals(IpProtocol.TCP)) {
            tcp.input(ip, data, dataIndex, dataLength, checksumTrusted);
            return;
        }
        Quote quote = new Quote(buf, offset, length, packet.headerLength());
        if (ip.protocol().equals(IpProtocol.ICMP)) {
            icmpIn(ip, data.slice(dataIndex, dataLength));
        } else if (ip.protocol().equals(IpProtocol.UDP)) {
            udpIn(i, ip, data.slice(dataIndex, dataLength), quote, checksumTrusted, dhcpOnly);
        } else {
            stats.count("ip.drop.unknown_protocol");
            sendUnreachable(ip, quote, 2); // protocol unreachable
        }
    }

    private boolean isLocal(Ipv4Address ip) {
        for (Interface i : interfaces.values()) {
            if (i.owns(ip)) {
                return true;
            }
        }
        return ip.isLoopback();
    }

    /** Whether {@code ip} is a usable unicast address of this stack (a tentative IPv6 one is not). */
    boolean isLocal(IpAddress ip) {
        return ip instanceof Ipv4Address v4 ? isLocal(v4) : ip6.isLocal((Ipv6Address) ip);
    }

    /** The source address a packet to {@code dst} leaves with; ENETUNREACH without a route. */
    IpAddress sourceFor(IpAddress dst) throws ErrnoException {
        if (dst instanceof Ipv4Address v4) {
            return route(v4).iface().sourceFor(v4);
        }
        return ip6.sourceFor((Ipv6Address) dst);
    }

    /** The MTU of the path to {@code dst}: the interface's, or lower as IPv6 Packet Too Big messages said. */
    int pathMtu(IpAddress dst) throws ErrnoException {
        if (dst instanceof Ipv4Address v4) {
            return route(v4).iface().mtu;
        }
        return ip6.pathMtu((Ipv6Address) dst);
    }

    /** The IPv6 half of the stack. */
    Ipv6Layer ipv6() {
        return ip6;
    }

    /** A received datagram as an ICMP error would quote it: its bytes from the IP header on. */
    private record Quote(ByteBuf buf, int offset, int length, int headerLength) {
        ByteBuf copy() {
            int n = Math.min(length, headerLength + 8);
            return Unpooled.copiedBuffer(buf.slice(offset, n));
        }
    }

    private void icmpIn(Ipv4Repr ip, ByteBuf data) {
        IcmpRepr icmp;
        try {
            icmp = IcmpRepr.parse(IcmpPacket.parse(data));
        } catch (ErrnoException e) {
            stats.count("icmp.drop.malformed");
            return;
        }
        stats.count("icmp.in");
        if (icmp instanceof IcmpRepr.EchoRequest req) {
            if (ip.destination().isBroadcast()) {
                stats.count("icmp.drop.broadcast_echo"); // no smurf amplifier
                return;
            }
            ipOut(ip.destination(), ip.source(), IpProtocol.ICMP,
                    message(new IcmpRepr.EchoReply(req.identifier(), req.sequence(), req.data())), DEFAULT_TTL);
            stats.count("icmp.out.echo_reply");
        } else if (icmp instanceof IcmpRepr.EchoReply reply) {
            udp.echoReplyIn(ip.source(), reply.identifier(), data);
        } else if (icmp instanceof IcmpRepr.DestinationUnreachable u) {
            udp.unreachableIn(u);
        }
    }

    private static ByteBuf message(IcmpRepr icmp) {
        ByteBuf b = Unpooled.buffer(icmp.bufferLength());
        icmp.emit(b, 0);
        b.writerIndex(icmp.bufferLength());
        return b;
    }

    private void udpIn(Interface i, Ipv4Repr ip, ByteBuf data, Quote original, boolean checksumTrusted,
            boolean dhcpOnly) {
        UdpRepr repr;
        try {
            UdpDatagram d = UdpDatagram.parse(data);
            if (!checksumTrusted && d.checksum() != 0 && !d.verifyChecksum(ip.source(), ip.destination())) {
                stats.count("udp.drop.bad_checksum");
                return;
            }
            repr = UdpRepr.parse(d, ip.source(), ip.destination(), false); // verified just above
        } catch (ErrnoException e) {
            stats.count("udp.drop.malformed");
            return;
        }
        if (i.dhcp != null && repr.destinationPort() == DhcpSession.CLIENT_PORT
                && repr.sourcePort() == DhcpSession.SERVER_PORT) {
            stats.count("udp.in.dhcp");
            i.dhcp.receive(repr.payload());
            return;
        }
        if (dhcpOnly) {
            stats.count("ip.drop.not_for_us");
            return;
        }
        stats.count("udp.in");
        if (!udp.deliver(ip, repr)) {
            stats.count("udp.drop.no_port");
            if (!ip.destination().isBroadcast() && !ip.destination().isMulticast()) {
                sendUnreachable(ip, original, IcmpRepr.DestinationUnreachable.PORT_UNREACHABLE);
            }
        }
    }

    /** A destination-unreachable error quoting the offending datagram's header and first 8 bytes, rate-limited. */
    private void sendUnreachable(Ipv4Repr ip, Quote original, int code) {
        if (!icmpErrors.tryTake(now())) {
            stats.count("icmp.drop.rate_limited");
            return;
        }
        ipOut(ip.destination(), ip.source(), IpProtocol.ICMP,
                message(new IcmpRepr.DestinationUnreachable(code, 0, original.copy())), DEFAULT_TTL);
        stats.count("icmp.out.unreachable");
    }

    // ---- output -------------------------------------------------------------------------------

    /**
     * Sends {@code payload} (released by this call) to {@code dst}, from {@code src} (ANY: the
     * outgoing interface's address), fragmenting to the interface's MTU.
     */
    void ipOut(IpAddress src, IpAddress dst, IpProtocol protocol, ByteBuf payload, int ttl) {
        ipOut(src, dst, protocol, payload, ttl, null);
    }

    /**
     * A transport's packet of either family: IPv4 as below, IPv6 through {@link Ipv6Layer} (with
     * {@code ttl} as the hop limit; no offload: IPv6 segments are checksummed in software).
     */
    void ipOut(IpAddress src, IpAddress dst, IpProtocol protocol, ByteBuf payload, int ttl, L4Offload offload) {
        if (dst instanceof Ipv4Address d4) {
            ipOut((Ipv4Address) src, d4, protocol, payload, ttl, offload);
            return;
        }
        ip6.output((Ipv6Address) src, (Ipv6Address) dst, protocol, payload, -1, offload);
    }

    /**
     * What the transport asks of the NIC for one packet: its checksum, at {@code checksumOffset}
     * in the transport header, holds the pseudo-header sum for the NIC to complete; with
     * {@code segmentSize > 0} it is a TCP segment longer than the MTU for the NIC to cut into
     * segments of that many payload bytes (its header is {@code headerLength} bytes).
     */
    record L4Offload(int checksumOffset, int segmentSize, int headerLength) {
    }

    /**
     * The transmit offloads of the interface a packet to {@code dst} leaves by, as TCP asks before
     * it builds segments: none for the loopback or without a route.
     */
    Set<NicOffload> txOffloads(IpAddress dst) {
        if (dst instanceof Ipv6Address v6) {
            try {
                Interface i = ip6.route(v6, null).iface();
                return i.isLoopback() ? NicOffload.NONE : i.offloads;
            } catch (ErrnoException e) {
                return NicOffload.NONE;
            }
        }
        Ipv4Address v4 = (Ipv4Address) dst;
        try {
            return route(v4).iface().offloads;
        } catch (ErrnoException e) {
            return NicOffload.NONE;
        }
    }

    /**
     * As {@link #ipOut(Ipv4Address, Ipv4Address, IpProtocol, ByteBuf, int)}, with {@code offload}
     * (or null) saying what the NIC completes. A packet with an offload is never fragmented: it
     * goes with DF, and a large one carries its whole length in the one IP header.
     */
    void ipOut(Ipv4Address src, Ipv4Address dst, IpProtocol protocol, ByteBuf payload, int ttl, L4Offload offload) {
        try {
            Route route = route(dst);
            Ipv4Address from = src.isUnspecified() ? route.iface().sourceFor(dst) : src;
            int id = nextIpId++ & 0xffff;
            int mtu = route.iface().mtu;
            int len = payload.readableBytes();
            if (len + 20 <= mtu || offload != null && offload.segmentSize() > 0) {
                sendIp(route, new Ipv4Repr(from, dst, protocol, len, ttl, id, true, false, 0, 0, 0), payload, offload);
                return;
            }
            if (offload != null) {
                finishChecksum(payload, offload); // fragments: no NIC completes a checksum across them
            }
            int per = (mtu - 20) / 8 * 8;
            for (int off = 0; off < len; off += per) {
                int n = Math.min(per, len - off);
                ByteBuf part = payload.retainedSlice(payload.readerIndex() + off, n);
                sendIp(route, new Ipv4Repr(from, dst, protocol, n, ttl, id, false, off + n < len, off, 0, 0), part, null);
            }
            stats.count("ip.out.fragmented");
            payload.release();
        } catch (ErrnoException e) {
            stats.count("ip.drop.no_route");
            payload.release();
        }
    }

    /** Where a packet goes: the interface, and the next hop on it. */
    record Route(Interface iface, Ipv4Address nextHop) {
    }

    /**
     * Routes looked up lately, by destination: every segment asks (for its offloads, its size and
     * its way out), and the answer changes only when an interface, address or route is added,
     * which empties this. Bounded: emptied when it grows past {@link #ROUTE_CACHE_MAX}.
     */
    private final Map<Ipv4Address, Route> routeCache = new HashMap<>();
    private static final int ROUTE_CACHE_MAX = 256;

    void topologyChanged() {
        routeCache.clear();
        if (ip6 != null) {
            ip6.routesChanged();
        }
    }

    Route route(Ipv4Address dst) throws ErrnoException {
        Route r = routeCache.get(dst);
        if (r == null) {
            r = lookupRoute(dst);
            if (routeCache.size() >= ROUTE_CACHE_MAX) {
                routeCache.clear();
            }
            routeCache.put(dst, r);
        }
        return r;
    }

    private Route lookupRoute(Ipv4Address dst) throws ErrnoException {
        if (dst.isBroadcast()) {
            for (Interface i : interfaces.values()) {
                if (!i.isLoopback() && !i.addresses.isEmpty()) {
                    return new Route(i, dst);
                }
            }
        }
        if (isLocal(dst)) {
            return new Route(interfaces.get("lo"), dst);
        }
        RouteTable.Route r = routes.lookup(dst).orElseThrow(
                () -> new ErrnoException(Errno.ENETUNREACH, "no route to " + dst));
        return new Route(iface(r.iface()), r.isDirect() ? dst : r.gateway());
    }

    /**
     * An IPv4 packet of ours whose next hop never answered ARP: the socket that sent it learns of it
     * as Linux's does, EHOSTUNREACH for a TCP connection still opening and a connected UDP socket.
     * Released here.
     */
    private void hostUnreachable(ByteBuf lost) {
        try {
            stats.count("ip.drop.neighbor_unreachable");
            Ipv4Packet p = Ipv4Packet.parse(lost, lost.readerIndex(), lost.readableBytes());
            Ipv4Repr ip = Ipv4Repr.parse(p);
            if (ip.fragmentOffset() == 0) {
                nextHopUnreachable(ip.protocol(), ip.source(), ip.destination(), lost, p.payloadIndex(), p.payloadLength());
            }
        } catch (ErrnoException e) {
            // not ours to name a socket for: counted above
        } finally {
            lost.release();
        }
    }

    /** Completes a partial transport checksum in software: what the NIC would have done. */
    static void finishChecksum(ByteBuf segment, L4Offload offload) {
        int at = segment.readerIndex();
        segment.setShort(at + offload.checksumOffset(), Checksum.compute(segment, at, segment.readableBytes()));
    }

    /**
     * Sends {@code payload} (released by this call, shorter than the MTU) to 255.255.255.255 on
     * {@code i} in a broadcast frame, from {@code src}, which may be 0.0.0.0: what a DHCP client
     * sends before the interface has an address, when no route could choose the interface.
     */
    void broadcastOn(Interface i, Ipv4Address src, IpProtocol protocol, ByteBuf payload) {
        int id = nextIpId++ & 0xffff;
        Ipv4Repr ip = new Ipv4Repr(src, Ipv4Address.BROADCAST, protocol, payload.readableBytes(), DEFAULT_TTL, id, true,
                false, 0, 0, 0);
        sendIp(new Route(i, Ipv4Address.BROADCAST), ip, payload, null);
    }

    private void sendIp(Route route, Ipv4Repr ip, ByteBuf payload, L4Offload offload) {
        Interface i = route.iface();
        if (offload != null && !i.offloads.contains(NicOffload.TX_CHECKSUM)
                || offload != null && offload.segmentSize() > 0 && !i.segmentsTcp()) {
            // The route changed under a sender that asked the old interface.
            if (offload.segmentSize() > 0) {
                stats.count("ip.drop.offload_unsupported");
                payload.release();
                return;
            }
            finishChecksum(payload, offload);
            offload = null;
        }
        ByteBuf packet;
        if (payload.readerIndex() >= ip.headerLength() + EthernetFrame.HEADER_LENGTH) {
            packet = payload.readerIndex(payload.readerIndex() - ip.headerLength()); // headroom: no copy
            ip.emit(packet, packet.readerIndex());
        } else {
            packet = Unpooled.buffer(ip.totalLength());
            ip.emit(packet, 0);
            packet.writerIndex(ip.headerLength());
            packet.writeBytes(payload);
            payload.release();
        }
        ipOutCount.incrementAndGet();
        if (i.isLoopback()) {
            host.scheduler().execute(() -> { // later, as if it came back in
                try {
                    ipIn(i, packet);
                } finally {
                    packet.release();
                }
            });
            return;
        }
        Ipv4Address hop = route.nextHop();
        FrameOffload frameOffload = FrameOffload.NONE;
        if (offload != null) {
            int start = EthernetFrame.HEADER_LENGTH + ip.headerLength();
            frameOffload = offload.segmentSize() > 0
                    ? FrameOffload.tcp4Segmentation(start, start + offload.headerLength(), offload.segmentSize())
                    : FrameOffload.checksum(start, offload.checksumOffset());
        }
        boolean broadcast = hop.isBroadcast() || i.isSubnetBroadcast(hop);
        if (broadcast) {
            ethernetOut(i, MacAddress.BROADCAST, EtherType.IPV4, packet, frameOffload);
            return;
        }
        if (offload != null && i.arp.lookup(hop, now()) == null) {
            // The packet would wait in the ARP queue, which keeps no offload: complete it now, or
            // drop a large segment and ask for the neighbour (TCP sends it again on its timer).
            if (offload.segmentSize() > 0) {
                stats.count("ip.drop.offload_unresolved");
                packet.release();
                sendArp(i, ArpRepr.Operation.REQUEST, MacAddress.BROADCAST, i.sourceFor(hop), MacAddress.of(0L), hop);
                return;
            }
            finishChecksum(packet.slice(packet.readerIndex() + ip.headerLength(), packet.readableBytes() - ip.headerLength()),
                    offload);
            frameOffload = FrameOffload.NONE;
        }
        ArpCache.Resolution r = i.arp.resolve(hop, packet, now());
        if (r.resolved()) {
            if (r.sendRequest()) { // refresh an entry in use before it expires: ask its MAC directly
                stats.count("arp.out.refresh");
                sendArp(i, ArpRepr.Operation.REQUEST, r.mac(), i.sourceFor(hop), MacAddress.of(0L), hop);
            }
            ethernetOut(i, r.mac(), EtherType.IPV4, packet, frameOffload);
        } else {
            if (r.sendRequest()) {
                sendArp(i, ArpRepr.Operation.REQUEST, MacAddress.BROADCAST, i.sourceFor(hop), MacAddress.of(0L), hop);
            }
            armTimer();
        }
    }

    void ethernetOut(Interface i, MacAddress to, EtherType type, ByteBuf payload) {
        ethernetOut(i, to, type, payload, FrameOffload.NONE);
    }

    void ethernetOut(Interface i, MacAddress to, EtherType type, ByteBuf payload, FrameOffload offload) {
        EthernetRepr eth = new EthernetRepr(to, i.mac, type);
        ByteBuf frame;
        if (payload.readerIndex() >= eth.headerLength()) {
            frame = payload.readerIndex(payload.readerIndex() - eth.headerLength()); // headroom: no copy
            eth.emit(frame, frame.readerIndex());
        } else {
            frame = Unpooled.buffer(eth.headerLength() + payload.readableBytes());
            eth.emit(frame, 0);
            frame.writerIndex(eth.headerLength());
            frame.writeBytes(payload);
            payload.release();
        }
        capture(i, frame);
        try {
            // The buffer's own cached view where it has one: a new ByteBuffer per frame is garbage.
            ByteBuffer bytes = frame.nioBufferCount() == 1
                    ? frame.internalNioBuffer(frame.readerIndex(), frame.readableBytes()) : frame.nioBuffer();
            // Lent: a host that passes it on as it is releases it when the receiver is done.
            i.nic.sendLent(bytes, offload, frame::release);
            if (offload.needsChecksum()) {
                stats.count(offload.needsSegmentation() ? "eth.out.large_segment" : "eth.out.checksum_offload");
            }
            ethOut.incrementAndGet();
        } catch (ErrnoException e) {
            stats.count("eth.drop.send_" + e.errno().name().toLowerCase());
        }
    }

    private void capture(Interface i, ByteBuf frame) {
        PcapWriter w = i.capture;
        if (w != null) {
            try {
                w.write(host.clock().wallNanos(), frame);
            } catch (IOException e) {
                stats.count("pcap.drop.io_error");
            }
        }
    }

    List<Interface> interfacesOnLoop() {
        return new ArrayList<>(interfaces.values());
    }
}
