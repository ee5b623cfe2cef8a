package io.jrump.net.dhcp;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostScheduler.ScheduledTask;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.Objects;

/**
 * A DHCPv4 client for one Ethernet interface: the state machine of RFC 2131 §4.4 with the
 * address conflict check of RFC 5227 before it binds. It neither opens sockets nor changes an
 * interface: it sends through a {@link Transport}, is given the replies by the caller
 * ({@link #receive}), and says what to configure through a {@link Listener}. Time, timers and
 * randomness (transaction IDs, backoff jitter) come from the host.
 *
 * <p>States: {@code start()} sends DHCPDISCOVER (SELECTING), retransmitted after 4, 8, 16, 32, then
 * every 64 seconds, each ±1 s at random; the first valid DHCPOFFER (an address usable by a host,
 * a Server Identifier) is requested (REQUESTING; the REQUEST is retransmitted the same way, and
 * after the fifth the client starts over); the DHCPACK's address is handed to the
 * {@link ConflictProbe} if there is one (PROBING), a conflict declines it (DHCPDECLINE) and starts
 * over after 10 seconds; then BOUND, with timers at T1 (RENEWING: DHCPREQUEST unicast to the
 * server, retransmitted after half the time left to T2, at least 60 s), T2 (REBINDING: broadcast,
 * half the time left to expiry, at least 60 s) and expiry (the address is removed, INIT). A DHCPNAK
 * in REQUESTING, REBOOTING, RENEWING or REBINDING drops any address and starts over.
 * {@code start(remembered)} is INIT-REBOOT (RFC 2131 §3.2, §4.3.2): a DHCPREQUEST for the
 * remembered address with no Server Identifier, broadcast (REBOOTING); a DHCPNAK, or no answer
 * to two sends (about 12 s: a server that does not know the lease may stay silent, as dnsmasq
 * does when not authoritative), starts over with DISCOVER. {@link #stop} releases a held lease
 * (DHCPRELEASE); {@link #stopKeepingLease} leaves it with the server, for a later INIT-REBOOT. Replies whose op, xid or chaddr are not this client's current exchange are
 * ignored and counted. The client does not wait the random 1–10 s RFC 2131 §4.4.1 suggests before
 * the first DISCOVER.
 *
 * <p>Not thread-safe: call it on the host's event loop, where its timers run.
 */
public final class DhcpClient {
    /** Retransmission intervals before jitter, in seconds (RFC 2131 §4.1). */
    static final int[] BACKOFF_SECONDS = {4, 8, 16, 32, 64};
    /** Random spread of each retransmission interval: ±1 s (RFC 2131 §4.1). */
    static final long JITTER_NANOS = 1_000_000_000L;
    /** REQUESTs sent in REQUESTING before starting over. */
    static final int REQUEST_ATTEMPTS = 5;
    /**
     * REQUESTs sent in REBOOTING before starting over with DISCOVER: two, about 4 + 8 s. RFC 2131
     * leaves the wait open; a server without the lease may never answer, and the client should
     * not wait the two minutes of five sends for it (dhcpcd waits 5 s by default).
     */
    static final int REBOOT_ATTEMPTS = 2;
    /** The least wait between retransmissions in RENEWING and REBINDING (RFC 2131 §4.4.5). */
    static final long MIN_RENEW_RETRANSMIT_NANOS = 60_000_000_000L;
    /** The wait after a DHCPDECLINE before starting over (RFC 2131 §3.1 step 5: at least 10 s). */
    static final long DECLINE_WAIT_NANOS = 10_000_000_000L;
    /** Asked for in DISCOVER and REQUEST: mask, router, DNS, domain, MTU, lease, T1, T2. */
    static final List<Integer> PARAMETERS = List.of(DhcpOption.SUBNET_MASK, DhcpOption.ROUTER,
            DhcpOption.DNS_SERVER, DhcpOption.DOMAIN_NAME, DhcpOption.INTERFACE_MTU, DhcpOption.LEASE_TIME,
            DhcpOption.RENEWAL_TIME, DhcpOption.REBINDING_TIME);
    private static final long SECOND = 1_000_000_000L;

    /** States of RFC 2131 §4.4 (Figure 5), with PROBING for the RFC 5227 check and STOPPED. */
    public enum State { STOPPED, INIT, SELECTING, REQUESTING, PROBING, BOUND, RENEWING, REBINDING, REBOOTING }

    /** How the client's messages leave; the caller wraps them in UDP 68 → 67. */
    public interface Transport {
        /** To 255.255.255.255 from 0.0.0.0 (or the bound address in REBINDING). */
        void broadcast(DhcpMessage message);

        /** To the server's address, from the bound address (RENEWING, RELEASE). */
        void unicast(Ipv4Address server, DhcpMessage message);
    }

    /** What to configure. Called on the event loop, from within the client's calls and timers. */
    public interface Listener {
        /**
         * Configure this lease: address and prefix, routers, DNS servers, domain, MTU. Called on
         * binding and again on each renewal (with new times, perhaps new parameters).
         */
        void apply(DhcpLease lease);

        /** Remove this lease's address and what came with it (expiry, DHCPNAK, release, stop). */
        void remove(DhcpLease lease);

        /** The client moved to {@code state}. */
        default void stateChanged(State state) {}
    }

    /**
     * The RFC 5227 check: the caller probes {@code address} with ARP and answers with
     * {@link #probeResult}.
     */
    public interface ConflictProbe {
        void probe(Ipv4Address address);
    }

    private final Hypercalls host;
    private final MacAddress mac;
    private final Transport transport;
    private final Listener listener;
    private final ConflictProbe probe;
    private final Octets clientId;

    private State state = State.STOPPED;
    private int xid;
    private long exchangeStartNanos;
    private int attempt;
    private ScheduledTask retransmit;
    private ScheduledTask t1Timer;
    private ScheduledTask t2Timer;
    private ScheduledTask expiryTimer;
    /** The OFFER being requested (REQUESTING). */
    private DhcpMessage offer;
    /** The address asked for in REBOOTING. */
    private Ipv4Address remembered;
    /** The ACKed lease being probed (PROBING). */
    private DhcpLease pending;
    /** The lease held (BOUND, RENEWING, REBINDING). */
    private DhcpLease lease;
    private long malformed;
    private long ignored;

    /**
     * @param probe null to bind without a conflict check
     */
    public DhcpClient(Hypercalls host, MacAddress mac, Transport transport, Listener listener, ConflictProbe probe) {
        this.host = Objects.requireNonNull(host, "host");
        this.mac = Objects.requireNonNull(mac, "mac");
        this.transport = Objects.requireNonNull(transport, "transport");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.probe = probe;
        byte[] id = new byte[1 + MacAddress.LENGTH];
        id[0] = 1; // hardware type Ethernet, then the MAC (RFC 2132 §9.14)
        System.arraycopy(mac.toBytes(), 0, id, 1, MacAddress.LENGTH);
        this.clientId = Octets.of(id);
    }

    /** INIT: looks for a server with DHCPDISCOVER. */
    public void start() {
        cancelAll();
        discover();
    }

    /** INIT-REBOOT: asks to keep {@code rememberedAddress}, from an earlier lease. */
    public void start(Ipv4Address rememberedAddress) {
        cancelAll();
        remembered = Objects.requireNonNull(rememberedAddress, "rememberedAddress");
        newExchange();
        enter(State.REBOOTING);
        sendReboot();
    }

    /** Stops: a held lease is released (DHCPRELEASE to its server) and removed; timers cancelled. */
    public void stop() {
        cancelAll();
        if (lease != null) {
            DhcpOptions o = DhcpOptions.builder(DhcpMessageType.RELEASE).serverId(lease.server()).clientId(clientId)
                    .build();
            transport.unicast(lease.server(), DhcpMessage.request(randomXid(), 0, false, lease.address(), mac, o));
            dropLease();
        }
        pending = null;
        enter(State.STOPPED);
    }

    /**
     * Stops without DHCPRELEASE: the server keeps the lease, so that a later {@code start(address)}
     * (INIT-REBOOT) may get it back; here its address is removed and the timers cancelled.
     */
    public void stopKeepingLease() {
        cancelAll();
        dropLease();
        pending = null;
        enter(State.STOPPED);
    }

    public State state() {
        return state;
    }

    /** The lease held, or null. */
    public DhcpLease lease() {
        return lease;
    }

    /** Received payloads that did not parse. */
    public long malformedCount() {
        return malformed;
    }

    /** Parsed replies not for this client's current exchange, or not valid in the current state. */
    public long ignoredCount() {
        return ignored;
    }

    /** A UDP payload received on port 68: parsed, dropped and counted if malformed. */
    public void receive(ByteBuf payload) {
        DhcpMessage m;
        try {
            m = DhcpMessage.parse(payload);
        } catch (ErrnoException e) {
            malformed++;
            return;
        }
        receive(m);
    }

    /** A reply from a server. */
    public void receive(DhcpMessage m) {
        if (m.op() != DhcpPacket.BOOTREPLY || m.xid() != xid || !m.chaddr().equals(mac)) {
            ignored++;
            return;
        }
        DhcpMessageType type = m.type();
        switch (state) {
            case SELECTING -> {
                if (type == DhcpMessageType.OFFER && usable(m.yiaddr()) && m.options().serverId() != null) {
                    cancel(retransmit);
                    offer = m;
                    attempt = 0;
                    enter(State.REQUESTING);
                    sendSelectingRequest();
                    return;
                }
            }
            case REQUESTING, REBOOTING -> {
                Ipv4Address chosen = state == State.REQUESTING ? offer.options().serverId() : null;
                Ipv4Address from = m.options().serverId();
                if (chosen != null && from != null && !chosen.equals(from)) {
                    break; // an answer from a server we did not choose
                }
                if (type == DhcpMessageType.NAK) {
                    discover();
                    return;
                }
                if (type == DhcpMessageType.ACK) {
                    DhcpLease l = leaseOf(m, from != null ? from : chosen);
                    if (l != null && (state == State.REQUESTING || l.address().equals(remembered))) {
                        acked(l);
                        return;
                    }
                }
            }
            case RENEWING, REBINDING -> {
                if (type == DhcpMessageType.NAK) {
                    dropLease();
                    discover();
                    return;
                }
                if (type == DhcpMessageType.ACK) {
                    DhcpLease l = leaseOf(m, m.options().serverId() != null ? m.options().serverId() : lease.server());
                    if (l != null) {
                        if (!l.address().equals(lease.address())) {
                            dropLease();
                        }
                        bind(l);
                        return;
                    }
                }
            }
            default -> { }
        }
        ignored++;
    }

    /** The answer to {@link ConflictProbe#probe}: binds, or declines the address if another host has it. */
    public void probeResult(Ipv4Address address, boolean conflict) {
        if (state != State.PROBING || !pending.address().equals(address)) {
            return;
        }
        DhcpLease l = pending;
        pending = null;
        if (!conflict) {
            bind(l);
            return;
        }
        DhcpOptions o = DhcpOptions.builder(DhcpMessageType.DECLINE).requestedAddress(l.address())
                .serverId(l.server()).clientId(clientId).build();
        transport.broadcast(DhcpMessage.request(xid, 0, false, Ipv4Address.ANY, mac, o));
        enter(State.INIT);
        retransmitAt(now() + DECLINE_WAIT_NANOS, this::discover);
    }

    // --- INIT, SELECTING, REQUESTING, REBOOTING

    private void discover() {
        cancelAll();
        offer = null;
        pending = null;
        enter(State.INIT);
        newExchange();
        enter(State.SELECTING);
        sendDiscover();
    }

    private void sendDiscover() {
        DhcpOptions o = DhcpOptions.builder(DhcpMessageType.DISCOVER).clientId(clientId)
                .parameterRequestList(PARAMETERS).build();
        transport.broadcast(DhcpMessage.request(xid, secs(), true, Ipv4Address.ANY, mac, o));
        retransmitAt(now() + backoff(attempt++), this::sendDiscover);
    }

    private void sendSelectingRequest() {
        if (attempt == REQUEST_ATTEMPTS) {
            discover();
            return;
        }
        DhcpOptions o = DhcpOptions.builder(DhcpMessageType.REQUEST).requestedAddress(offer.yiaddr())
                .serverId(offer.options().serverId()).clientId(clientId).parameterRequestList(PARAMETERS).build();
        transport.broadcast(DhcpMessage.request(xid, secs(), true, Ipv4Address.ANY, mac, o));
        retransmitAt(now() + backoff(attempt++), this::sendSelectingRequest);
    }

    private void sendReboot() {
        if (attempt == REBOOT_ATTEMPTS) {
            discover();
            return;
        }
        DhcpOptions o = DhcpOptions.builder(DhcpMessageType.REQUEST).requestedAddress(remembered)
                .clientId(clientId).parameterRequestList(PARAMETERS).build();
        transport.broadcast(DhcpMessage.request(xid, secs(), true, Ipv4Address.ANY, mac, o));
        retransmitAt(now() + backoff(attempt++), this::sendReboot);
    }

    private void acked(DhcpLease l) {
        cancel(retransmit);
        if (probe == null) {
            bind(l);
            return;
        }
        pending = l;
        enter(State.PROBING);
        probe.probe(l.address());
    }

    // --- BOUND, RENEWING, REBINDING

    private void bind(DhcpLease l) {
        cancelAll();
        lease = l;
        enter(State.BOUND);
        listener.apply(l);
        if (l.infinite()) {
            return;
        }
        long at = l.acquiredNanos();
        t1Timer = host.scheduler().executeAt(at + l.renewalSeconds() * SECOND, this::renew);
        t2Timer = host.scheduler().executeAt(at + l.rebindingSeconds() * SECOND, this::rebind);
        expiryTimer = host.scheduler().executeAt(at + l.leaseSeconds() * SECOND, this::expire);
    }

    private void renew() {
        cancel(retransmit);
        newExchange();
        enter(State.RENEWING);
        sendRenew();
    }

    private void sendRenew() {
        transport.unicast(lease.server(), renewRequest());
        long deadline = lease.acquiredNanos() + lease.rebindingSeconds() * SECOND;
        scheduleRenewRetransmit(deadline, this::sendRenew);
    }

    private void rebind() {
        cancel(retransmit);
        newExchange();
        enter(State.REBINDING);
        sendRebind();
    }

    private void sendRebind() {
        transport.broadcast(renewRequest());
        long deadline = lease.acquiredNanos() + lease.leaseSeconds() * SECOND;
        scheduleRenewRetransmit(deadline, this::sendRebind);
    }

    /** Half the time left to {@code deadline}, at least 60 s, none past it (RFC 2131 §4.4.5). */
    private void scheduleRenewRetransmit(long deadline, Runnable send) {
        long wait = Math.max(MIN_RENEW_RETRANSMIT_NANOS, (deadline - now()) / 2);
        if (now() + wait < deadline) {
            retransmitAt(now() + wait, send);
        }
    }

    private DhcpMessage renewRequest() {
        DhcpOptions o = DhcpOptions.builder(DhcpMessageType.REQUEST).clientId(clientId)
                .parameterRequestList(PARAMETERS).build();
        return DhcpMessage.request(xid, secs(), false, lease.address(), mac, o);
    }

    private void expire() {
        dropLease();
        discover();
    }

    private void dropLease() {
        DhcpLease l = lease;
        lease = null;
        if (l != null) {
            listener.remove(l);
        }
    }

    // --- helpers

    /**
     * The lease an ACK gives, or null if it lacks what a lease needs: a usable address, a lease
     * time, a contiguous mask (if any). T1 and T2 default to 1/2 and 7/8 of the lease (RFC 2131
     * §4.4.5), also when the server's are not T1 ≤ T2 ≤ lease.
     */
    private DhcpLease leaseOf(DhcpMessage ack, Ipv4Address server) {
        DhcpOptions o = ack.options();
        Ipv4Address address = ack.yiaddr();
        if (!usable(address) || o.leaseSeconds() == null || server == null) {
            return null;
        }
        int prefix;
        if (o.subnetMask() != null) {
            int m = o.subnetMask().bits();
            if (m == 0 || (~m & (~m + 1)) != 0) {
                return null; // not contiguous ones then zeros
            }
            prefix = Integer.bitCount(m);
        } else {
            int first = address.bits() >>> 24;
            prefix = first < 128 ? 8 : first < 192 ? 16 : 24;
        }
        long leaseSeconds = o.leaseSeconds();
        long t1 = o.renewalSeconds() != null ? o.renewalSeconds() : leaseSeconds / 2;
        long t2 = o.rebindingSeconds() != null ? o.rebindingSeconds() : leaseSeconds * 7 / 8;
        if (!(t1 <= t2 && t2 <= leaseSeconds)) {
            t1 = leaseSeconds / 2;
            t2 = leaseSeconds * 7 / 8;
        }
        return new DhcpLease(address, prefix, o.routers(), o.dnsServers(), o.domainName(),
                o.mtu() != null ? o.mtu() : 0, server, leaseSeconds, t1, t2, exchangeStartNanos);
    }

    /** An address a host may be given: not 0/8, loopback, multicast, reserved 240/4 or broadcast. */
    static boolean usable(Ipv4Address a) {
        int first = a.bits() >>> 24;
        return first != 0 && first != 127 && first < 224;
    }

    private void newExchange() {
        xid = randomXid();
        exchangeStartNanos = now();
        attempt = 0;
    }

    private int randomXid() {
        return (int) host.random().nextLong();
    }

    /** Seconds since the exchange began, for the secs field. */
    private int secs() {
        return (int) Math.min(0xffff, (now() - exchangeStartNanos) / SECOND);
    }

    /** The {@code n}-th retransmission interval: 4, 8, 16, 32, 64, 64, ... s, each ±1 s. */
    private long backoff(int n) {
        long base = BACKOFF_SECONDS[Math.min(n, BACKOFF_SECONDS.length - 1)] * SECOND;
        return base - JITTER_NANOS + (host.random().nextLong() >>> 1) % (2 * JITTER_NANOS + 1);
    }

    private long now() {
        return host.clock().monotonicNanos();
    }

    private void enter(State s) {
        if (state != s) {
            state = s;
            listener.stateChanged(s);
        }
    }

    /** The one pending send (or restart) of the current exchange; replaces any earlier one. */
    private void retransmitAt(long deadlineNanos, Runnable task) {
        cancel(retransmit);
        retransmit = host.scheduler().executeAt(deadlineNanos, task);
    }

    private void cancelAll() {
        cancel(retransmit);
        cancel(t1Timer);
        cancel(t2Timer);
        cancel(expiryTimer);
        retransmit = t1Timer = t2Timer = expiryTimer = null;
    }

    private static void cancel(ScheduledTask t) {
        if (t != null) {
            t.cancel();
        }
    }
}
