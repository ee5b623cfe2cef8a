package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.dhcp6.Dhcp6Message;
import io.jrump.net.dhcp6.Dhcp6Packet;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Set;

/**
 * Arbitrary bytes as a DHCPv6 message (the UDP payload): the view and the record either parse or
 * fail with a defined errno (EBADMSG for a malformed message, EPROTONOSUPPORT for relay
 * messages), never an unchecked exception; what parsed is emitted again with the same length,
 * parses back to the same record, and a second emit gives the same bytes. Seeds are messages the
 * client and the test server emitted (Information-request, Replies with and without a failure
 * status) and a few hand-made hostile ones.
 */
class Dhcp6MessageFuzzTest {
    private static final Set<Errno> DEFINED = Set.of(Errno.EBADMSG, Errno.EPROTONOSUPPORT);

    @FuzzTest(maxDuration = "60s")
    void parsing(byte[] input) throws ErrnoException {
        ByteBuf b = Unpooled.wrappedBuffer(input);
        Dhcp6Message m;
        try {
            Dhcp6Packet p = Dhcp6Packet.parse(b);
            p.toString();
            m = Dhcp6Message.parse(p);
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
            return;
        }
        m.toString();
        ByteBuf again = m.toByteBuf();
        assertEquals(input.length, again.readableBytes(), "DHCPv6 has no padding: the same length back");
        Dhcp6Message back = Dhcp6Message.parse(again);
        assertEquals(m, back);
        assertArrayEquals(bytes(again), bytes(back.toByteBuf()));
    }

    private static byte[] bytes(ByteBuf b) {
        byte[] out = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), out);
        return out;
    }
}
