package io.jrump.net.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

class Ipv4Test {
    private static ByteBuf udpDatagram() {
        return Fixtures.buf(Fixtures.UDP).slice(14, 39);
    }

    @Test
    void readsEveryFieldOfACapturedDatagram() throws ErrnoException {
        Ipv4Packet p = Ipv4Packet.parse(Fixtures.buf(Fixtures.ICMP_PORT_UNREACHABLE).slice(14, 67));
        assertEquals(4, p.version());
        assertEquals(20, p.headerLength());
        assertEquals(0x30, p.dscp()); // Linux sends ICMP errors with TOS 0xc0: CS6
        assertEquals(0, p.ecn());
        assertEquals(67, p.totalLength());
        assertEquals(0x9af7, p.identification());
        assertFalse(p.dontFragment());
        assertFalse(p.moreFragments());
        assertEquals(0, p.fragmentOffset());
        assertEquals(64, p.ttl());
        assertEquals(IpProtocol.ICMP, p.protocol());
        assertEquals(0xe100, p.headerChecksum());
        assertTrue(p.verifyChecksum());
        assertEquals(Ipv4Address.LOOPBACK, p.source());
        assertEquals(Ipv4Address.LOOPBACK, p.destination());
        assertEquals(47, p.payload().readableBytes());
    }

    @Test
    void emitFillsTheChecksumOfTheWikipediaExample() {
        Ipv4Repr r = new Ipv4Repr(Ipv4Address.parse("192.168.0.1"), Ipv4Address.parse("192.168.0.199"),
                IpProtocol.UDP, 0x73 - 20, 64, 0, true, false, 0, 0, 0);
        ByteBuf b = Unpooled.buffer(20).writerIndex(20);
        r.emit(b, 0);
        assertEquals(Fixtures.IPV4_HEADER_EXAMPLE.substring(0, 20) + "b861" + Fixtures.IPV4_HEADER_EXAMPLE.substring(24),
                Fixtures.hex(b));
    }

    @Test
    void ignoresEthernetPaddingAfterTotalLength() throws ErrnoException {
        ByteBuf padded = Unpooled.wrappedBuffer(udpDatagram(), Unpooled.wrappedBuffer(new byte[7]));
        Ipv4Packet p = Ipv4Packet.parse(padded);
        assertEquals(19, p.payload().readableBytes());
    }

    @Test
    void passesOverOptions() throws ErrnoException {
        // The UDP datagram with a 4-byte option (NOP NOP NOP EOL) inserted: IHL 6.
        ByteBuf orig = udpDatagram();
        ByteBuf b = Unpooled.buffer(43);
        b.writeBytes(orig, 0, 20).writeInt(0x01010100).writeBytes(orig, 20, 19);
        b.setByte(0, 0x46);
        b.setShort(2, 43);
        b.setShort(10, 0);
        b.setShort(10, Checksum.compute(b, 0, 24));
        Ipv4Packet p = Ipv4Packet.parse(b);
        assertEquals(24, p.headerLength());
        assertEquals("01010100", Fixtures.hex(p.options()));
        Ipv4Repr r = Ipv4Repr.parse(p);
        assertEquals(19, r.payloadLength());
        assertEquals(Fixtures.hex(orig.slice(20, 19)), Fixtures.hex(p.payload()));
    }

    @Test
    void rejectsEveryBadVersionAndIhl() {
        ByteBuf orig = udpDatagram();
        for (int v = 0; v < 256; v++) {
            if (v == 0x45) {
                continue;
            }
            ByteBuf b = orig.copy();
            b.setByte(0, v);
            // IHL 6 or 7 fits in the 39 bytes but then the checksum (over the longer header) fails.
            ErrnoException e = assertThrows(ErrnoException.class, () -> Ipv4Repr.parse(Ipv4Packet.parse(b)),
                    Integer.toHexString(v));
            assertEquals(Errno.EBADMSG, e.errno());
        }
    }

    @Test
    void rejectsEveryTotalLengthThatDoesNotFit() {
        ByteBuf orig = udpDatagram();
        for (int v = 0; v < 65536; v++) {
            ByteBuf b = orig.copy();
            b.setShort(2, v);
            if (v >= 20 && v <= 39) {
                continue; // fits; the checksum catches the change
            }
            ErrnoException e = assertThrows(ErrnoException.class, () -> Ipv4Packet.parse(b));
            assertTrue(e.getMessage().contains("Total Length " + v + " at offset 2"), e.getMessage());
        }
    }

    @Test
    void rejectsABadHeaderChecksumNamingIt() throws ErrnoException {
        ByteBuf b = udpDatagram().copy();
        b.setShort(10, 0x1234);
        Ipv4Packet p = Ipv4Packet.parse(b);
        ErrnoException e = assertThrows(ErrnoException.class, () -> Ipv4Repr.parse(p));
        assertEquals("IPv4 Header Checksum 0x1234 at offset 10 does not verify: Bad message (EBADMSG)", e.getMessage());
    }

    @Test
    void randomHeadersRoundTripIncludingFragments() throws ErrnoException {
        RandomReprs g = new RandomReprs(791);
        for (int i = 0; i < 2000; i++) {
            Ipv4Repr r = g.ipv4(IpProtocol.of(g.random().nextInt(256)), g.random().nextInt(100));
            ByteBuf b = Unpooled.buffer(r.totalLength()).writerIndex(r.totalLength());
            r.emit(b, 0);
            assertEquals(r, Ipv4Repr.parse(Ipv4Packet.parse(b)));
        }
    }
}
