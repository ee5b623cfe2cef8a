package io.jrump.net.dhcp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jrump.host.sim.SimHost;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A DHCP server in the test: it gets the client's messages as bytes (checking they parse back to
 * what the client sent), records them with the virtual time, and answers 1 ms later, as bytes,
 * as far as its switches let it.
 */
final class FakeServer implements DhcpClient.Transport, DhcpClient.Listener {
    static final Ipv4Address SERVER = Ipv4Address.parse("198.18.0.1");
    static final Ipv4Address ROUTER = Ipv4Address.parse("198.18.0.254");
    static final List<Ipv4Address> DNS = List.of(Ipv4Address.parse("198.18.0.53"), Ipv4Address.parse("198.18.0.54"));
    static final long WEEK = 7 * 24 * 3600L;
    static final long MS = 1_000_000L;

    /** One message the client sent. */
    record Sent(long nanos, DhcpMessage message, Ipv4Address unicastTo) {
        DhcpMessageType type() {
            return message.type();
        }
    }

    final SimHost host;
    DhcpClient client;
    final List<Sent> sent = new ArrayList<>();
    final List<DhcpLease> applied = new ArrayList<>();
    final List<DhcpLease> removed = new ArrayList<>();
    final List<DhcpClient.State> states = new ArrayList<>();
    final List<Long> stateNanos = new ArrayList<>();

    /** The next address offered; {@link #decline} moves it on. */
    Ipv4Address pool = Ipv4Address.parse("198.18.0.100");
    boolean answerDiscover = true;
    boolean answerSelectingRequest = true;
    int naksLeft;
    boolean answerRenew = true;
    boolean answerRebind = true;
    boolean nakRenew;
    boolean nakReboot;
    /** Whether INIT-REBOOT REQUESTs are answered at all (a server without the lease may be silent). */
    boolean answerReboot = true;
    long leaseSeconds = WEEK;
    /** T1 and T2 to send (58, 59), or null for none. */
    Long renewalSeconds;
    Long rebindingSeconds;
    /** Changes each reply before it is sent (to test what the client ignores). */
    UnaryOperator<DhcpMessage> tamper = UnaryOperator.identity();

    FakeServer(SimHost host) {
        this.host = host;
    }

    @Override
    public void broadcast(DhcpMessage message) {
        handle(message, null);
    }

    @Override
    public void unicast(Ipv4Address server, DhcpMessage message) {
        handle(message, server);
    }

    private void handle(DhcpMessage message, Ipv4Address to) {
        ByteBuf bytes = message.toByteBuf();
        DhcpMessage wire;
        try {
            wire = DhcpMessage.parse(bytes);
        } catch (ErrnoException e) {
            throw new AssertionError("the client's " + message + " does not parse: " + e.getMessage(), e);
        }
        assertEquals(message, wire, "emitted and parsed back");
        sent.add(new Sent(host.clock().monotonicNanos(), message, to));
        DhcpOptions o = message.options();
        switch (o.messageType()) {
            case DISCOVER -> {
                if (answerDiscover) {
                    reply(message, DhcpMessageType.OFFER, pool);
                }
            }
            case REQUEST -> {
                boolean selecting = o.serverId() != null;
                boolean rebooting = o.serverId() == null && message.ciaddr().isUnspecified();
                boolean renewing = !selecting && !rebooting && to != null;
                if (rebooting) {
                    if (!answerReboot) {
                        return;
                    }
                    if (nakReboot) {
                        reply(message, DhcpMessageType.NAK, Ipv4Address.ANY);
                    } else {
                        reply(message, DhcpMessageType.ACK, o.requestedAddress());
                    }
                } else if (selecting) {
                    if (!answerSelectingRequest) {
                        return;
                    }
                    if (naksLeft > 0) {
                        naksLeft--;
                        reply(message, DhcpMessageType.NAK, Ipv4Address.ANY);
                    } else {
                        reply(message, DhcpMessageType.ACK, o.requestedAddress());
                    }
                } else if (renewing ? answerRenew : answerRebind) {
                    reply(message, nakRenew ? DhcpMessageType.NAK : DhcpMessageType.ACK,
                            nakRenew ? Ipv4Address.ANY : message.ciaddr());
                }
            }
            case DECLINE -> pool = new Ipv4Address(pool.bits() + 1);
            default -> { }
        }
    }

    private void reply(DhcpMessage request, DhcpMessageType type, Ipv4Address yiaddr) {
        DhcpOptions.Builder o = DhcpOptions.builder(type).serverId(SERVER);
        if (type != DhcpMessageType.NAK) {
            o.leaseSeconds(leaseSeconds).subnetMask(Ipv4Address.parse("255.255.255.0")).routers(List.of(ROUTER))
                    .dnsServers(DNS).domainName("example.test").mtu(1400).renewalSeconds(renewalSeconds)
                    .rebindingSeconds(rebindingSeconds);
        }
        DhcpMessage reply = tamper.apply(new DhcpMessage(DhcpPacket.BOOTREPLY, 0, request.xid(), 0,
                request.broadcast(), Ipv4Address.ANY, yiaddr, SERVER, Ipv4Address.ANY, request.chaddr(), o.build()));
        ByteBuf bytes = reply.toByteBuf();
        host.scheduler().executeAt(host.clock().monotonicNanos() + MS, () -> client.receive(bytes));
    }

    static DhcpMessage withXid(DhcpMessage m, int xid) {
        return new DhcpMessage(m.op(), m.hops(), xid, m.secs(), m.broadcast(), m.ciaddr(), m.yiaddr(), m.siaddr(),
                m.giaddr(), m.chaddr(), m.options());
    }

    static DhcpMessage withChaddr(DhcpMessage m, MacAddress chaddr) {
        return new DhcpMessage(m.op(), m.hops(), m.xid(), m.secs(), m.broadcast(), m.ciaddr(), m.yiaddr(),
                m.siaddr(), m.giaddr(), chaddr, m.options());
    }

    List<Sent> sent(DhcpMessageType type) {
        return sent.stream().filter(s -> s.type() == type).toList();
    }

    @Override
    public void apply(DhcpLease lease) {
        applied.add(lease);
    }

    @Override
    public void remove(DhcpLease lease) {
        removed.add(lease);
    }

    @Override
    public void stateChanged(DhcpClient.State state) {
        states.add(state);
        stateNanos.add(host.clock().monotonicNanos());
    }
}
