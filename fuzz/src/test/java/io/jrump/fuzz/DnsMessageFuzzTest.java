package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.hypercall.Errno;
import io.jrump.net.dns.DnsFormatException;
import io.jrump.net.dns.DnsMessage;
import io.jrump.net.dns.DnsPacket;
import io.netty.buffer.Unpooled;

/**
 * Arbitrary bytes as a DNS message: the parser either reads them or refuses them with a
 * {@link DnsFormatException} (EBADMSG and a named reason), never an unchecked exception, a hang
 * or an allocation the message's size does not justify; what parses is emitted again (names
 * compressed our way) and parses back to the same record. Seeds: real dnsmasq answers saved by
 * rump-net's DnsmasqInteropTest (A, AAAA, CNAME, NXDOMAIN, a truncated answer of 30 records), one
 * of our queries with EDNS, and a hand-made compression loop.
 */
class DnsMessageFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void parsing(byte[] input) throws Exception {
        DnsMessage m;
        try {
            DnsPacket p = DnsPacket.parse(Unpooled.wrappedBuffer(input));
            p.header();
            m = DnsMessage.parse(p);
        } catch (DnsFormatException e) {
            assertEquals(Errno.EBADMSG, e.errno());
            assertTrue(e.reason() != null && e.getMessage().contains(e.reason().name()), e.getMessage());
            return;
        }
        m.edns();
        m.rcode();
        m.toString();
        byte[] again;
        try {
            again = m.toBytes();
        } catch (IllegalArgumentException tooBig) {
            // An input compressed more tightly than our emitter does can come out over 65535 bytes.
            assertTrue(tooBig.getMessage().contains("over 65535"), tooBig.getMessage());
            return;
        }
        assertEquals(m, DnsMessage.parse(again));
    }
}
