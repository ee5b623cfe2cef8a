package io.jrump.net.stack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A stack that offloads checksums to the JVM switch and one that does not, talking both ways: the
 * switch passes partial checksums to the first and completes them for the second.
 */
class JvmSwitchOffloadTest {
    @Test
    void anOffloadingStackAndAPlainOneExchangeBytesExactly() throws Exception {
        try (JvmPair p = new JvmPair("offload", false, NicOptions.mtu(9000).withOffloads(NicOffload.ALL),
                NicOptions.mtu(9000))) {
            NetStack offloading = p.a;
            NetStack plain = p.b;
            Sockets so = offloading.sockets();
            Sockets sp = plain.sockets();
            int[] fds = p.connect(80);
            int client = fds[0];
            int server = fds[1];

            byte[] up = new byte[2 << 20];
            new Random(1).nextBytes(up);
            assertArrayEquals(up, StackTcpTest.transfer(so, client, sp, server, up));
            byte[] down = new byte[2 << 20];
            new Random(2).nextBytes(down);
            assertArrayEquals(down, StackTcpTest.transfer(sp, server, so, client, down));

            assertTrue(offloading.stats().get("eth.out.checksum_offload") > 0, "it left its checksums to the switch");
            assertEquals(0, plain.stats().get("eth.out.checksum_offload"));
            assertEquals(0, plain.stats().get("tcp.drop.malformed") + offloading.stats().get("tcp.drop.malformed"),
                    "every checksum verified or trusted");
        }
    }
}
