package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.dhcp.DhcpClient;
import io.jrump.net.dhcp.DhcpClient.State;
import io.jrump.net.dhcp.DhcpLease;
import io.jrump.net.dhcp.DhcpMessage;
import io.jrump.net.dhcp.DhcpMessageType;
import io.jrump.net.dhcp.DhcpOptions;
import io.jrump.net.dhcp.DhcpPacket;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A DHCP client on the simulation host given replies the fuzzer shapes (OFFER, ACK or NAK for its
 * current exchange with fuzzer-chosen addresses, times and byte flips, or raw bytes), probe
 * answers, stops and restarts, and virtual time passing: no task throws, the client holds a lease
 * exactly in BOUND, RENEWING and REBINDING, and the listener is told to remove exactly what it
 * was told to apply.
 */
class DhcpClientFuzzTest {
    private static final MacAddress MAC = MacAddress.parse("02:00:00:00:00:01");
    private static final Set<State> HOLDING = EnumSet.of(State.BOUND, State.RENEWING, State.REBINDING);

    @FuzzTest(maxDuration = "60s")
    void repliesIntoAClient(FuzzedDataProvider data) {
        SimWorld world = new SimWorld(1);
        SimHost host = world.newHost("client");
        List<DhcpMessage> sent = new ArrayList<>();
        List<Ipv4Address> probed = new ArrayList<>();
        Ipv4Address[] held = new Ipv4Address[1];
        DhcpClient.Transport transport = new DhcpClient.Transport() {
            @Override
            public void broadcast(DhcpMessage m) {
                sent.add(m);
            }

            @Override
            public void unicast(Ipv4Address server, DhcpMessage m) {
                sent.add(m);
            }
        };
        DhcpClient.Listener listener = new DhcpClient.Listener() {
            @Override
            public void apply(DhcpLease lease) {
                assertTrue(held[0] == null || held[0].equals(lease.address()), "applied over another address");
                held[0] = lease.address();
            }

            @Override
            public void remove(DhcpLease lease) {
                assertEquals(held[0], lease.address(), "removed what was not applied");
                held[0] = null;
            }
        };
        DhcpClient client = new DhcpClient(host, MAC, transport, listener,
                data.consumeBoolean() ? probed::add : null);
        if (data.consumeBoolean()) {
            client.start();
        } else {
            client.start(Ipv4Address.parse("198.18.0.77"));
        }
        int steps = data.consumeInt(1, 40);
        for (int i = 0; i < steps && data.remainingBytes() > 0; i++) {
            switch (data.consumeInt(0, 4)) {
                case 0 -> client.receive(reply(data, sent.get(sent.size() - 1)));
                case 1 -> client.receive(Unpooled.wrappedBuffer(data.consumeBytes(data.consumeInt(0, 600))));
                case 2 -> world.runFor(data.consumeLong(0, 86_400_000_000_000L));
                case 3 -> {
                    if (!probed.isEmpty()) {
                        client.probeResult(probed.get(probed.size() - 1), data.consumeBoolean());
                    }
                }
                default -> {
                    if (data.consumeBoolean()) {
                        client.stop();
                    } else {
                        client.stopKeepingLease(); // no RELEASE; the address is removed all the same
                    }
                    if (data.consumeBoolean()) {
                        client.start();
                    } else {
                        client.start(Ipv4Address.parse("198.18.0.77"));
                    }
                }
            }
            assertEquals(HOLDING.contains(client.state()), client.lease() != null, "lease in " + client.state());
            if (client.lease() != null) {
                assertNotNull(held[0]);
                assertEquals(client.lease().address(), held[0]);
            } else {
                assertNull(held[0], "an address left applied in " + client.state());
            }
        }
        client.stop();
        assertNull(held[0]);
        assertEquals(List.of(), world.failures(), "a task threw");
    }

    /** A server's answer to the client's last message, shaped by the fuzzer, as bytes. */
    private static ByteBuf reply(FuzzedDataProvider data, DhcpMessage last) {
        DhcpMessageType type = data.pickValue(new DhcpMessageType[] {
            DhcpMessageType.OFFER, DhcpMessageType.ACK, DhcpMessageType.NAK});
        Ipv4Address server = Ipv4Address.of(198, 18, 0, data.consumeInt(1, 3));
        DhcpOptions.Builder o = DhcpOptions.builder(type);
        if (data.consumeBoolean()) {
            o.serverId(server);
        }
        if (data.consumeBoolean()) {
            o.leaseSeconds(data.consumeLong(0, DhcpOptions.INFINITE));
        }
        if (data.consumeBoolean()) {
            o.renewalSeconds(data.consumeLong(0, DhcpOptions.INFINITE));
            o.rebindingSeconds(data.consumeLong(0, DhcpOptions.INFINITE));
        }
        if (data.consumeBoolean()) {
            o.subnetMask(new Ipv4Address(data.consumeInt()));
        }
        Ipv4Address yiaddr = data.consumeBoolean() ? Ipv4Address.of(198, 18, 0, data.consumeInt(0, 255))
                : new Ipv4Address(data.consumeInt());
        DhcpMessage m = new DhcpMessage(DhcpPacket.BOOTREPLY, 0, last.xid(), 0, false, Ipv4Address.ANY, yiaddr,
                server, Ipv4Address.ANY, MAC, o.build());
        ByteBuf b = m.toByteBuf();
        int flips = data.consumeInt(0, 3);
        for (int f = 0; f < flips; f++) {
            b.setByte(data.consumeInt(0, b.readableBytes() - 1), data.consumeByte());
        }
        return b;
    }
}
