package io.jrump.net.stack;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostScheduler.ScheduledTask;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.dhcp.DhcpClient;
import io.jrump.net.dhcp.DhcpLease;
import io.jrump.net.dhcp.DhcpMessage;
import io.jrump.net.ip.RouteTable;
import io.jrump.net.socket.LoopCalls;
import io.jrump.net.wire.ArpRepr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.UdpRepr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * A {@link DhcpClient} running on one interface of a {@link NetStack} (from
 * {@link NetStack#startDhcp}): its messages leave as UDP 68 → 67 (broadcast from 0.0.0.0 before
 * the interface has an address), what arrives on port 68 from port 67 goes to it, the RFC 5227
 * probe is sent through the interface's ARP, and the lease is applied to the interface (address
 * and prefix, a default route through the first router, the MTU) and removed when it ends. Its
 * internals run on the kernel's event loop; the public methods may be called from any thread.
 * {@link Options} choose INIT-REBOOT (a remembered address asked for first) and whether the
 * RFC 5227 probe runs.
 */
public final class DhcpSession {
    /**
     * How a session starts.
     *
     * @param remembered an address from an earlier lease, asked for first (INIT-REBOOT, RFC 2131
     *     §3.2: a broadcast DHCPREQUEST with option 50 and no Server Identifier; a DHCPNAK or no
     *     answer falls back to DISCOVER), or null to start with DISCOVER
     * @param conflictProbe whether the ACKed address is probed with ARP before it is used
     *     (RFC 5227, 4–7 s); off, the address is used as soon as the DHCPACK arrives
     */
    public record Options(Ipv4Address remembered, boolean conflictProbe) {
        /** DISCOVER, with the RFC 5227 probe. */
        public static final Options DEFAULTS = new Options(null, true);

        public Options withRemembered(Ipv4Address address) {
            return new Options(address, conflictProbe);
        }

        public Options withConflictProbe(boolean probe) {
            return new Options(remembered, probe);
        }
    }

    static final int CLIENT_PORT = 68;
    static final int SERVER_PORT = 67;
    /** RFC 5227 §1.1: a random wait of up to PROBE_WAIT, PROBE_NUM probes PROBE_MIN..PROBE_MAX apart, ANNOUNCE_WAIT. */
    static final long PROBE_WAIT_NANOS = 1_000_000_000L;
    static final int PROBE_NUM = 3;
    static final long PROBE_MIN_NANOS = 1_000_000_000L;
    static final long PROBE_MAX_NANOS = 2_000_000_000L;
    static final long ANNOUNCE_WAIT_NANOS = 2_000_000_000L;
    /** The least MTU a lease may set (RFC 2132 §5.1). */
    static final int MIN_MTU = 68;

    private final NetStack stack;
    private final LoopCalls calls;
    private final Interface iface;
    private final DhcpClient client;
    /** The lease configured on the interface, or null. */
    private DhcpLease applied;
    /** Whether this session added the lease's address (false if the interface had it already). */
    private boolean addedAddress;
    /** The default route this session added, or null. */
    private RouteTable.Route addedRoute;
    /** The address being probed with ARP, or null. */
    private Ipv4Address probing;
    private int probesSent;
    private ScheduledTask probeTask;
    private final Options options;

    DhcpSession(NetStack stack, LoopCalls calls, Interface iface, Options options) {
        this.stack = stack;
        this.calls = calls;
        this.iface = iface;
        this.options = options;
        this.client = new DhcpClient(stack.host(), iface.mac, new Transport(), new Listener(),
                options.conflictProbe() ? this::probe : null);
    }

    /** The interface this client runs on. */
    public String interfaceName() {
        return iface.name;
    }

    /** The client's state. */
    public DhcpClient.State state() throws ErrnoException {
        return calls.run(client::state);
    }

    /** The lease held, or null. */
    public DhcpLease lease() throws ErrnoException {
        return calls.run(client::lease);
    }

    /** The lease held, or null, for the stack on its loop. */
    DhcpLease leaseOnLoop() {
        return client.lease();
    }

    /**
     * Stops the client: a held lease is released (DHCPRELEASE) and its address, route and MTU
     * removed. Stopping twice does nothing more.
     */
    public void stop() throws ErrnoException {
        calls.run(() -> {
            if (iface.dhcp == this) {
                cancelProbe();
                client.stop();
                iface.dhcp = null;
            }
            return null;
        });
    }

    /**
     * Stops the client without DHCPRELEASE: the server keeps the lease (for an INIT-REBOOT by a
     * later session); the address, route and MTU are removed here all the same.
     */
    public void stopKeepingLease() throws ErrnoException {
        calls.run(() -> {
            if (iface.dhcp == this) {
                cancelProbe();
                client.stopKeepingLease();
                iface.dhcp = null;
            }
            return null;
        });
    }

    // ---- on the loop -------------------------------------------------------------------------

    void start() {
        if (options.remembered() != null) {
            client.start(options.remembered());
        } else {
            client.start();
        }
    }

    /** A UDP payload from port 67 to port 68 on this interface. */
    void receive(ByteBuf payload) {
        client.receive(payload);
    }

    /** An ARP packet received on this interface: a conflict for the address being probed? (RFC 5227 §2.1.1) */
    void arpSeen(ArpRepr arp) {
        Ipv4Address a = probing;
        if (a == null || arp.senderHardwareAddress().equals(iface.mac)) {
            return;
        }
        boolean conflict = arp.senderProtocolAddress().equals(a)
                || arp.operation() == ArpRepr.Operation.REQUEST && arp.senderProtocolAddress().isUnspecified()
                        && arp.targetProtocolAddress().equals(a);
        if (conflict) {
            stack.statsCounter().count("dhcp.probe.conflict");
            cancelProbe();
            client.probeResult(a, true);
        }
    }

    private void probe(Ipv4Address address) {
        cancelProbe();
        probing = address;
        probesSent = 0;
        probeTask = at(random(0, PROBE_WAIT_NANOS), this::sendProbe);
    }

    private void sendProbe() {
        if (probing == null || stack.isStopped()) {
            return;
        }
        stack.statsCounter().count("dhcp.probe.out");
        stack.sendArp(iface, ArpRepr.Operation.REQUEST, MacAddress.BROADCAST, Ipv4Address.ANY, MacAddress.of(0L),
                probing);
        probesSent++;
        probeTask = probesSent < PROBE_NUM
                ? at(random(PROBE_MIN_NANOS, PROBE_MAX_NANOS), this::sendProbe)
                : at(ANNOUNCE_WAIT_NANOS, this::probeDone);
    }

    private void probeDone() {
        Ipv4Address a = probing;
        probing = null;
        probeTask = null;
        if (a != null) {
            client.probeResult(a, false);
        }
    }

    private void cancelProbe() {
        probing = null;
        if (probeTask != null) {
            probeTask.cancel();
            probeTask = null;
        }
    }

    private ScheduledTask at(long delayNanos, Runnable task) {
        return stack.host().scheduler().executeAt(stack.now() + delayNanos, task);
    }

    private long random(long min, long max) {
        return min + (stack.host().random().nextLong() >>> 1) % (max - min + 1);
    }

    /** The lease's address once it is configured (RENEWING, REBINDING, RELEASE), else 0.0.0.0. */
    private Ipv4Address boundAddress() {
        return applied != null && iface.owns(applied.address()) ? applied.address() : Ipv4Address.ANY;
    }

    private static ByteBuf udp(DhcpMessage m, Ipv4Address from, Ipv4Address to) {
        UdpRepr udp = new UdpRepr(CLIENT_PORT, SERVER_PORT, m.toByteBuf());
        ByteBuf b = Unpooled.buffer(udp.bufferLength());
        udp.emit(b, 0, from, to);
        b.writerIndex(udp.bufferLength());
        return b;
    }

    private final class Transport implements DhcpClient.Transport {
        @Override
        public void broadcast(DhcpMessage message) {
            if (stack.isStopped()) {
                return;
            }
            Ipv4Address from = boundAddress();
            stack.statsCounter().count("dhcp.out");
            stack.broadcastOn(iface, from, IpProtocol.UDP, udp(message, from, Ipv4Address.BROADCAST));
        }

        @Override
        public void unicast(Ipv4Address server, DhcpMessage message) {
            if (stack.isStopped()) {
                return;
            }
            Ipv4Address from = boundAddress();
            if (from.isUnspecified()) {
                stack.statsCounter().count("dhcp.drop.unicast_without_address");
                return;
            }
            stack.statsCounter().count("dhcp.out");
            stack.ipOut(from, server, IpProtocol.UDP, udp(message, from, server), NetStack.DEFAULT_TTL);
        }
    }

    private final class Listener implements DhcpClient.Listener {
        @Override
        public void apply(DhcpLease lease) {
            if (applied != null && sameConfiguration(applied, lease)) {
                applied = lease; // a renewal: new times, the same configuration
                return;
            }
            if (applied != null) {
                unapply();
            }
            applied = lease;
            try {
                addedAddress = !iface.owns(lease.address());
                if (addedAddress) {
                    stack.addAddress(iface, lease.address(), lease.prefixLength());
                }
                if (!lease.routers().isEmpty()) {
                    Ipv4Address router = lease.routers().get(0);
                    RouteTable.Route onLink = stack.onLinkRoute(router);
                    RouteTable.Route route = new RouteTable.Route(Ipv4Address.ANY, 0, router, iface.name, 0);
                    if (onLink != null && onLink.iface().equals(iface.name) && !stack.routesOnLoop().contains(route)) {
                        stack.addRouteOnLoop(route);
                        addedRoute = route;
                    }
                }
                if (lease.mtu() >= MIN_MTU && lease.mtu() < iface.nicMtu) {
                    iface.mtu = lease.mtu();
                }
                stack.statsCounter().count("dhcp.lease.applied");
            } catch (ErrnoException e) {
                stack.statsCounter().count("dhcp.lease.apply_failed");
            }
        }

        @Override
        public void remove(DhcpLease lease) {
            unapply();
            applied = null;
        }
    }

    private static boolean sameConfiguration(DhcpLease a, DhcpLease b) {
        return a.address().equals(b.address()) && a.prefixLength() == b.prefixLength()
                && a.routers().equals(b.routers()) && a.mtu() == b.mtu();
    }

    /** Removes what {@link Listener#apply} configured. */
    private void unapply() {
        if (addedRoute != null) {
            try {
                stack.removeRouteOnLoop(addedRoute);
            } catch (ErrnoException e) {
                // removed by hand meanwhile
            }
            addedRoute = null;
        }
        if (applied != null && addedAddress) {
            try {
                stack.removeAddress(iface, applied.address(), applied.prefixLength());
            } catch (ErrnoException e) {
                // removed by hand meanwhile
            }
        }
        addedAddress = false;
        iface.mtu = iface.nicMtu;
        stack.statsCounter().count("dhcp.lease.removed");
    }
}
