package io.jrump.net.dhcp6;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv6Address;
import io.jrump.net.dhcp.Octets;
import io.jrump.net.dhcp6.Dhcp6Options.Other;
import io.jrump.net.dhcp6.Dhcp6Options.StatusCode;
import io.jrump.net.dns.DnsName;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The DHCPv6 wire format: bytes laid out by hand from RFC 8415 §8 and §21, round trips, hostile input. */
class Dhcp6MessageTest {
    static final MacAddress MAC = MacAddress.parse("02:00:00:00:00:01");

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replace(" ", ""));
    }

    static byte[] bytes(Dhcp6Message m) {
        ByteBuf b = m.toByteBuf();
        byte[] out = new byte[b.readableBytes()];
        b.getBytes(0, out);
        return out;
    }

    /** An Information-request as RFC 8415 lays it out: type 11, xid, Client Identifier (DUID-LL), ORO, Elapsed Time. */
    @Test
    void informationRequestMatchesHandBuiltBytes() throws ErrnoException {
        byte[] expected = hex("0b 123456"
                + " 0001 000a 0003 0001 020000000001" // Client Identifier: DUID-LL, Ethernet, the MAC
                + " 0006 0008 0017 0018 0020 0053" // ORO: 23, 24, 32, 83
                + " 0008 0002 0064"); // Elapsed Time: 100 hundredths
        Dhcp6Message m = new Dhcp6Message(Dhcp6MessageType.INFORMATION_REQUEST, 0x123456, Dhcp6Options.builder()
                .clientId(Duid.ll(MAC)).optionRequest(List.of(23, 24, 32, 83)).elapsedHundredths(100).build());
        assertArrayEquals(expected, bytes(m));
        assertEquals(expected.length, m.bufferLength());
        Dhcp6Message parsed = Dhcp6Message.parse(Unpooled.wrappedBuffer(expected));
        assertEquals(m, parsed);
        Dhcp6Packet p = Dhcp6Packet.parse(Unpooled.wrappedBuffer(expected));
        assertEquals(11, p.type());
        assertEquals(0x123456, p.transactionId());
        assertEquals(3, p.optionCount());
        assertEquals(4, p.optionOffset(0));
        assertEquals(Dhcp6Option.ORO, p.optionCode(1));
        assertEquals(0x12, p.optionOffset(1));
    }

    /** A Reply: Server Identifier (DUID-LLT), Client Identifier, Status Code, DNS servers, search list, times. */
    @Test
    void replyMatchesHandBuiltBytesAndReadsEveryField() throws ErrnoException {
        byte[] expected = hex("07 abcdef"
                + " 0001 000a 0003 0001 020000000001"
                + " 0002 000e 0001 0001 2a2a2a2a 0200000000fe" // DUID-LLT: Ethernet, time, MAC
                + " 000d 0004 0000 6f6b" // Success "ok"
                + " 0017 0020 20010db8000000000000000000000053 20010db8000000000000000000000054"
                + " 0018 0013 076578616d706c6504746573740003616263 00" // example.test. abc.
                + " 0020 0004 00093a80" // Information Refresh Time: a week
                + " 0052 0004 00000078" // SOL_MAX_RT 120
                + " 0053 0004 0000003c" // INF_MAX_RT 60
                + " 0019 0000" // IA_PD, empty: kept opaque
                + " ff00 0002 beef"); // unknown: kept opaque
        Dhcp6Message m = Dhcp6Message.parse(Unpooled.wrappedBuffer(expected));
        assertEquals(Dhcp6MessageType.REPLY, m.type());
        assertEquals(0xabcdef, m.transactionId());
        Dhcp6Options o = m.options();
        assertEquals(Duid.ll(MAC), o.clientId());
        Duid server = o.serverId();
        assertEquals(Duid.LLT, server.type());
        assertEquals(1, server.hardwareType());
        assertEquals(0x2a2a2a2aL, server.timeSeconds());
        assertEquals(Octets.of(MacAddress.parse("02:00:00:00:00:fe").toBytes()), server.linkLayerAddress());
        assertEquals(StatusCode.SUCCESS, o.status().code());
        assertEquals("ok", o.status().text());
        assertEquals(List.of(Ipv6Address.parse("2001:db8::53"), Ipv6Address.parse("2001:db8::54")), o.dnsServers());
        assertEquals(List.of(DnsName.of("example", "test"), DnsName.of("abc")), o.domainList());
        assertEquals(604_800L, o.refreshSeconds());
        assertEquals(120L, o.solMaxRtSeconds());
        assertEquals(60L, o.infMaxRtSeconds());
        assertEquals(List.of(new Other(25, Octets.of()), new Other(0xff00, Octets.of(new byte[] {(byte) 0xbe, (byte) 0xef}))),
                o.others());
        assertArrayEquals(expected, bytes(m), "emitted back byte for byte");
    }

    @Test
    void duidTypesParseAndDuidEnAndUuidStayOpaque() throws ErrnoException {
        Duid en = new Duid(Octets.of(hex("0002 00000009 0102030405")));
        assertEquals(Duid.EN, en.type());
        assertEquals(-1, en.hardwareType());
        assertNull(en.linkLayerAddress());
        Duid uuid = new Duid(Octets.of(hex("0004 00112233445566778899aabbccddeeff")));
        assertEquals(Duid.UUID, uuid.type());
        Duid unknown = new Duid(Octets.of(hex("7777 01")));
        assertEquals(0x7777, unknown.type());
        for (Duid d : List.of(en, uuid, unknown, Duid.ll(MAC))) {
            Dhcp6Message m = new Dhcp6Message(Dhcp6MessageType.REPLY, 1,
                    Dhcp6Options.builder().serverId(d).clientId(d).build());
            assertEquals(m, Dhcp6Message.parse(m.toByteBuf()));
        }
        assertThrows(IllegalArgumentException.class, () -> new Duid(Octets.of(hex("0004 0011"))));
        assertThrows(IllegalArgumentException.class, () -> new Duid(Octets.of(new byte[131])));
        assertThrows(IllegalArgumentException.class, () -> new Duid(Octets.of(hex("0001 0001 00000000"))));
    }

    /** Other message types parse (the client ignores them); relay messages and type 0 are refused. */
    @Test
    void messageTypes() throws ErrnoException {
        for (int type : new int[] {1, 2, 3, 10, 11, 14, 255}) {
            assertEquals(type, Dhcp6Message.parse(Unpooled.wrappedBuffer(new byte[] {(byte) type, 0, 0, 1})).type());
        }
        refused(Errno.EPROTONOSUPPORT, "RELAY-FORW at offset 0x0", hex("0c 000000"));
        refused(Errno.EPROTONOSUPPORT, "RELAY-REPL at offset 0x0", hex("0d 000000"));
        refused(Errno.EBADMSG, "msg-type 0 at offset 0x0", hex("00 000000"));
    }

    @Test
    void lengthsPastTheEndAreRefusedNamingTheOptionAndOffset() {
        refused(Errno.EBADMSG, "3 bytes is shorter than the 4-byte header", hex("07 0000"));
        refused(Errno.EBADMSG, "option header at offset 0x4 is truncated: 3 bytes left", hex("07 000001 001700"));
        refused(Errno.EBADMSG, "DNS Recursive Name Server (23) at offset 0x4: length 32 runs past the 24-byte message",
                hex("07 000001 0017 0020 20010db8000000000000000000000053"));
        refused(Errno.EBADMSG, "option 4660 at offset 0xa: length 1 runs past", hex("07 000001 0008 0002 0000 1234 0001"));
        refused(Errno.EBADMSG, "longer than 65527", new byte[65_528]);
    }

    @Test
    void optionCountIsBounded() throws ErrnoException {
        ByteArrayOutputStream ok = new ByteArrayOutputStream();
        ok.writeBytes(hex("07 000001"));
        for (int i = 0; i < Dhcp6Packet.MAX_OPTIONS; i++) {
            ok.writeBytes(hex("4000 0000"));
        }
        assertEquals(256, Dhcp6Message.parse(Unpooled.wrappedBuffer(ok.toByteArray())).options().others().size());
        ok.writeBytes(hex("4000 0000"));
        refused(Errno.EBADMSG, "option 16384 at offset 0x404 is past the 256 options", ok.toByteArray());
    }

    @Test
    void valueLengthsAreChecked() {
        refused(Errno.EBADMSG, "DNS Recursive Name Server (23) at offset 0x4: length 0 is not a positive multiple of 16",
                hex("07 000001 0017 0000"));
        refused(Errno.EBADMSG, "DNS Recursive Name Server (23) at offset 0x4: length 17",
                hex("07 000001 0017 0011 20010db8000000000000000000000053 00"));
        refused(Errno.EBADMSG, "Option Request (6) at offset 0x4: length 3 is odd", hex("07 000001 0006 0003 001700"));
        refused(Errno.EBADMSG, "Option Request (6) at offset 0x4: length 0", hex("07 000001 0006 0000"));
        refused(Errno.EBADMSG, "Elapsed Time (8) at offset 0x4: length 3 is not 2", hex("07 000001 0008 0003 000000"));
        refused(Errno.EBADMSG, "Status Code (13) at offset 0x4: length 1 is below 2", hex("07 000001 000d 0001 00"));
        refused(Errno.EBADMSG, "Information Refresh Time (32) at offset 0x4: length 2 is not 4",
                hex("07 000001 0020 0002 0000"));
        refused(Errno.EBADMSG, "INF_MAX_RT (83) at offset 0x4: length 5", hex("07 000001 0053 0005 0000000000"));
        refused(Errno.EBADMSG, "Server Identifier (2) at offset 0x4: DUID of 2 bytes, not 3..130",
                hex("07 000001 0002 0002 0003"));
        refused(Errno.EBADMSG, "Client Identifier (1) at offset 0x4: DUID-UUID of 5 bytes, not 18",
                hex("07 000001 0001 0005 0004 010203"));
        refused(Errno.EBADMSG, "Client Identifier (1) at offset 0x4: DUID type 3 of 4 bytes, below its 5",
                hex("07 000001 0001 0004 0003 0001"));
        refused(Errno.EBADMSG, "Server Identifier (2) at offset 0xe repeats the one at offset 0x4",
                hex("07 000001 0002 0006 0003 0001 0102 0002 0006 0003 0001 0102"));
        refused(Errno.EBADMSG, "Domain Search List (24) at offset 0x4: length 0", hex("07 000001 0018 0000"));
    }

    @Test
    void domainNamesAreCheckedLabelByLabel() {
        refused(Errno.EBADMSG, "Domain Search List (24): label length 64 at offset 0x8 is over 63",
                hex("07 000001 0018 0041 40" + "61".repeat(64)));
        refused(Errno.EBADMSG, "Domain Search List (24): compression pointer at offset 0xc",
                hex("07 000001 0018 0006 03616263 c004"));
        refused(Errno.EBADMSG, "Domain Search List (24): the name at offset 0x8 runs past the option's end (0xc)",
                hex("07 000001 0018 0004 03616263 00")); // the root label falls outside the option
        refused(Errno.EBADMSG, "Domain Search List (24): the 5-byte label at offset 0x8 runs past the option's end",
                hex("07 000001 0018 0004 05616263"));
        refused(Errno.EBADMSG, "label length 128 at offset 0x8 is over 63", hex("07 000001 0018 0002 8000"));
        // Five labels of 63 bytes: 320 bytes in wire form.
        StringBuilder longName = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            longName.append("3f").append("62".repeat(63));
        }
        longName.append("00");
        refused(Errno.EBADMSG, "Domain Search List (24): the name at offset 0x8 is over 255 bytes",
                hex("07 000001 0018 0141 " + longName));
    }

    /** A name of exactly 255 bytes (the limit) with a second name after it parses and round-trips. */
    @Test
    void domainListAtTheLimitsRoundTrips() throws ErrnoException {
        StringBuilder name = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            name.append("3f").append("63".repeat(63));
        }
        name.append("3d").append("64".repeat(61)).append("00"); // 3 × 64 + 62 + 1 = 255
        byte[] in = hex("07 000001 0018 0102 " + name + "016100"); // 255 + 3 bytes
        Dhcp6Message m = Dhcp6Message.parse(Unpooled.wrappedBuffer(in));
        assertEquals(255, m.options().domainList().get(0).wireLength());
        assertEquals(DnsName.of("a"), m.options().domainList().get(1));
        assertArrayEquals(in, bytes(m));
    }

    @Test
    void recordsRefuseValuesThatDoNotFit() {
        assertThrows(IllegalArgumentException.class, () -> new Dhcp6Message(12, 0, Dhcp6Options.builder().build()));
        assertThrows(IllegalArgumentException.class, () -> new Dhcp6Message(7, 0x100_0000, Dhcp6Options.builder().build()));
        assertThrows(IllegalArgumentException.class, () -> Dhcp6Options.builder().elapsedHundredths(0x10000).build());
        assertThrows(IllegalArgumentException.class, () -> Dhcp6Options.builder().other(Dhcp6Option.DNS_SERVERS, Octets.of()));
        assertThrows(IllegalArgumentException.class, () -> Dhcp6Options.builder().refreshSeconds(1L << 32).build());
    }

    static void refused(Errno errno, String detail, byte[] bytes) {
        ErrnoException e = assertThrows(ErrnoException.class, () -> Dhcp6Message.parse(Unpooled.wrappedBuffer(bytes)));
        assertEquals(errno, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(detail), "'" + detail + "' in: " + e.getMessage());
    }
}
