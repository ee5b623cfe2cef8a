package io.jrump.net.dhcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The wire format: fields, round trips, and each refusal with its reason. */
class DhcpMessageTest {
    static final MacAddress MAC = MacAddress.parse("02:00:00:00:00:01");

    static DhcpMessage ack() {
        DhcpOptions o = DhcpOptions.builder(DhcpMessageType.ACK).serverId(Ipv4Address.parse("198.18.0.1"))
                .leaseSeconds(3600L).renewalSeconds(1800L).rebindingSeconds(3150L)
                .subnetMask(Ipv4Address.parse("255.255.255.0")).routers(List.of(Ipv4Address.parse("198.18.0.254")))
                .dnsServers(List.of(Ipv4Address.parse("198.18.0.53"), Ipv4Address.parse("198.18.0.54")))
                .domainName("example.test").mtu(1400).other(42, Octets.of(new byte[] {9, 8, 7}))
                .other(12, Octets.of()).build();
        return new DhcpMessage(DhcpPacket.BOOTREPLY, 1, 0x12345678, 3, true, Ipv4Address.ANY,
                Ipv4Address.parse("198.18.0.100"), Ipv4Address.parse("198.18.0.1"), Ipv4Address.parse("198.18.1.1"),
                MAC, o);
    }

    /** An emitted message with its options replaced by {@code options} (End included or not). */
    static ByteBuf withOptions(int... options) {
        ByteBuf b = ack().toByteBuf();
        b.writerIndex(DhcpPacket.OPTIONS);
        for (int x : options) {
            b.writeByte(x);
        }
        return b;
    }

    static ErrnoException refused(ByteBuf b) {
        return assertThrows(ErrnoException.class, () -> DhcpMessage.parse(b));
    }

    @Test
    void roundTripsEveryField() throws ErrnoException {
        DhcpMessage m = ack();
        ByteBuf b = m.toByteBuf();
        assertEquals(DhcpPacket.OPTIONS + m.options().bufferLength(), b.readableBytes());
        DhcpMessage small = DhcpMessage.request(1, 0, false, Ipv4Address.ANY, MAC,
                DhcpOptions.builder(DhcpMessageType.DISCOVER).build());
        assertEquals(300, small.toByteBuf().readableBytes(), "padded to RFC 1542's 300 bytes");
        DhcpPacket p = DhcpPacket.parse(b);
        assertEquals(0x12345678, p.xid());
        assertEquals(0x8000, p.flags());
        assertEquals(1, p.hops());
        assertEquals(Ipv4Address.parse("198.18.1.1"), p.giaddr());
        assertEquals(DhcpOption.MESSAGE_TYPE, p.optionCodes()[0], "Message Type first");
        assertEquals(m, DhcpMessage.parse(b));
        assertEquals(List.of(new DhcpOptions.Other(42, Octets.of(new byte[] {9, 8, 7})),
                new DhcpOptions.Other(12, Octets.of())), DhcpMessage.parse(b).options().others(), "unknown options kept");
    }

    @Test
    void padsAndBytesAfterEndArePassedOver() throws ErrnoException {
        DhcpMessage m = DhcpMessage.parse(withOptions(0, 0, 53, 1, 2, 0, 255, 77, 77));
        assertEquals(DhcpMessageType.OFFER, m.type());
        assertNull(m.options().serverId());
    }

    @Test
    void refusesWithANamedReason() {
        assertEquals("DHCP option 54 at offset 0xf3 is truncated: length 4 runs past the 247-byte message: "
                + "Bad message (EBADMSG)", refused(withOptions(53, 1, 2, 54, 4, 1, 2)).getMessage());
        assertEquals("DHCP option 54 at offset 0xf3 is truncated: no length byte: Bad message (EBADMSG)",
                refused(withOptions(53, 1, 2, 54)).getMessage());
        assertEquals("DHCP option 53 at offset 0xf6 repeats the one at offset 0xf0: Bad message (EBADMSG)",
                refused(withOptions(53, 1, 2, 0, 0, 0, 53, 1, 5, 255)).getMessage());
        assertEquals("DHCP options at offset 0xf0 have no End option (255) before the end of the 243-byte message: "
                + "Bad message (EBADMSG)", refused(withOptions(53, 1, 2)).getMessage());
        assertEquals("DHCP message without a Message Type option (53): a BOOTP message: Protocol not supported "
                + "(EPROTONOSUPPORT)", refused(withOptions(255)).getMessage());
        ErrnoException overload = refused(withOptions(53, 1, 2, 52, 1, 3, 255));
        assertEquals(Errno.EPROTONOSUPPORT, overload.errno());
        assertTrue(overload.getMessage().contains("Option Overload"));
        assertEquals("DHCP option 1 at offset 0xf3: length 3 is not 4: Bad message (EBADMSG)",
                refused(withOptions(53, 1, 2, 1, 3, 255, 255, 255, 255)).getMessage());
        assertEquals("DHCP option 3 at offset 0xf3: length 6 is not a positive multiple of 4: Bad message (EBADMSG)",
                refused(withOptions(53, 1, 2, 3, 6, 1, 2, 3, 4, 5, 6, 255)).getMessage());
        assertEquals("DHCP option 26 at offset 0xf3: MTU 67 is below 68: Bad message (EBADMSG)",
                refused(withOptions(53, 1, 2, 26, 2, 0, 67, 255)).getMessage());
        assertEquals("DHCP option 53 at offset 0xf0: message type 9 is not one of RFC 2132's 1..8: Bad message (EBADMSG)",
                refused(withOptions(53, 1, 9, 255)).getMessage());
        assertEquals("DHCP option 61 at offset 0xf3: length 1 is below 2: Bad message (EBADMSG)",
                refused(withOptions(53, 1, 2, 61, 1, 1, 255)).getMessage());
    }

    @Test
    void refusesABadHeader() {
        assertEquals("DHCP message of 239 bytes is shorter than the 240-byte header: Bad message (EBADMSG)",
                refused(Unpooled.buffer(239).writerIndex(239)).getMessage());
        ByteBuf op = ack().toByteBuf();
        op.setByte(0, 3);
        assertEquals(Errno.EBADMSG, refused(op).errno());
        ByteBuf htype = ack().toByteBuf();
        htype.setByte(1, 6);
        assertEquals("DHCP htype 6 hlen 6 at offset 0x1 is not Ethernet (htype 1, hlen 6): Protocol not supported "
                + "(EPROTONOSUPPORT)", refused(htype).getMessage());
        ByteBuf hlen = ack().toByteBuf();
        hlen.setByte(2, 16);
        assertEquals(Errno.EPROTONOSUPPORT, refused(hlen).errno());
        ByteBuf cookie = ack().toByteBuf();
        cookie.setByte(236, 0);
        assertEquals("DHCP magic cookie 0x00825363 at offset 0xec is not 0x63825363 (a BOOTP message): "
                + "Protocol not supported (EPROTONOSUPPORT)", refused(cookie).getMessage());
        assertEquals(Errno.EBADMSG, refused(Unpooled.buffer(65_508).writerIndex(65_508)).errno());
    }

    @Test
    void everyTruncationOfAMessageIsRefusedOrParses() {
        ByteBuf full = ack().toByteBuf();
        int end = DhcpPacket.OPTIONS + ack().options().bufferLength();
        for (int n = 0; n < end; n++) {
            ByteBuf cut = full.slice(0, n);
            assertEquals(Errno.EBADMSG, refused(cut).errno(), "cut at " + n);
        }
    }
}
