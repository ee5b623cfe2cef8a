package io.jrump.net.dhcp6;

import io.jrump.hypercall.MacAddress;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.Ipv6Address;
import io.jrump.net.Tshark;
import io.jrump.net.dhcp6.Dhcp6InfoClient.State;
import io.jrump.net.dhcp6.Dhcp6Options.StatusCode;
import io.jrump.net.pcap.PcapWriter;
import io.jrump.net.wire.Checksum;
import io.jrump.net.wire.EtherType;
import io.jrump.net.wire.EthernetRepr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv6Repr;
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
 * The outside oracle: the client's Information-request (first and a retransmission) and the
 * Replies the test server builds (success with DNS servers, search list and refresh time, and a
 * NoAddrsAvail one), in UDP over IPv6 (link-local to ff02::1:2, 546 → 547, and back) in Ethernet
 * in a pcap, decode in tshark as DHCPv6 with the fields we set, checksums good, nothing malformed,
 * no expert warning. Fails (does not skip) without tshark.
 */
class Dhcp6TsharkTest {
    static final MacAddress SERVER_MAC = MacAddress.parse("02:00:00:00:00:fe");
    static final Ipv6Address CLIENT_LL = Ipv6Address.parse("fe80::ff:fe00:1");
    static final Ipv6Address SERVER_LL = Ipv6Address.parse("fe80::ff:fe00:fe");

    @Test
    void requestsAndRepliesDecodeCleanlyInTshark(@TempDir Path dir) throws Exception {
        Dhcp6InfoClientTest t = new Dhcp6InfoClientTest();
        FakeDhcp6Server server = t.server;
        server.answer = false;
        Dhcp6InfoClient c = t.client();
        c.start();
        t.world.runFor(Duration.ofSeconds(2));
        assertEquals(State.REQUESTING, c.state());
        List<Dhcp6Message> request = List.of(server.sent.get(0).message(), server.sent.get(1).message());
        server.infMaxRtSeconds = 600L;
        server.solMaxRtSeconds = 120L;
        Dhcp6Message ok = server.reply(request.get(1));
        server.status = StatusCode.of(StatusCode.NO_ADDRS_AVAIL, "no addresses here");
        Dhcp6Message failed = server.reply(request.get(1));
        c.receive(ok.toByteBuf());
        assertEquals(State.CONFIGURED, c.state(), "the Reply written to the capture is one the client accepts");

        Path file = dir.resolve("dhcp6.pcap");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             PcapWriter pcap = PcapWriter.open(ch)) {
            long wall = 1_767_225_600L * 1_000_000_000L;
            pcap.write(wall, frame(FakeDhcp6Server.CLIENT_MAC, CLIENT_LL, Dhcp6InfoClient.ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
                    Dhcp6InfoClient.CLIENT_PORT, Dhcp6InfoClient.SERVER_PORT, request.get(0)));
            pcap.write(wall + 1_000_000_000L, frame(FakeDhcp6Server.CLIENT_MAC, CLIENT_LL,
                    Dhcp6InfoClient.ALL_DHCP_RELAY_AGENTS_AND_SERVERS, Dhcp6InfoClient.CLIENT_PORT,
                    Dhcp6InfoClient.SERVER_PORT, request.get(1)));
            pcap.write(wall + 1_001_000_000L, frame(SERVER_MAC, SERVER_LL, CLIENT_LL, Dhcp6InfoClient.SERVER_PORT,
                    Dhcp6InfoClient.CLIENT_PORT, failed));
            pcap.write(wall + 1_002_000_000L, frame(SERVER_MAC, SERVER_LL, CLIENT_LL, Dhcp6InfoClient.SERVER_PORT,
                    Dhcp6InfoClient.CLIENT_PORT, ok));
        }
        String seeds = System.getProperty("dhcp6.seeds.dir");
        if (seeds != null) { // writes the fuzz seeds of Dhcp6MessageFuzzTest: -Ddhcp6.seeds.dir=...
            java.nio.file.Files.createDirectories(Path.of(seeds));
            List<String> names = List.of("information-request", "information-request-retransmitted",
                    "reply-no-addrs-avail", "reply");
            List<Dhcp6Message> messages = List.of(request.get(0), request.get(1), failed, ok);
            for (int i = 0; i < names.size(); i++) {
                ByteBuf b = messages.get(i).toByteBuf();
                byte[] bytes = new byte[b.readableBytes()];
                b.getBytes(0, bytes);
                java.nio.file.Files.write(Path.of(seeds, names.get(i)), bytes);
            }
        }
        String flagged = Tshark.run(file, "-o", "udp.check_checksum:TRUE", "-Y",
                "_ws.malformed || _ws.expert.severity >= warning || udp.checksum.status == \"Bad\" || !dhcpv6");
        assertEquals("", flagged.strip(), "tshark flags these frames");
        String xid = String.format("0x%06x", c.transactionId());
        List<String> fields = Tshark.run(file, "-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "separator=;",
                "-E", "aggregator=,", "-e", "dhcpv6.msgtype", "-e", "dhcpv6.xid", "-e", "udp.checksum.status",
                "-e", "dhcpv6.duid.type", "-e", "dhcpv6.requested_option_code", "-e", "dhcpv6.elapsed_time",
                "-e", "dhcpv6.status_code", "-e", "dhcpv6.dns_server", "-e", "dhcpv6.search_list_entry")
                .lines().toList();
        assertEquals(List.of(
                "11;" + xid + ";1;3;23,24,32,83;0;;;",
                "11;" + xid + ";1;3;23,24,32,83;" + request.get(1).options().elapsedHundredths() * 10 + ";;;",
                "7;" + xid + ";1;3,1;;;2;2001:db8::53,2001:db8::54;example.test.,lab.example.test.",
                "7;" + xid + ";1;3,1;;;;2001:db8::53,2001:db8::54;example.test.,lab.example.test."), fields);
        String verbose = Tshark.run(file, "-V");
        assertFalse(verbose.contains("Malformed"), verbose);
        for (String wanted : List.of("Message type: Information-request (11)", "Message type: Reply (7)",
                "DUID Type: link-layer address (3)", "Link-layer address: 02:00:00:00:00:01",
                "DUID Type: link-layer address plus time (1)", "Link-layer address: 02:00:00:00:00:fe",
                "Requested Option code: DNS recursive name server (23)", "Requested Option code: INF_MAX_RT (83)",
                "Status Code: NoAddrAvail (2)", "Status Message: no addresses here",
                "Destination Address: ff02::1:2", "Option: SOL_MAX_RT (82)", "Option: INF_MAX_RT (83)", "Source Port: 546", "Destination Port: 547",
                "Option: Lifetime (32)", "Lifetime: 604800")) {
            assertTrue(verbose.contains(wanted), "tshark -V shows '" + wanted + "' in\n" + verbose);
        }
    }

    /** The message in UDP in IPv6 (hop limit 1, link scope) in Ethernet, as the stack would send it. */
    static ByteBuf frame(MacAddress srcMac, Ipv6Address src, Ipv6Address dst, int sport, int dport, Dhcp6Message m) {
        ByteBuf payload = m.toByteBuf();
        int udpLength = 8 + payload.readableBytes();
        Ipv6Repr ip = new Ipv6Repr(src, dst, IpProtocol.UDP, udpLength, 1);
        MacAddress dstMac = dst.isMulticast() ? MacAddress.of(0x3333_0000_0000L | (dst.low() & 0xffff_ffffL))
                : FakeDhcp6Server.CLIENT_MAC;
        EthernetRepr eth = new EthernetRepr(dstMac, srcMac, EtherType.IPV6);
        int length = eth.headerLength() + ip.totalLength();
        ByteBuf b = Unpooled.buffer(length).writerIndex(length);
        eth.emit(b, 0);
        ip.emit(b, eth.headerLength());
        int u = eth.headerLength() + ip.totalLength() - udpLength;
        b.setShort(u, sport).setShort(u + 2, dport).setShort(u + 4, udpLength).setShort(u + 6, 0);
        b.setBytes(u + 8, payload, 0, payload.readableBytes());
        long sum = Checksum.pseudoHeader(src, dst, IpProtocol.UDP.value(), udpLength);
        int checksum = Checksum.finish(Checksum.add(sum, b, u, udpLength));
        b.setShort(u + 6, checksum == 0 ? 0xffff : checksum);
        return b;
    }

}
