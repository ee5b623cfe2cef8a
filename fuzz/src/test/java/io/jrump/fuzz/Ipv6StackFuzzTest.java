package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.fuzz.kit.Frames;
import io.jrump.fuzz.kit.Invariants;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv6Address;
import io.jrump.net.stack.Interface;
import io.jrump.net.stack.Ipv6Options;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;

/**
 * IPv6 packets shaped by the fuzzer into a stack with SLAAC on, a manual address, a UDP socket
 * and a live TCP connection over IPv6: each is an Ethernet frame to the stack (or to an IPv6
 * multicast MAC) carrying an IPv6 header whose addresses come from a set that reaches the code
 * (ours, link-local, all-nodes, solicited-node, a router's) or from the fuzzer, a Next Header and
 * a body from the fuzzer, with the ICMPv6, UDP or TCP checksum made right if the fuzzer says so
 * (so extension headers, NDP, router advertisements, fragments and errors get past the checksum).
 * Whatever arrives: no task throws, the neighbour cache and the address table stay bounded, and
 * afterwards a datagram is still delivered and the connection still carries bytes.
 */
class Ipv6StackFuzzTest {
    private static final Ipv6Address US = Ipv6Address.parse("2001:db8::2");
    private static final Ipv6Address PEER = Ipv6Address.parse("2001:db8::1");
    private static final Ipv6Address ROUTER = Ipv6Address.parse("fe80::1");

    @FuzzTest(maxDuration = "60s")
    void ipv6PacketsIntoAStack(FuzzedDataProvider data) throws Exception {
        // Closed after every input: a kernel left running keeps its connections' pooled buffers.
        List<RumpKernel> kernels = new java.util.ArrayList<>();
        try {
            SimWorld world = new SimWorld(1);
            SimHost host = world.newHost("stack");
            NetStack stack = new NetStack();
            kernels.add(RumpKernel.boot(host, BootOptions.defaults().withComponentInstances(List.of(stack))));
            stack.addInterface("lan", NicOptions.defaults());
            stack.enableIpv6("lan", Ipv6Options.slaacDefaults());
            stack.addAddress("lan", US, 64);
            NetStack peer = new NetStack();
            kernels.add(RumpKernel.boot(world.newHost("peer"), BootOptions.defaults().withComponentInstances(List.of(peer))));
            peer.addInterface("lan", NicOptions.defaults());
            peer.addAddress("lan", PEER, 64);
            world.runFor(Duration.ofSeconds(3)); // DAD
            Sockets s = stack.sockets();
            int udp = s.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
            s.bind(udp, new Sockets.SocketAddress(Ipv6Address.UNSPECIFIED, 7));
            int listener = s.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
            s.bind(listener, new Sockets.SocketAddress(Ipv6Address.UNSPECIFIED, 80));
            s.listen(listener, 8);
            Sockets ps = peer.sockets();
            int client = ps.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
            ps.connect(client, new Sockets.SocketAddress(US, 80));
            int server = s.accept(listener);
            Interface lan = stack.interfaces().stream().filter(i -> i.name().equals("lan")).findFirst().orElseThrow();
            Ipv6Address linkLocal = lan.ipv6Addresses().stream().map(a -> a.address()).filter(Ipv6Address::isLinkLocal)
                    .findFirst().orElseThrow();
            List<Ipv6Address> addresses = List.of(US, linkLocal, Ipv6Address.ALL_NODES, US.solicitedNode(), PEER, ROUTER,
                    Ipv6Address.UNSPECIFIED, Ipv6Address.parse("2001:db8:1::9"));
            HostNic nic = world.newHost("raw").networkInterfaces().open("lan", NicOptions.defaults(), f -> { });
            int packets = data.consumeInt(1, 48);
            for (int n = 0; n < packets && data.remainingBytes() > 0; n++) {
                Ipv6Address src = data.consumeBoolean() ? addresses.get(data.consumeInt(0, addresses.size() - 1))
                        : new Ipv6Address(data.consumeLong(), data.consumeLong());
                Ipv6Address dst = addresses.get(data.consumeInt(0, 3));
                int nextHeader = data.pickValue(new int[] {58, 17, 6, 0, 43, 44, 60, 59, data.consumeInt(0, 255)});
                int hopLimit = data.consumeBoolean() ? 255 : data.consumeInt(0, 255);
                boolean fixChecksum = data.consumeBoolean();
                byte[] body = data.consumeBytes(data.consumeInt(0, 1460));
                nic.send(ByteBuffer.wrap(Frames.ethernet(Frames.destinationMac(dst, lan.mac()), Frames.FUZZER_MAC,
                        Frames.ETHERTYPE_IPV6, Frames.ipv6(src, dst, nextHeader, hopLimit, body, fixChecksum))));
                world.runFor(Duration.ofMillis(data.consumeInt(0, 3000)));
            }
            // Forged advertisements may have planted neighbours and routers: let them run out (a
            // default router lives up to 9000 s, a planted neighbour 20 minutes when unused).
            world.runFor(Duration.ofSeconds(65));
            Invariants.noFailures(world);
            Invariants.stackSane(stack); // bounded neighbour cache and address table, sane connections
            int out = ps.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
            ps.sendto(out, ByteBuffer.wrap(new byte[] {42}), new Sockets.SocketAddress(US, 7), 0);
            world.runFor(Duration.ofSeconds(2));
            try {
                assertTrue(s.recvfrom(udp, ByteBuffer.allocate(64), Sockets.MSG_DONTWAIT).length() >= 1);
            } catch (ErrnoException e) {
                // A forged NA may have taken the peer's address for a while (as on a real LAN): the
                // datagram waits out the neighbour's reachability; try once more after that.
                world.runFor(Duration.ofSeconds(60));
                ps.sendto(out, ByteBuffer.wrap(new byte[] {43}), new Sockets.SocketAddress(US, 7), 0);
                assertTrue(s.recvfrom(udp, ByteBuffer.allocate(64), 0).length() >= 1);
            }
            try {
                ps.send(client, ByteBuffer.wrap(new byte[] {7}), 0);
                s.recv(server, ByteBuffer.allocate(16), 0);
            } catch (ErrnoException e) {
                assertTrue(e.errno() == Errno.ECONNRESET || e.errno() == Errno.EPIPE || e.errno() == Errno.ETIMEDOUT,
                        e.toString());
            }
            assertEquals(List.of(), world.failures(), "a task threw");
        } finally {
            kernels.forEach(RumpKernel::close);
        }
    }
}
