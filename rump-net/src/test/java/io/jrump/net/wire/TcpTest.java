package io.jrump.net.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import org.junit.jupiter.api.Test;

class TcpTest {
    private static final Ipv4Address LO = Ipv4Address.LOOPBACK;

    private static ByteBuf tcpOf(String frame) {
        ByteBuf f = Fixtures.buf(frame);
        return f.slice(34, f.readableBytes() - 34);
    }

    @Test
    void readsTheCapturedSynWithItsOptions() throws ErrnoException {
        TcpSegment s = TcpSegment.parse(tcpOf(Fixtures.TCP_SYN));
        assertEquals(57684, s.sourcePort());
        assertEquals(18080, s.destinationPort());
        assertEquals(0xba7a90c2, s.sequenceNumber());
        assertEquals(40, s.headerLength());
        assertEquals(TcpSegment.SYN, s.flags());
        assertEquals(65495, s.window());
        TcpRepr r = TcpRepr.parse(s, LO, LO);
        assertEquals(65495, r.maxSegmentSize());
        assertEquals(10, r.windowScale());
        assertTrue(r.sackPermitted());
        assertEquals(new TcpRepr.Timestamps(0xed0bebc9, 0), r.timestamps());
        assertEquals(List.of(), r.sackBlocks());
        assertEquals(1, r.sequenceLength());
        assertEquals("TCP 57684 > 18080 [S] seq 3128594626 win 65495 options [mss 65495,sackOK,TS val 3976981449 ecr 0,"
                + "wscale 10] length 0", r.toString());
    }

    @Test
    void readsTheCapturedSynAckAckAndData() throws ErrnoException {
        TcpRepr synAck = TcpRepr.parse(TcpSegment.parse(tcpOf(Fixtures.TCP_SYN_ACK)), LO, LO);
        assertEquals(TcpSegment.SYN | TcpSegment.ACK, synAck.flags());
        assertEquals(0xba7a90c3, synAck.acknowledgmentNumber());
        TcpRepr ack = TcpRepr.parse(TcpSegment.parse(tcpOf(Fixtures.TCP_ACK)), LO, LO);
        assertEquals(-1, ack.maxSegmentSize());
        assertEquals(new TcpRepr.Timestamps(0xed0bebc9, 0x533156f3), ack.timestamps());
        TcpRepr data = TcpRepr.parse(TcpSegment.parse(tcpOf(Fixtures.TCP_DATA)), LO, LO);
        assertEquals(TcpSegment.PSH | TcpSegment.ACK, data.flags());
        assertEquals(127, data.payload().readableBytes());
        assertEquals('G', data.payload().getByte(data.payload().readerIndex()));
    }

    @Test
    void rejectsEveryDataOffsetThatDoesNotFit() {
        ByteBuf orig = tcpOf(Fixtures.TCP_ACK); // 32 bytes, Data Offset 8
        for (int words = 0; words < 16; words++) {
            ByteBuf b = orig.copy();
            b.setByte(12, words << 4);
            if (words >= 5 && words <= 8) {
                continue;
            }
            ErrnoException e = assertThrows(ErrnoException.class, () -> TcpSegment.parse(b));
            assertTrue(e.getMessage().startsWith("TCP Data Offset " + words + " at offset 12"), e.getMessage());
        }
        for (int n = 0; n < 32; n++) {
            ByteBuf cut = orig.slice(0, n);
            assertEquals(Errno.EBADMSG, assertThrows(ErrnoException.class, () -> TcpSegment.parse(cut)).errno());
        }
    }

    /** Every option length byte of the SYN set to every value: only the right one parses. */
    @Test
    void rejectsEveryWrongOptionLength() {
        ByteBuf orig = tcpOf(Fixtures.TCP_SYN);
        // Options: 0204ffd7 0402 080a<8> 01 03030a, length bytes at these segment offsets:
        int[] lengthAt = {21, 25, 27, 38};
        int[] good = {4, 2, 10, 3};
        for (int k = 0; k < lengthAt.length; k++) {
            for (int v = 0; v < 256; v++) {
                if (v == good[k]) {
                    continue;
                }
                ByteBuf b = orig.copy();
                b.setByte(lengthAt[k], v);
                b.setShort(16, 0);
                b.setShort(16, Checksum.finish(Checksum.add(Checksum.pseudoHeader(LO, LO, 6, 40), b, 0, 40)));
                ErrnoException e = assertThrows(ErrnoException.class, () -> TcpRepr.parse(TcpSegment.parse(b), LO, LO),
                        "length byte at " + lengthAt[k] + " = " + v);
                assertEquals(Errno.EBADMSG, e.errno());
                assertTrue(e.getMessage().startsWith("TCP option kind"), e.getMessage());
            }
        }
    }

    @Test
    void skipsUnknownOptionsAndStopsAtEol() throws ErrnoException {
        // Options: kind 30 (MPTCP) length 4, MSS 1460, EOL, then garbage that must not be read.
        ByteBuf b = Fixtures.buf("04d2005000000001000000007002100000000000" + "1e040000" + "020405b4" + "00ff0102");
        b.setShort(16, Checksum.finish(Checksum.add(Checksum.pseudoHeader(LO, LO, 6, 32), b, 0, 32)));
        TcpRepr r = TcpRepr.parse(TcpSegment.parse(b), LO, LO);
        assertEquals(1460, r.maxSegmentSize());
        assertEquals(-1, r.windowScale());
    }

    @Test
    void rejectsAnOptionWithoutItsLengthByte() {
        ByteBuf b = Fixtures.buf("04d2005000000001000000006002100000000000" + "01010102");
        b.setShort(16, Checksum.finish(Checksum.add(Checksum.pseudoHeader(LO, LO, 6, 24), b, 0, 24)));
        ErrnoException e = assertThrows(ErrnoException.class, () -> TcpRepr.parse(TcpSegment.parse(b), LO, LO));
        assertEquals("TCP option kind 2 at offset 23 has no length byte: Bad message (EBADMSG)", e.getMessage());
    }

    @Test
    void emitsLinuxLikeOptionsForASyn() {
        TcpRepr syn = new TcpRepr(57684, 18080, 0xba7a90c2, 0, TcpSegment.SYN, 65495, 0, 65495, 10, true,
                new TcpRepr.Timestamps(0xed0bebc9, 0), List.of(), Unpooled.EMPTY_BUFFER);
        ByteBuf b = Unpooled.buffer(40).writerIndex(40);
        syn.emit(b, 0, LO, LO);
        // As Linux does: the whole captured SYN, checksum included.
        assertEquals(Fixtures.hex(tcpOf(Fixtures.TCP_SYN)), Fixtures.hex(b));
    }

    @Test
    void sackBlocksFitWithTimestampsUpToThree() throws ErrnoException {
        List<TcpRepr.SackBlock> three = List.of(new TcpRepr.SackBlock(1, 2), new TcpRepr.SackBlock(3, 4),
                new TcpRepr.SackBlock(5, 6));
        TcpRepr r = new TcpRepr(1, 2, 3, 4, TcpSegment.ACK, 5, 0, -1, -1, false, new TcpRepr.Timestamps(7, 8), three,
                Unpooled.EMPTY_BUFFER);
        assertEquals(60, r.headerLength());
        ByteBuf b = Unpooled.buffer(60).writerIndex(60);
        r.emit(b, 0, LO, LO);
        assertEquals(r, TcpRepr.parse(TcpSegment.parse(b), LO, LO));
        assertThrows(IllegalArgumentException.class, () -> new TcpRepr(1, 2, 3, 4, 0, 5, 0, -1, -1, false,
                new TcpRepr.Timestamps(7, 8), List.of(three.get(0), three.get(1), three.get(2), three.get(0)),
                Unpooled.EMPTY_BUFFER));
    }

    @Test
    void randomSegmentsRoundTrip() throws ErrnoException {
        RandomReprs g = new RandomReprs(9293);
        for (int i = 0; i < 5000; i++) {
            TcpRepr r = g.tcp();
            Ipv4Address s = g.ip();
            Ipv4Address d = g.ip();
            ByteBuf b = Unpooled.buffer(r.bufferLength()).writerIndex(r.bufferLength());
            r.emit(b, 0, s, d);
            assertEquals(0, r.headerLength() % 4);
            TcpRepr back = TcpRepr.parse(TcpSegment.parse(b), s, d);
            assertEquals(r, back, "segment " + i);
            ByteBuf again = Unpooled.buffer(r.bufferLength()).writerIndex(r.bufferLength());
            back.emit(again, 0, s, d);
            assertEquals(Fixtures.hex(b), Fixtures.hex(again));
        }
    }
}
