package io.jrump.net.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class UdpTest {
    private static final Ipv4Address LO = Ipv4Address.LOOPBACK;

    private static ByteBuf udp() {
        return Fixtures.buf(Fixtures.UDP).slice(34, 19);
    }

    @Test
    void readsTheCapturedDatagram() throws ErrnoException {
        UdpDatagram d = UdpDatagram.parse(udp());
        assertEquals(59995, d.sourcePort());
        assertEquals(9999, d.destinationPort());
        assertEquals(19, d.length());
        assertEquals(0x5c88, d.checksum());
        UdpRepr r = UdpRepr.parse(d, LO, LO);
        assertEquals(new UdpRepr(59995, 9999, Unpooled.copiedBuffer("hello jrump", StandardCharsets.US_ASCII)), r);
    }

    @Test
    void checksumZeroMeansNoneOnReceive() throws ErrnoException {
        ByteBuf b = udp().copy();
        b.setShort(6, 0);
        assertEquals(9999, UdpRepr.parse(UdpDatagram.parse(b), LO, LO).destinationPort());
        b.setShort(6, 1);
        ErrnoException e = assertThrows(ErrnoException.class, () -> UdpRepr.parse(UdpDatagram.parse(b), LO, LO));
        assertEquals("UDP Checksum 0x0001 at offset 6 does not verify: Bad message (EBADMSG)", e.getMessage());
    }

    @Test
    void emitsFfffWhenTheComputedChecksumIsZero() throws ErrnoException {
        // Choose the last two payload bytes so that the sum folds to 0xffff (checksum 0).
        ByteBuf payload = Unpooled.buffer(2).writeShort(0);
        UdpRepr r = new UdpRepr(1, 2, payload);
        ByteBuf b = Unpooled.buffer(10).writerIndex(10);
        r.emit(b, 0, LO, LO);
        int checksum = b.getUnsignedShort(6);
        // Adding the complement of the would-be checksum's complement makes the sum 0xffff.
        int fix = (~Checksum.fold(Checksum.add(Checksum.pseudoHeader(LO, LO, 17, 10), setZero(b), 0, 10))) & 0xffff;
        payload.setShort(0, fix);
        r = new UdpRepr(1, 2, payload);
        r.emit(b, 0, LO, LO);
        assertEquals(0xffff, b.getUnsignedShort(6), "was 0x" + Integer.toHexString(checksum));
        assertEquals(r, UdpRepr.parse(UdpDatagram.parse(b), LO, LO));
    }

    private static ByteBuf setZero(ByteBuf b) {
        ByteBuf c = b.copy();
        c.setShort(6, 0);
        return c;
    }

    @Test
    void rejectsEveryLengthFieldThatDoesNotFit() {
        for (int v = 0; v < 65536; v++) {
            ByteBuf b = udp().copy();
            b.setShort(4, v);
            if (v >= 8 && v <= 19) {
                continue;
            }
            ErrnoException e = assertThrows(ErrnoException.class, () -> UdpDatagram.parse(b));
            assertTrue(e.getMessage().startsWith("UDP Length " + v + " at offset 4"), e.getMessage());
        }
        for (int n = 0; n < 19; n++) {
            ByteBuf cut = udp().slice(0, n);
            assertThrows(ErrnoException.class, () -> UdpDatagram.parse(cut));
        }
    }

    @Test
    void shorterLengthsFailTheChecksum() {
        for (int v = 8; v < 19; v++) {
            ByteBuf b = udp().copy();
            b.setShort(4, v);
            ErrnoException e = assertThrows(ErrnoException.class, () -> UdpRepr.parse(UdpDatagram.parse(b), LO, LO));
            assertEquals(Errno.EBADMSG, e.errno());
        }
    }

    @Test
    void randomDatagramsRoundTrip() throws ErrnoException {
        RandomReprs g = new RandomReprs(768);
        for (int i = 0; i < 2000; i++) {
            UdpRepr r = g.udp();
            Ipv4Address s = g.ip();
            Ipv4Address d = g.ip();
            ByteBuf b = Unpooled.buffer(r.bufferLength()).writerIndex(r.bufferLength());
            r.emit(b, 0, s, d);
            assertEquals(r, UdpRepr.parse(UdpDatagram.parse(b), s, d));
        }
    }
}
