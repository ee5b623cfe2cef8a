package io.jrump.net.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class IcmpTest {
    private static ByteBuf icmpOf(String frame) throws ErrnoException {
        return Ipv4Packet.parse(EthernetFrame.parse(Fixtures.buf(frame)).payload()).payload();
    }

    @Test
    void readsTheCapturedEchoRequestAndReply() throws ErrnoException {
        IcmpRepr req = IcmpRepr.parse(IcmpPacket.parse(icmpOf(Fixtures.ICMP_ECHO_REQUEST)));
        ByteBuf data = Unpooled.copiedBuffer("jrump-ping", StandardCharsets.US_ASCII);
        assertEquals(new IcmpRepr.EchoRequest(0x1234, 1, data), req);
        IcmpRepr rep = IcmpRepr.parse(IcmpPacket.parse(icmpOf(Fixtures.ICMP_ECHO_REPLY)));
        assertEquals(new IcmpRepr.EchoReply(0x1234, 1, data), rep);
    }

    @Test
    void readsTheCapturedPortUnreachableWithTheQuotedDatagram() throws ErrnoException {
        IcmpPacket p = IcmpPacket.parse(icmpOf(Fixtures.ICMP_PORT_UNREACHABLE));
        IcmpRepr.DestinationUnreachable u = assertInstanceOf(IcmpRepr.DestinationUnreachable.class, IcmpRepr.parse(p));
        assertEquals(IcmpRepr.DestinationUnreachable.PORT_UNREACHABLE, u.code());
        // The quoted datagram is the UDP one as sent (still with its partial checksum).
        String sent = Fixtures.UDP.substring(28).replace("5c88", "fe26");
        assertEquals(sent, Fixtures.hex(u.original()));
        assertEquals(new QuotedDatagram(Ipv4Address.LOOPBACK, Ipv4Address.LOOPBACK, IpProtocol.UDP, 59995, 9999),
                u.quoted());
        assertEquals("ICMP destination unreachable, code 3, for UDP 127.0.0.1:59995 > 127.0.0.1:9999", u.toString());
    }

    @Test
    void rejectsQuotedDatagramsWithoutAHeaderAndEightBytes() throws ErrnoException {
        ByteBuf orig = icmpOf(Fixtures.ICMP_PORT_UNREACHABLE);
        for (int n = 8; n < 8 + 28; n++) {
            ByteBuf b = Unpooled.copiedBuffer(orig.slice(0, n));
            b.setShort(2, 0);
            b.setShort(2, Checksum.compute(b, 0, n));
            IcmpPacket p = IcmpPacket.parse(b);
            ErrnoException e = assertThrows(ErrnoException.class, () -> IcmpRepr.parse(p), "length " + n);
            assertEquals(Errno.EBADMSG, e.errno());
        }
    }

    @Test
    void rejectsBadChecksumsAndReportsOtherTypesAsUnsupported() throws ErrnoException {
        ByteBuf b = Unpooled.copiedBuffer(icmpOf(Fixtures.ICMP_ECHO_REQUEST));
        b.setByte(9, 0);
        assertEquals(Errno.EBADMSG, assertThrows(ErrnoException.class, () -> IcmpRepr.parse(IcmpPacket.parse(b))).errno());
        ByteBuf ts = Unpooled.buffer(20).writerIndex(20);
        ts.setByte(0, 13); // Timestamp
        ts.setShort(2, Checksum.compute(ts, 0, 20));
        assertEquals(Errno.EPROTONOSUPPORT,
                assertThrows(ErrnoException.class, () -> IcmpRepr.parse(IcmpPacket.parse(ts))).errno());
        for (int n = 0; n < 8; n++) {
            ByteBuf cut = b.slice(0, n);
            assertEquals(Errno.EBADMSG, assertThrows(ErrnoException.class, () -> IcmpPacket.parse(cut)).errno());
        }
    }

    @Test
    void randomMessagesRoundTrip() throws ErrnoException {
        RandomReprs g = new RandomReprs(792);
        for (int i = 0; i < 2000; i++) {
            IcmpRepr r = g.icmp();
            ByteBuf b = Unpooled.buffer(r.bufferLength()).writerIndex(r.bufferLength());
            r.emit(b, 0);
            IcmpRepr back = IcmpRepr.parse(IcmpPacket.parse(b));
            assertEquals(r, back);
            ByteBuf again = Unpooled.buffer(r.bufferLength()).writerIndex(r.bufferLength());
            back.emit(again, 0);
            assertEquals(Fixtures.hex(b), Fixtures.hex(again));
        }
    }
}
