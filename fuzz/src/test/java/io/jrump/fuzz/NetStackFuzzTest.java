package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;

/**
 * Frames chosen by the fuzzer, sent from a raw port on the link into a stack that has a UDP
 * socket bound, a TCP listener and a live TCP connection: whatever arrives, the stack only counts
 * and drops (no task may throw — the sim world records any that does), and afterwards it still
 * delivers a datagram and the connection still carries bytes.
 */
class NetStackFuzzTest {
    private static final Ipv4Address US = Ipv4Address.parse("198.18.0.2");
    private static final Ipv4Address PEER = Ipv4Address.parse("198.18.0.1");

    @FuzzTest(maxDuration = "60s")
    void framesIntoAStack(FuzzedDataProvider data) throws Exception {
        // Closed after every input: a kernel left running keeps its connections' pooled buffers.
        List<RumpKernel> kernels = new java.util.ArrayList<>();
        try {
            SimWorld world = new SimWorld(1);
            SimHost host = world.newHost("stack");
            NetStack stack = new NetStack();
            kernels.add(RumpKernel.boot(host, BootOptions.defaults().withComponentInstances(List.of(stack))));
            stack.addInterface("lan", NicOptions.defaults());
            stack.addAddress("lan", US, 24);
            Sockets s = stack.sockets();
            int udp = s.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            s.bind(udp, new Sockets.SocketAddress(Ipv4Address.ANY, 7));
            int listener = s.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            s.bind(listener, new Sockets.SocketAddress(Ipv4Address.ANY, 80));
            s.listen(listener, 8);
            // A live connection from a peer stack, through which the fuzzer's frames also pass.
            NetStack peer = new NetStack();
            kernels.add(RumpKernel.boot(world.newHost("peer"), BootOptions.defaults().withComponentInstances(List.of(peer))));
            peer.addInterface("lan", NicOptions.defaults());
            peer.addAddress("lan", PEER, 24);
            Sockets ps = peer.sockets();
            int client = ps.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            ps.connect(client, new Sockets.SocketAddress(US, 80));
            int server = s.accept(listener);
            SimHost raw = world.newHost("raw");
            HostNic nic = raw.networkInterfaces().open("lan", NicOptions.defaults(), f -> { });
            int frames = data.consumeInt(1, 64);
            for (int i = 0; i < frames && data.remainingBytes() > 0; i++) {
                byte[] frame = data.consumeBytes(data.consumeInt(14, 1514));
                if (frame.length >= 14) {
                    nic.send(ByteBuffer.wrap(frame));
                }
                world.runFor(Duration.ofMillis(data.consumeInt(0, 2000)));
            }
            // Spoofed ARP from the fuzzer can misdirect traffic, as on a real LAN, until the neighbour
            // entries it planted expire (60 s): wait that out before checking the stacks still work.
            world.runFor(Duration.ofSeconds(65));
            assertEquals(List.of(), world.failures(), "a task threw");
            // Still alive: the peer sends a datagram, and the connection still carries bytes (unless
            // the fuzzer reset it with a well-aimed RST, which is a legitimate outcome).
            int out = ps.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            ps.sendto(out, ByteBuffer.wrap(new byte[] {42}), new Sockets.SocketAddress(US, 7), 0);
            ByteBuffer got = ByteBuffer.allocate(64);
            Sockets.Received r = s.recvfrom(udp, got, 0);
            assertTrue(r.length() >= 1);
            try {
                ps.send(client, ByteBuffer.wrap(new byte[] {7}), 0);
                ByteBuffer one = ByteBuffer.allocate(16);
                s.recv(server, one, 0);
            } catch (io.jrump.hypercall.ErrnoException e) {
                assertTrue(e.errno() == io.jrump.hypercall.Errno.ECONNRESET || e.errno() == io.jrump.hypercall.Errno.EPIPE
                        || e.errno() == io.jrump.hypercall.Errno.ETIMEDOUT, e.toString());
            }
            assertEquals(List.of(), world.failures(), "a task threw");
        } finally {
            kernels.forEach(RumpKernel::close);
        }
    }
}
