package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.dhcp.DhcpMessage;
import io.jrump.net.dhcp.DhcpPacket;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Set;

/**
 * Arbitrary bytes as a DHCP message (the UDP payload): the view and the record either parse or
 * fail with a defined errno (EBADMSG for a malformed message, EPROTONOSUPPORT for a variant not
 * handled), never an unchecked exception; what parsed is emitted again and parses back to the
 * same record. Seeds are messages the client and a test server emitted (DISCOVER, REQUEST in
 * SELECTING and RENEWING, DECLINE, RELEASE, OFFER, ACK, NAK).
 */
class DhcpMessageFuzzTest {
    private static final Set<Errno> DEFINED = Set.of(Errno.EBADMSG, Errno.EPROTONOSUPPORT);

    @FuzzTest(maxDuration = "60s")
    void parsing(byte[] input) throws ErrnoException {
        ByteBuf b = Unpooled.wrappedBuffer(input);
        DhcpMessage m;
        try {
            DhcpPacket p = DhcpPacket.parse(b);
            p.toString();
            m = DhcpMessage.parse(p);
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
            return;
        }
        m.toString();
        ByteBuf again = m.toByteBuf();
        assertEquals(m.bufferLength(), again.readableBytes());
        assertEquals(m, DhcpMessage.parse(again));
    }
}
