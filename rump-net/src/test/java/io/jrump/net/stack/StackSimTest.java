package io.jrump.net.stack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.Sockets.SocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Two kernels on one simulated Ethernet link: ARP, ICMP echo through ping sockets, UDP both ways
 * with fragmentation, port-unreachable errors, and the same trace from the same seed.
 */
class StackSimTest {
    static final Ipv4Address A = Ipv4Address.parse("198.18.0.1");
    static final Ipv4Address B = Ipv4Address.parse("198.18.0.2");

    /** Two stacks on link "lan" of one world; closing shuts both kernels down (their buffers go back). */
    static final class Pair implements AutoCloseable {
        final SimWorld world;
        final NetStack a;
        final NetStack b;
        private final java.util.List<RumpKernel> kernels = new java.util.ArrayList<>();

        Pair(long seed, int mtu) throws ErrnoException {
            world = new SimWorld(seed);
            a = boot(world.newHost("a"), A, mtu, kernels);
            b = boot(world.newHost("b"), B, mtu, kernels);
        }

        @Override
        public void close() {
            kernels.forEach(RumpKernel::close);
        }

        private static NetStack boot(SimHost host, Ipv4Address address, int mtu, java.util.List<RumpKernel> kernels)
                throws ErrnoException {
            NetStack stack = new NetStack();
            kernels.add(RumpKernel.boot(host, BootOptions.defaults().withComponentInstances(List.of(stack))));
            stack.addInterface("lan", NicOptions.mtu(mtu));
            stack.addAddress("lan", address, 24);
            return stack;
        }
    }

    @Test
    void pingGetsEchoRepliesAcrossTheLink() throws Exception {
        Pair p = new Pair(1, 1500);
        Sockets s = p.a.sockets();
        int fd = s.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, Sockets.IPPROTO_ICMP);
        for (int seq = 1; seq <= 3; seq++) {
            byte[] echo = new byte[8 + 56];
            echo[0] = 8;
            echo[7] = (byte) seq;
            new Random(seq).nextBytes(java.util.Arrays.copyOfRange(echo, 8, echo.length));
            s.sendto(fd, ByteBuffer.wrap(echo), new SocketAddress(B, 0), 0);
            ByteBuffer reply = ByteBuffer.allocate(200);
            Sockets.Received r = s.recvfrom(fd, reply, 0);
            assertEquals(B, r.from().address());
            assertEquals(64, r.length());
            assertEquals(0, reply.get(0), "echo reply");
            assertEquals(seq, reply.get(7));
        }
        assertEquals(3, p.b.stats().get("icmp.out.echo_reply"));
        assertTrue(p.a.stats().get("arp.out") >= 1, "the first ping resolved B by ARP");
    }

    @Test
    void udpGoesBothWaysFragmentedOrNot() throws Exception {
        Pair p = new Pair(2, 1500);
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        int server = sb.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
        sb.bind(server, new SocketAddress(Ipv4Address.ANY, 7));
        int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
        for (int size : new int[] {0, 1, 1472, 1473, 9000, 65507}) {
            byte[] data = new byte[size];
            new Random(size).nextBytes(data);
            sa.sendto(client, ByteBuffer.wrap(data), new SocketAddress(B, 7), 0);
            ByteBuffer got = ByteBuffer.allocate(70_000);
            Sockets.Received r = sb.recvfrom(server, got, 0);
            assertEquals(size, r.length(), "size " + size);
            assertArrayEquals(data, java.util.Arrays.copyOf(got.array(), size));
            // Echo it back to where it came from.
            sb.sendto(server, ByteBuffer.wrap(data), r.from(), 0);
            ByteBuffer back = ByteBuffer.allocate(70_000);
            assertEquals(size, sa.recvfrom(client, back, 0).length());
        }
        assertTrue(p.b.stats().get("ip.reassembled") >= 3, "the large ones came in fragments");
        assertEquals(Errno.EMSGSIZE, assertThrows(ErrnoException.class,
                () -> sa.sendto(client, ByteBuffer.allocate(65508), new SocketAddress(B, 7), 0)).errno());
    }

    @Test
    void aClosedPortIsRefusedAndAnUnreachableNetIsSaidSo() throws Exception {
        Pair p = new Pair(3, 1500);
        Sockets sa = p.a.sockets();
        int fd = sa.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
        sa.connect(fd, new SocketAddress(B, 9999));
        sa.send(fd, ByteBuffer.wrap(new byte[] {1}), 0);
        ErrnoException refused = assertThrows(ErrnoException.class, () -> sa.recv(fd, ByteBuffer.allocate(10), 0));
        assertEquals(Errno.ECONNREFUSED, refused.errno());
        assertEquals(Errno.ENETUNREACH, assertThrows(ErrnoException.class,
                () -> sa.sendto(fd, ByteBuffer.wrap(new byte[1]), new SocketAddress(Ipv4Address.parse("203.0.113.1"), 9), 0))
                .errno());
        assertEquals(Errno.EAGAIN, assertThrows(ErrnoException.class,
                () -> sa.recv(fd, ByteBuffer.allocate(10), Sockets.MSG_DONTWAIT)).errno());
        assertEquals(Errno.EPROTONOSUPPORT, assertThrows(ErrnoException.class,
                () -> sa.socket(Sockets.AF_INET, 5, 0)).errno());
    }

    @Test
    void theLoopbackDeliversToTheSameStack() throws Exception {
        Pair p = new Pair(4, 1500);
        Sockets s = p.a.sockets();
        int srv = s.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
        s.bind(srv, new SocketAddress(Ipv4Address.LOOPBACK, 5353));
        int cli = s.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
        s.sendto(cli, ByteBuffer.wrap("hi".getBytes()), new SocketAddress(Ipv4Address.LOOPBACK, 5353), 0);
        ByteBuffer got = ByteBuffer.allocate(10);
        assertEquals(2, s.recvfrom(srv, got, 0).length());
        assertEquals(Ipv4Address.LOOPBACK, s.getsockname(srv).address());
    }

    @Test
    void theSameSeedGivesTheSameTrace() throws Exception {
        String[] traces = new String[3];
        long[] seeds = {9, 9, 10};
        for (int i = 0; i < 3; i++) {
            Pair p = new Pair(seeds[i], 1500);
            Sockets s = p.a.sockets();
            int fd = s.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            int srv = p.b.sockets().socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            p.b.sockets().bind(srv, new SocketAddress(Ipv4Address.ANY, 7));
            for (int k = 0; k < 20; k++) {
                s.sendto(fd, ByteBuffer.wrap(new byte[100 * k]), new SocketAddress(B, 7), 0);
                p.b.sockets().recvfrom(srv, ByteBuffer.allocate(4000), 0);
            }
            traces[i] = p.world.traceHex();
        }
        assertEquals(traces[0], traces[1]);
        assertNotEquals(traces[0], traces[2]);
    }

    @Test
    void aCaptureOfTheStacksTrafficIsCleanToTshark(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        Pair p = new Pair(5, 1500);
        java.nio.file.Path file = dir.resolve("lan.pcap");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
             io.jrump.net.pcap.PcapWriter pcap = io.jrump.net.pcap.PcapWriter.open(ch)) {
            p.a.capture("lan", pcap);
            Sockets s = p.a.sockets();
            int ping = s.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, Sockets.IPPROTO_ICMP);
            byte[] echo = new byte[64];
            echo[0] = 8;
            s.sendto(ping, ByteBuffer.wrap(echo), new SocketAddress(B, 0), 0);
            s.recvfrom(ping, ByteBuffer.allocate(100), 0);
            int srv = p.b.sockets().socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            p.b.sockets().bind(srv, new SocketAddress(Ipv4Address.ANY, 7));
            int udp = s.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            s.sendto(udp, ByteBuffer.wrap(new byte[5000]), new SocketAddress(B, 7), 0); // fragmented
            p.b.sockets().recvfrom(srv, ByteBuffer.allocate(6000), 0);
            int refused = s.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            s.connect(refused, new SocketAddress(B, 9));
            s.send(refused, ByteBuffer.wrap(new byte[] {1}), 0);
            assertThrows(ErrnoException.class, () -> s.recv(refused, ByteBuffer.allocate(4), 0));
            p.a.capture("lan", null);
        }
        Process t = new ProcessBuilder("tshark", "-r", file.toString(), "-o", "ip.check_checksum:TRUE", "-o",
                "udp.check_checksum:TRUE", "-Y", "_ws.malformed || _ws.expert.severity >= error"
                        + " || ip.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\""
                        + " || icmp.checksum.status == \"Bad\"").redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(t.getInputStream().readAllBytes());
        assertTrue(t.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, t.exitValue(), out);
        assertEquals("", out.strip(), "tshark flags these frames");
        Process all = new ProcessBuilder("tshark", "-r", file.toString(), "-T", "fields", "-e", "frame.protocols")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String protocols = new String(all.getInputStream().readAllBytes());
        assertTrue(all.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(protocols.contains("eth:ethertype:arp") && protocols.contains("ip:icmp")
                && protocols.contains("ip:udp") && protocols.contains("ip:data"), protocols);
    }
}
