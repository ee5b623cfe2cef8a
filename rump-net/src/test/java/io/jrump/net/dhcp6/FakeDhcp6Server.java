package io.jrump.net.dhcp6;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jrump.host.sim.SimHost;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.dhcp.Octets;
import io.jrump.net.dhcp6.Dhcp6Options.StatusCode;
import io.jrump.net.dns.DnsName;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A DHCPv6 server in the test: it gets the client's payloads as bytes (they must parse and emit
 * back to the same bytes), records them with the virtual time, and answers 1 ms later with a
 * Reply, as bytes, as far as its switches let it. Also the client's listener.
 */
final class FakeDhcp6Server implements Dhcp6InfoClient.Transport, Dhcp6InfoClient.Listener {
    static final MacAddress CLIENT_MAC = MacAddress.parse("02:00:00:00:00:01");
    /** A DUID-LLT: Ethernet, time 0x2a2a2a2a, MAC 02:00:00:00:00:fe. */
    static final Duid SERVER_DUID = new Duid(Octets.of(new byte[] {0, 1, 0, 1, 0x2a, 0x2a, 0x2a, 0x2a,
        2, 0, 0, 0, 0, (byte) 0xfe}));
    static final List<Ipv6Address> DNS = List.of(Ipv6Address.parse("2001:db8::53"), Ipv6Address.parse("2001:db8::54"));
    static final List<DnsName> SEARCH = List.of(DnsName.of("example", "test"), DnsName.of("lab", "example", "test"));
    static final long MS = 1_000_000L;
    static final long S = 1_000_000_000L;
    static final long WEEK = 7 * 24 * 3600L;

    /** One message the client sent. */
    record Sent(long nanos, Dhcp6Message message) {
        int elapsed() {
            return message.options().elapsedHundredths();
        }

        int xid() {
            return message.transactionId();
        }
    }

    final SimHost host;
    Dhcp6InfoClient client;
    final List<Sent> sent = new ArrayList<>();
    final List<Dhcp6Info> configured = new ArrayList<>();
    final List<Dhcp6Info> removed = new ArrayList<>();
    final List<StatusCode> failed = new ArrayList<>();
    final List<Dhcp6InfoClient.State> states = new ArrayList<>();

    boolean answer = true;
    /** The Information Refresh Time to send, or null for none. */
    Long refreshSeconds = WEEK;
    Long infMaxRtSeconds;
    Long solMaxRtSeconds;
    StatusCode status;
    /** Changes each reply before it is sent (to test what the client ignores). */
    UnaryOperator<Dhcp6Message> tamper = UnaryOperator.identity();

    FakeDhcp6Server(SimHost host) {
        this.host = host;
    }

    @Override
    public void send(ByteBuf payload) {
        byte[] bytes = new byte[payload.readableBytes()];
        payload.getBytes(payload.readerIndex(), bytes);
        Dhcp6Message m;
        try {
            m = Dhcp6Message.parse(payload);
        } catch (ErrnoException e) {
            throw new AssertionError("the client's payload does not parse: " + e.getMessage(), e);
        }
        ByteBuf again = m.toByteBuf();
        byte[] back = new byte[again.readableBytes()];
        again.getBytes(0, back);
        assertEquals(Octets.of(bytes), Octets.of(back), "parsed and emitted back to the same bytes");
        sent.add(new Sent(host.clock().monotonicNanos(), m));
        if (answer) {
            Dhcp6Message reply = tamper.apply(reply(m));
            host.scheduler().executeAt(host.clock().monotonicNanos() + MS, () -> client.receive(reply.toByteBuf()));
        }
    }

    /** The Reply to an Information-request, with this server's switches. */
    Dhcp6Message reply(Dhcp6Message request) {
        Dhcp6Options o = Dhcp6Options.builder().serverId(SERVER_DUID).clientId(request.options().clientId())
                .status(status).dnsServers(DNS).domainList(SEARCH).refreshSeconds(refreshSeconds)
                .infMaxRtSeconds(infMaxRtSeconds).solMaxRtSeconds(solMaxRtSeconds).build();
        return new Dhcp6Message(Dhcp6MessageType.REPLY, request.transactionId(), o);
    }

    List<Long> intervals() {
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < sent.size(); i++) {
            gaps.add(sent.get(i).nanos() - sent.get(i - 1).nanos());
        }
        return gaps;
    }

    @Override
    public void configured(Dhcp6Info info) {
        configured.add(info);
    }

    @Override
    public void failed(StatusCode s) {
        failed.add(s);
    }

    @Override
    public void removed(Dhcp6Info info) {
        removed.add(info);
    }

    @Override
    public void stateChanged(Dhcp6InfoClient.State s) {
        states.add(s);
    }
}
