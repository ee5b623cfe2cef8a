package io.jrump.net.dns;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import java.io.ByteArrayOutputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The DNS wire format: round trips with compression, and one hand-made hostile message per refusal reason. */
class DnsMessageTest {
    static final DnsName WWW = DnsName.of("www", "example", "test");
    static final DnsName WEB = DnsName.of("web", "example", "test");
    static final DnsName ZONE = DnsName.of("example", "test");

    static DnsMessage sampleAnswer() {
        DnsHeader h = new DnsHeader(0xbeef, true, 0, true, false, true, true, 0, DnsHeader.RCODE_NOERROR);
        return new DnsMessage(h, List.of(DnsQuestion.in(WWW, DnsType.A)),
                List.of(DnsRecord.in(WWW, DnsType.CNAME, 300, new DnsRdata.Name(WEB)),
                        DnsRecord.in(WEB, DnsType.A, 60, new DnsRdata.A(Ipv4Address.parse("198.18.0.7"))),
                        DnsRecord.in(WEB, DnsType.AAAA, 60, DnsRdata.Aaaa.of(new byte[] {0x20, 0x01, 0x0d, (byte) 0xb8,
                            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7})),
                        DnsRecord.in(WWW, 16, 5, new DnsRdata.Opaque(new byte[] {3, 'a', 'b', 'c'}))),
                List.of(DnsRecord.in(ZONE, DnsType.SOA, 3600, new DnsRdata.Soa(DnsName.of("ns", "example", "test"),
                        DnsName.of("hostmaster", "example", "test"), 2026120701L, 7200, 900, 1209600, 300)),
                        DnsRecord.in(ZONE, DnsType.NS, 3600, new DnsRdata.Name(DnsName.of("ns", "example", "test")))),
                List.of(DnsRecord.in(DnsName.of("7", "0", "18", "198", "in-addr", "arpa"), DnsType.PTR, 60,
                        new DnsRdata.Name(WEB)), Edns.of(1232).toRecord()));
    }

    @Test
    void aResponseRoundTripsWithNamesCompressed() throws ErrnoException {
        DnsMessage m = sampleAnswer();
        byte[] wire = m.toBytes();
        DnsMessage back = DnsMessage.parse(wire);
        assertEquals(m, back);
        assertArrayEquals(wire, back.toBytes());
        assertEquals(1232, back.edns().orElseThrow().udpPayloadSize());
        // www.example.test is written once (offset 12); the CNAME owner points back at it.
        assertEquals(3, wire[12]);
        int answerOwner = 12 + WWW.wireLength() + 4;
        assertEquals(0xc0, wire[answerOwner] & 0xff);
        assertEquals(12, wire[answerOwner + 1]);
        int uncompressed = 12 + WWW.wireLength() + 4;
        for (List<DnsRecord> s : List.of(m.answers(), m.authorities(), m.additionals())) {
            for (DnsRecord r : s) {
                uncompressed += r.name().wireLength() + 10 + 40;
            }
        }
        assertTrue(wire.length < uncompressed / 2, wire.length + " bytes");
    }

    @Test
    void aQueryHasTheHeaderRfc1035Describes() throws ErrnoException {
        byte[] q = DnsMessage.query(0x1234, DnsQuestion.in(WWW, DnsType.AAAA), Edns.of(1232)).toBytes();
        assertArrayEquals(new byte[] {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1}, java.util.Arrays.copyOf(q, 12));
        DnsPacket p = DnsPacket.parse(io.netty.buffer.Unpooled.wrappedBuffer(q));
        assertEquals(0x1234, p.id());
        assertTrue(p.header().recursionDesired());
        // OPT: root owner, type 41, class = payload size.
        int opt = 12 + WWW.wireLength() + 4;
        assertEquals(0, q[opt]);
        assertEquals(41, q[opt + 2]);
        assertEquals(1232, (q[opt + 3] & 0xff) << 8 | q[opt + 4] & 0xff);
        assertEquals(q.length, opt + 11);
    }

    @Test
    void namesParseFromTextAndRefuseBadOnesWithEinval() throws ErrnoException {
        assertEquals(WWW, DnsName.parse("www.example.test."));
        assertEquals(WWW, DnsName.parse("www.example.test"));
        assertEquals(DnsName.ROOT, DnsName.parse("."));
        assertTrue(DnsName.parse("WWW.Example.TEST").equalsIgnoreCase(WWW));
        for (String bad : new String[] {"", "a..b", "x".repeat(64) + ".test", ("x".repeat(63) + ".").repeat(4) + "x",
            "caf\u00e9\u0100.test"}) {
            assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> DnsName.parse(bad)).errno(), bad);
        }
        assertEquals("a\\046b.test.", DnsName.of("a.b", "test").toString());
    }

    // ---- hostile messages, one per reason --------------------------------------------------------

    /** Bytes from ints, each taken as one byte. */
    static byte[] b(int... v) {
        byte[] out = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (byte) v[i];
        }
        return out;
    }

    static byte[] cat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            o.writeBytes(p);
        }
        return o.toByteArray();
    }

    static byte[] header(int qd, int an, int ns, int ar) {
        return b(0x12, 0x34, 0x81, 0x80, 0, qd, 0, an, 0, ns, 0, ar);
    }

    static void refused(DnsFormatError reason, byte[] message) {
        DnsFormatException e = assertThrows(DnsFormatException.class, () -> DnsMessage.parse(message));
        assertEquals(reason, e.reason(), e.getMessage());
        assertEquals(Errno.EBADMSG, e.errno());
        assertTrue(e.getMessage().contains("offset") || reason == DnsFormatError.TRUNCATED_HEADER, e.getMessage());
    }

    @Test
    void shortHeader() {
        refused(DnsFormatError.TRUNCATED_HEADER, b(0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0));
    }

    @Test
    void countsThatCannotFit() {
        refused(DnsFormatError.COUNT_EXCEEDS_MESSAGE, b(0x12, 0x34, 0x81, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff));
        // one answer claims 11 bytes; 10 are there
        refused(DnsFormatError.COUNT_EXCEEDS_MESSAGE, cat(header(0, 1, 0, 0), new byte[10]));
    }

    @Test
    void questionWithoutItsClass() {
        refused(DnsFormatError.TRUNCATED_QUESTION, cat(header(1, 0, 0, 0), b(3, 'a', 'b', 'c', 0, 0, 1)));
    }

    @Test
    void nameRunningOffTheEnd() {
        refused(DnsFormatError.TRUNCATED_NAME, cat(header(1, 0, 0, 0), b(9, 'a', 'b', 'c', 'd', 'e')));
    }

    @Test
    void labelLengthOver63() {
        byte[] label = new byte[70];
        label[0] = 64;
        refused(DnsFormatError.LABEL_TOO_LONG, cat(header(1, 0, 0, 0), label, b(0, 0, 1, 0, 1)));
        refused(DnsFormatError.LABEL_TOO_LONG, cat(header(1, 0, 0, 0), b(0x80, 0, 0, 1, 0, 1)));
    }

    @Test
    void nameOver255Bytes() {
        ByteArrayOutputStream name = new ByteArrayOutputStream();
        for (int i = 0; i < 5; i++) {
            name.write(63);
            name.writeBytes("x".repeat(63).getBytes());
        }
        name.write(0);
        refused(DnsFormatError.NAME_TOO_LONG, cat(header(1, 0, 0, 0), name.toByteArray(), b(0, 1, 0, 1)));
    }

    @Test
    void pointerPastTheMessage() {
        refused(DnsFormatError.POINTER_OUT_OF_MESSAGE, cat(header(1, 0, 0, 0), b(0xc0, 0xff, 0, 1, 0, 1)));
    }

    @Test
    void pointerForwardOrToItself() {
        refused(DnsFormatError.POINTER_FORWARD, cat(header(1, 0, 0, 0), b(0xc0, 14, 0, 0, 1, 0, 1)));
        refused(DnsFormatError.POINTER_FORWARD, cat(header(1, 0, 0, 0), b(0xc0, 12, 0, 1, 0, 1)));
    }

    @Test
    void pointerBackIntoItsOwnLabels() {
        refused(DnsFormatError.COMPRESSION_LOOP, cat(header(1, 0, 0, 0), b(1, 'a', 0xc0, 12, 0, 1, 0, 1)));
        // Two names pointing into each other: the second's pointer goes back into the first, whose
        // pointer then goes forward again: refused at the forward one.
        refused(DnsFormatError.POINTER_FORWARD, cat(header(2, 0, 0, 0), b(1, 'a', 0xc0, 18, 0, 1, 0, 1),
            b(1, 'b', 0xc0, 12, 0, 1, 0, 1)));
    }

    @Test
    void chainOfMorePointersThanANameHasLabels() {
        // An opaque record holds a root name then 130 pointers, each to the one before; a second
        // record's owner points at the last. Every pointer goes backwards: only the count stops it.
        int rdStart = 12 + 1 + 10;
        ByteArrayOutputStream rdata = new ByteArrayOutputStream();
        rdata.write(0);
        int previous = rdStart;
        for (int i = 0; i < 130; i++) {
            int here = rdStart + rdata.size();
            rdata.write(0xc0 | previous >> 8);
            rdata.write(previous & 0xff);
            previous = here;
        }
        byte[] rd = rdata.toByteArray();
        byte[] message = cat(header(0, 2, 0, 0), b(0, 0, 99, 0, 1, 0, 0, 0, 0, rd.length >> 8, rd.length & 0xff), rd,
            b(0xc0 | previous >> 8, previous & 0xff, 0, 99, 0, 1, 0, 0, 0, 0, 0, 0));
        refused(DnsFormatError.COMPRESSION_LOOP, message);
    }

    @Test
    void recordCutShort() {
        refused(DnsFormatError.TRUNCATED_RR, cat(header(0, 1, 0, 0), b(0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18)));
        refused(DnsFormatError.TRUNCATED_RR, cat(header(0, 1, 0, 0), b(1, 'a', 0, 0, 1, 0, 1, 0, 0, 0, 60)));
    }

    @Test
    void rdataOfTheWrongLength() {
        refused(DnsFormatError.RDATA_LENGTH_MISMATCH,
                cat(header(0, 1, 0, 0), b(0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 5, 198, 18, 0, 7, 0)));
        refused(DnsFormatError.RDATA_LENGTH_MISMATCH,
                cat(header(0, 1, 0, 0), b(0, 0, 28, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 7)));
        // a CNAME whose name runs past RDLENGTH, and one that ends before it
        refused(DnsFormatError.RDATA_LENGTH_MISMATCH,
                cat(header(0, 1, 0, 0), b(0, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 1, 'a', 0)));
        refused(DnsFormatError.RDATA_LENGTH_MISMATCH,
                cat(header(0, 1, 0, 0), b(0, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 'a', 0, 0)));
        // an SOA without its five numbers
        refused(DnsFormatError.RDATA_LENGTH_MISMATCH,
                cat(header(0, 1, 0, 0), b(0, 0, 6, 0, 1, 0, 0, 0, 60, 0, 6, 0, 0, 0, 0, 0, 1)));
    }

    @Test
    void misplacedOrRepeatedOpt() {
        byte[] opt = b(0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0);
        refused(DnsFormatError.BAD_OPT, cat(header(0, 1, 0, 0), opt));
        refused(DnsFormatError.BAD_OPT, cat(header(0, 0, 0, 2), opt, opt));
        refused(DnsFormatError.BAD_OPT, cat(header(0, 0, 0, 1), b(1, 'a', 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0)));
    }

    @Test
    void trailingBytesAreIgnoredAndNamesMayPointAtEarlierRecords() throws ErrnoException {
        byte[] m = cat(header(1, 1, 0, 0), b(1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1),
            b(0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 7), b(0xde, 0xad));
        DnsMessage parsed = DnsMessage.parse(m);
        assertEquals(DnsName.of("a", "test"), parsed.answers().get(0).name());
        assertEquals(new DnsRdata.A(Ipv4Address.parse("198.18.0.7")), parsed.answers().get(0).data());
    }
}
