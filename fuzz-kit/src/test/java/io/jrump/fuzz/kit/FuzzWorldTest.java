package io.jrump.fuzz.kit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jrump.blk.HostDisk;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class FuzzWorldTest {
    @Test
    void twoStacksOnALinkTalkAndADiskHoldsTheInput() throws Exception {
        byte[] input = {1, 2, 3};
        try (FuzzWorld w = FuzzWorld.builder(7).stack("a", "lan", "198.18.0.1/24").stack("b", "lan", "198.18.0.2/24")
                .disk("a", "d0", input, 4096).build()) {
            NetStack b = w.stack("b");
            int server = b.sockets().socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            b.sockets().bind(server, new Sockets.SocketAddress(Ipv4Address.ANY, 9));
            Sockets as = w.stack("a").sockets();
            int client = as.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            as.sendto(client, ByteBuffer.wrap(new byte[] {42}), new Sockets.SocketAddress(Ipv4Address.parse("198.18.0.2"), 9), 0);
            w.world().runFor(Duration.ofSeconds(1));
            assertEquals(1, b.sockets().recvfrom(server, ByteBuffer.allocate(8), Sockets.MSG_DONTWAIT).length());

            HostDisk d = w.disk("d0");
            byte[] back = new byte[4096];
            d.read(0, ByteBuffer.wrap(back));
            byte[] expected = new byte[4096];
            System.arraycopy(input, 0, expected, 0, 3);
            assertArrayEquals(expected, back, "the input, zeros after");
            Invariants.noFailures(w.world());
            Invariants.stackSane(b);
        }
    }

    @Test
    void anInputLongerThanTheDiskIsCutAndUnknownNamesAreRefused() throws Exception {
        try (FuzzWorld w = FuzzWorld.ofDisk(new byte[10_000], 4096)) {
            assertEquals(4096, w.disk().size());
            assertThrows(IllegalArgumentException.class, () -> w.stack("fuzz"));
        }
    }

    /** A host declared only by its disk boots its kernel when first asked for it, and only once. */
    @Test
    void aDiskOnlyHostBootsItsKernelOnFirstUse() throws Exception {
        byte[] input = new byte[70_000];
        java.util.Arrays.fill(input, 60_000, 70_000, (byte) 7);
        try (FuzzWorld w = FuzzWorld.ofDisk(input, 128 * 1024)) {
            io.jrump.kernel.RumpKernel k = w.kernel("fuzz");
            assertEquals(io.jrump.kernel.RumpKernel.State.RUNNING, k.state());
            org.junit.jupiter.api.Assertions.assertSame(k, w.kernel("fuzz"));
            assertThrows(IllegalArgumentException.class, () -> w.kernel("nobody"));
            byte[] back = new byte[128 * 1024];
            w.disk().read(0, ByteBuffer.wrap(back));
            byte[] expected = new byte[128 * 1024];
            System.arraycopy(input, 0, expected, 0, input.length);
            assertArrayEquals(expected, back, "the input, zeros after");
        }
        io.jrump.hypercall.ErrnoException odd = assertThrows(io.jrump.hypercall.ErrnoException.class,
                () -> FuzzWorld.ofDisk(new byte[1], 1000));
        assertEquals(io.jrump.hypercall.Errno.EINVAL, odd.errno());
    }
}
