package io.jrump.net.stack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.Sockets.SocketAddress;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A stack that offloads checksums to the JVM switch and one that does not, talking both ways: the
 * switch passes partial checksums to the first and completes them for the second.
 */
class JvmSwitchOffloadTest {
    @Test
    void anOffloadingStackAndAPlainOneExchangeBytesExactly() throws Exception {
        SwitchRegistry sw = new SwitchRegistry();
        NetStack offloading = new NetStack();
        NetStack plain = new NetStack();
        try (RumpKernel ka = RumpKernel.boot(JvmHost.builder().name("offloading").switches(sw).build(),
                BootOptions.defaults().withName("offloading").withComponentInstances(List.of(offloading)));
             RumpKernel kb = RumpKernel.boot(JvmHost.builder().name("plain").switches(sw).build(),
                BootOptions.defaults().withName("plain").withComponentInstances(List.of(plain)))) {
            offloading.addInterface("sw0", NicOptions.mtu(9000).withOffloads(NicOffload.ALL));
            plain.addInterface("sw0", NicOptions.mtu(9000));
            offloading.addAddress("sw0", Ipv4Address.parse("198.18.0.1"), 24);
            plain.addAddress("sw0", Ipv4Address.parse("198.18.0.2"), 24);
            Sockets sp = plain.sockets();
            int listener = sp.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            sp.bind(listener, new SocketAddress(Ipv4Address.ANY, 80));
            sp.listen(listener, 4);
            Sockets so = offloading.sockets();
            int client = so.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            so.connect(client, new SocketAddress(Ipv4Address.parse("198.18.0.2"), 80));
            int server = sp.accept(listener);

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
