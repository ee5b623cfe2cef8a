package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.dhcp6.Dhcp6Info;
import io.jrump.net.dhcp6.Dhcp6InfoClient;
import io.jrump.net.dhcp6.Dhcp6InfoClient.State;
import io.jrump.net.dhcp6.Dhcp6Message;
import io.jrump.net.dhcp6.Dhcp6MessageType;
import io.jrump.net.dhcp6.Dhcp6Options;
import io.jrump.net.dhcp6.Dhcp6Options.StatusCode;
import io.jrump.net.dhcp6.Duid;
import io.jrump.net.dns.DnsName;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A stateless DHCPv6 client on the simulation host given messages the fuzzer shapes (a Reply or
 * another type, for the current transaction-id or another, with or without the identifiers,
 * status codes, DNS servers, search lists, refresh times, INF_MAX_RT and SOL_MAX_RT of any value,
 * then byte flips; or raw bytes), restarts and virtual time passing: no task throws, the client
 * holds information exactly in CONFIGURED and REFRESHING and it is what the listener was last
 * given, INF_MAX_RT stays in 60..86400, and within an exchange the retransmissions are at least
 * 0.9 s and at most 1.1 × 86400 s apart (bounded work, no burst, no stall).
 */
class Dhcp6InfoClientFuzzTest {
    private static final MacAddress MAC = MacAddress.parse("02:00:00:00:00:01");
    private static final Set<State> HOLDING = EnumSet.of(State.CONFIGURED, State.REFRESHING);
    private static final long S = 1_000_000_000L;

    record Sent(long nanos, Dhcp6Message message) {}

    @FuzzTest(maxDuration = "60s")
    void messagesIntoAClient(FuzzedDataProvider data) {
        SimWorld world = new SimWorld(1);
        SimHost host = world.newHost("client");
        List<Sent> sent = new ArrayList<>();
        Dhcp6Info[] given = new Dhcp6Info[1];
        Dhcp6InfoClient.Transport transport = payload -> {
            try {
                sent.add(new Sent(host.clock().monotonicNanos(), Dhcp6Message.parse(payload)));
            } catch (ErrnoException e) {
                throw new AssertionError("the client sent a payload that does not parse", e);
            }
        };
        Dhcp6InfoClient.Listener listener = new Dhcp6InfoClient.Listener() {
            @Override
            public void configured(Dhcp6Info info) {
                given[0] = info;
            }

            @Override
            public void removed(Dhcp6Info info) {
                assertSame(given[0], info, "removed what was not given");
                given[0] = null;
            }
        };
        Dhcp6InfoClient client = new Dhcp6InfoClient(host, MAC, transport, listener);
        client.start();
        int steps = data.consumeInt(1, 40);
        for (int i = 0; i < steps && data.remainingBytes() > 0; i++) {
            switch (data.consumeInt(0, 3)) {
                case 0 -> client.receive(message(data, client));
                case 1 -> client.receive(Unpooled.wrappedBuffer(data.consumeBytes(data.consumeInt(0, 600))));
                case 2 -> world.runFor(data.consumeLong(0, 30 * 86_400 * S));
                default -> {
                    if (data.consumeBoolean()) {
                        client.stop();
                    }
                    client.start();
                }
            }
            assertEquals(HOLDING.contains(client.state()), client.info() != null, "information in " + client.state());
            assertSame(given[0], client.info(), "the listener was given what the client holds");
            assertTrue(client.infMaxRtSeconds() >= 60 && client.infMaxRtSeconds() <= 86_400);
        }
        for (int k = 1; k < sent.size(); k++) {
            Sent a = sent.get(k - 1);
            Sent b = sent.get(k);
            if (a.message().transactionId() == b.message().transactionId() && b.message().options().elapsedHundredths() > 0) {
                long gap = b.nanos() - a.nanos();
                assertTrue(gap >= 900_000_000L && gap <= 86_400 * S * 11 / 10, "retransmitted after " + gap + " ns");
            }
        }
        client.stop();
        assertNull(given[0]);
        assertEquals(List.of(), world.failures(), "a task threw");
    }

    /** A server's message for the client's current exchange, shaped by the fuzzer, as bytes. */
    private static ByteBuf message(FuzzedDataProvider data, Dhcp6InfoClient client) {
        int type = data.consumeBoolean() ? Dhcp6MessageType.REPLY
                : data.pickValue(new Integer[] {Dhcp6MessageType.ADVERTISE, Dhcp6MessageType.RECONFIGURE, 200});
        int xid = data.consumeBoolean() ? client.transactionId() : data.consumeInt(0, 0xff_ffff);
        Dhcp6Options.Builder o = Dhcp6Options.builder();
        if (data.consumeBoolean()) {
            o.serverId(Duid.ll(MacAddress.of(0x02_00_00_00_00_feL)));
        }
        switch (data.consumeInt(0, 2)) {
            case 0 -> o.clientId(client.clientId());
            case 1 -> o.clientId(Duid.ll(MacAddress.of(data.consumeLong() & 0xffff_ffff_ffffL)));
            default -> { }
        }
        if (data.consumeBoolean()) {
            o.status(StatusCode.of(data.consumeInt(0, 0xffff), data.consumeString(20)));
        }
        int dns = data.consumeInt(0, 3);
        List<Ipv6Address> servers = new ArrayList<>();
        for (int k = 0; k < dns; k++) {
            servers.add(new Ipv6Address(data.consumeLong(), data.consumeLong()));
        }
        o.dnsServers(servers);
        if (data.consumeBoolean()) {
            o.domainList(List.of(DnsName.of("example", "test"), DnsName.of("x")));
        }
        if (data.consumeBoolean()) {
            o.refreshSeconds(data.consumeLong(0, Dhcp6Options.INFINITY));
        }
        if (data.consumeBoolean()) {
            o.infMaxRtSeconds(data.consumeLong(0, Dhcp6Options.INFINITY));
        }
        if (data.consumeBoolean()) {
            o.solMaxRtSeconds(data.consumeLong(0, Dhcp6Options.INFINITY));
        }
        ByteBuf b = new Dhcp6Message(type, xid, o.build()).toByteBuf();
        int flips = data.consumeInt(0, 3);
        for (int f = 0; f < flips; f++) {
            b.setByte(data.consumeInt(0, b.readableBytes() - 1), data.consumeByte());
        }
        return b;
    }
}
