package io.jrump.net.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import org.junit.jupiter.api.Test;

class EthernetAndArpTest {
    @Test
    void readsTheArpRequestAndItsEthernetHeader() throws ErrnoException {
        EthernetFrame f = EthernetFrame.parse(Fixtures.buf(Fixtures.ARP_REQUEST));
        assertEquals(MacAddress.BROADCAST, f.destination());
        assertEquals(MacAddress.parse("02:00:00:00:00:01"), f.source());
        assertEquals(EtherType.ARP, f.etherType());
        assertEquals(14, f.payloadOffset());
        assertEquals(46, f.payload().readableBytes());
        ArpRepr a = ArpRepr.parse(ArpPacket.parse(f.payload()));
        assertEquals(new ArpRepr(ArpRepr.Operation.REQUEST, MacAddress.parse("02:00:00:00:00:01"),
                Ipv4Address.parse("198.18.0.1"), MacAddress.of(0), Ipv4Address.parse("198.18.0.2")), a);
        assertEquals("ARP who-has 198.18.0.2 tell 198.18.0.1 (02:00:00:00:00:01)", a.toString());
    }

    @Test
    void passesOverVlanTags() throws ErrnoException {
        // 802.1ad outer tag (VLAN 100), 802.1Q inner tag (priority 5, VLAN 42), then IPv4.
        ByteBuf b = Fixtures.buf("020000000002020000000001" + "88a80064" + "8100a02a" + "0800" + "4500");
        EthernetFrame f = EthernetFrame.parse(b);
        assertEquals(EtherType.IPV4, f.etherType());
        assertEquals(22, f.payloadOffset());
        assertEquals(List.of(0x0064, 0xa02a), f.vlanTags());
        assertEquals("4500", Fixtures.hex(f.payload()));
        for (int n = 0; n < 22; n++) {
            ByteBuf cut = b.slice(0, n);
            assertEquals(Errno.EBADMSG, assertThrows(ErrnoException.class, () -> EthernetFrame.parse(cut)).errno());
        }
    }

    @Test
    void emitsTheHeader() {
        EthernetRepr r = new EthernetRepr(MacAddress.BROADCAST, MacAddress.parse("02:00:00:00:00:01"), EtherType.ARP);
        ByteBuf b = Unpooled.buffer(14).writerIndex(14);
        r.emit(b, 0);
        assertEquals("ffffffffffff0200000000010806", Fixtures.hex(b));
    }

    @Test
    void rejectsOtherHardwareOrProtocolTypesAsUnsupported() {
        ByteBuf arp = Fixtures.buf(Fixtures.ARP_REPLY).slice(14, 28);
        for (int field : new int[] {ArpPacket.HTYPE, ArpPacket.PTYPE}) {
            ByteBuf b = arp.copy();
            b.setShort(field, 6);
            ErrnoException e = assertThrows(ErrnoException.class, () -> ArpPacket.parse(b));
            assertEquals(Errno.EPROTONOSUPPORT, e.errno());
        }
        ByteBuf rarp = arp.copy();
        rarp.setShort(ArpPacket.OPER, 3);
        assertEquals(Errno.EPROTONOSUPPORT,
                assertThrows(ErrnoException.class, () -> ArpRepr.parse(ArpPacket.parse(rarp))).errno());
    }

    @Test
    void rejectsEveryWrongAddressLength() {
        ByteBuf arp = Fixtures.buf(Fixtures.ARP_REPLY).slice(14, 28);
        for (int field : new int[] {ArpPacket.HLEN, ArpPacket.PLEN}) {
            for (int v = 0; v < 256; v++) {
                if (v == (field == ArpPacket.HLEN ? 6 : 4)) {
                    continue;
                }
                ByteBuf b = arp.copy();
                b.setByte(field, v);
                ErrnoException e = assertThrows(ErrnoException.class, () -> ArpPacket.parse(b));
                assertEquals(Errno.EBADMSG, e.errno(), e.getMessage());
            }
        }
    }

    @Test
    void randomArpRoundTrips() throws ErrnoException {
        RandomReprs g = new RandomReprs(826);
        for (int i = 0; i < 1000; i++) {
            ArpRepr a = g.arp();
            ByteBuf b = Unpooled.buffer(28).writerIndex(28);
            a.emit(b, 0);
            assertEquals(a, ArpRepr.parse(ArpPacket.parse(b)));
        }
    }
}
