package io.jrump.net.dhcp;

import io.jrump.hypercall.MacAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.Ipv4Address;
import io.jrump.net.Tshark;
import io.jrump.net.dhcp.DhcpClient.State;
import io.jrump.net.dhcp.FakeServer.Sent;
import io.jrump.net.pcap.PcapWriter;
import io.jrump.net.wire.EtherType;
import io.jrump.net.wire.EthernetRepr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv4Repr;
import io.jrump.net.wire.UdpRepr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The outside oracle: the client's DISCOVER, REQUEST, DECLINE and RELEASE, in UDP 68 → 67 over
 * IPv4 and Ethernet in a pcap, decode in tshark as DHCP with the options the client set, their
 * checksums good and nothing malformed. Fails (does not skip) without tshark.
 */
class DhcpTsharkTest {
    @Test
    void theClientsMessagesDecodeCleanlyInTshark(@TempDir Path dir) throws Exception {
        DhcpClientTest t = new DhcpClientTest();
        DhcpClient c = t.client(true);
        c.start();
        assertTrue(t.runUntil(c, State.PROBING, Duration.ofSeconds(1)));
        c.probeResult(Ipv4Address.parse("198.18.0.100"), true);
        assertTrue(t.runUntil(c, State.PROBING, Duration.ofSeconds(20)));
        c.probeResult(Ipv4Address.parse("198.18.0.101"), false);
        c.stop();
        List<Sent> sent = t.server.sent;
        assertEquals(List.of(DhcpMessageType.DISCOVER, DhcpMessageType.REQUEST, DhcpMessageType.DECLINE,
                DhcpMessageType.DISCOVER, DhcpMessageType.REQUEST, DhcpMessageType.RELEASE),
                sent.stream().map(Sent::type).toList());
        Path file = dir.resolve("dhcp.pcap");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             PcapWriter pcap = PcapWriter.open(ch)) {
            long wall = 1_767_225_600L * 1_000_000_000L;
            for (Sent s : sent) {
                Ipv4Address from = s.unicastTo() == null ? Ipv4Address.ANY : s.message().ciaddr();
                Ipv4Address to = s.unicastTo() == null ? Ipv4Address.BROADCAST : s.unicastTo();
                MacAddress dst = s.unicastTo() == null ? MacAddress.BROADCAST : MacAddress.parse("02:00:00:00:00:fe");
                pcap.write(wall + s.nanos(), frame(DhcpClientTest.MAC, dst, from, to, s.message()));
            }
        }
        String out = Tshark.run(file, "-V", "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE");
        for (String type : List.of("Discover", "Request", "Decline", "Release")) {
            assertTrue(out.contains("Dynamic Host Configuration Protocol (" + type + ")"), type + " in\n" + out);
        }
        for (String expected : List.of("Magic cookie: DHCP", "Client MAC address: 02:00:00:00:00:01",
                "Option: (61) Client identifier", "Option: (55) Parameter Request List",
                "Parameter Request List Item: (1) Subnet Mask", "Parameter Request List Item: (59) Rebinding Time Value",
                "Option: (50) Requested IP Address (198.18.0.100)", "Option: (54) DHCP Server Identifier (198.18.0.1)",
                "Option: (255) End", "Client IP address: 198.18.0.101", "Bootp flags: 0x8000, Broadcast flag (Broadcast)",
                "[Checksum Status: Good]")) {
            assertTrue(out.contains(expected), "'" + expected + "' in\n" + out);
        }
        String flagged = Tshark.run(file, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                "-Y", "_ws.malformed || _ws.expert.severity >= warning || ip.checksum.status == \"Bad\""
                        + " || udp.checksum.status == \"Bad\" || !dhcp");
        assertEquals("", flagged.strip(), "tshark flags these frames");
    }

    /** The message in UDP 68 → 67 in IPv4 in Ethernet, as the stack would send it. */
    static ByteBuf frame(MacAddress src, MacAddress dst, Ipv4Address from, Ipv4Address to, DhcpMessage m) {
        ByteBuf payload = m.toByteBuf();
        UdpRepr udp = new UdpRepr(68, 67, payload);
        Ipv4Repr ip = Ipv4Repr.of(from, to, IpProtocol.UDP, udp.bufferLength(), 64, 0);
        EthernetRepr eth = new EthernetRepr(dst, src, EtherType.IPV4);
        int length = eth.headerLength() + ip.totalLength();
        ByteBuf b = Unpooled.buffer(length).writerIndex(length);
        eth.emit(b, 0);
        ip.emit(b, eth.headerLength());
        udp.emit(b, eth.headerLength() + ip.headerLength(), from, to);
        return b;
    }

}
