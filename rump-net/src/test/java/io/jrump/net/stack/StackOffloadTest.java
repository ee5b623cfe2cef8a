package io.jrump.net.stack;

import static io.jrump.net.stack.StackSimTest.A;
import static io.jrump.net.stack.StackSimTest.B;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.stack.Sockets.SocketAddress;
import io.jrump.net.wire.Checksum;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The stack on NICs with offloads ({@link OffloadNic}, a software virtio device over the
 * simulation host): TCP hands a NIC with TSO segments of many MSS with partial checksums and the
 * MSS as the segment size, never more than the windows allow; without offloads nothing changes;
 * frames a NIC flags as checksummed or as large segments are taken, and an oversized frame that is
 * not flagged is not.
 */
class StackOffloadTest {
    private static final Set<NicOffload> TSO = EnumSet.of(NicOffload.TX_CHECKSUM, NicOffload.TX_TCP4_SEGMENTATION);
    private static final int LARGE = FrameReceiver.RX_LARGE_SEGMENT | FrameReceiver.RX_CHECKSUM_PARTIAL;

    /** Two stacks, each on an {@link OffloadNic} doing what its {@link OffloadNic.Rx} says. */
    private static final class Pair {
        final SimWorld world;
        final NetStack a;
        final NetStack b;
        final List<OffloadNic> nicsA = new ArrayList<>();
        final List<OffloadNic> nicsB = new ArrayList<>();

        Pair(long seed, OffloadNic.Rx rxA, OffloadNic.Rx rxB, Set<NicOffload> ask) throws ErrnoException {
            world = new SimWorld(seed);
            a = boot(OffloadNic.wrap(world.newHost("a"), rxA, nicsA), A, ask);
            b = boot(OffloadNic.wrap(world.newHost("b"), rxB, nicsB), B, ask);
        }

        private static NetStack boot(io.jrump.hypercall.Hypercalls host, Ipv4Address address, Set<NicOffload> ask)
                throws ErrnoException {
            NetStack stack = new NetStack();
            RumpKernel.boot(host, BootOptions.defaults().withComponentInstances(List.of(stack)));
            stack.addInterface("lan", NicOptions.mtu(1500).withOffloads(ask));
            stack.addAddress("lan", address, 24);
            return stack;
        }

        int[] connect() throws ErrnoException {
            Sockets sb = b.sockets();
            int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            sb.bind(listener, new SocketAddress(Ipv4Address.ANY, 80));
            sb.listen(listener, 4);
            Sockets sa = a.sockets();
            int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            sa.connect(client, new SocketAddress(B, 80));
            return new int[] {client, sb.accept(listener)};
        }

        /** The bytes B received as A sent them, compared. */
        void assertCrossesByteExact(int length, long seed) throws ErrnoException {
            int[] fds = connect();
            byte[] data = new byte[length];
            new Random(seed).nextBytes(data);
            byte[] got = StackTcpTest.transfer(a.sockets(), fds[0], b.sockets(), fds[1], data);
            assertArrayEquals(data, got, "byte-exact");
        }
    }

    private static List<OffloadNic.Sent> tcpFrames(List<OffloadNic> nics) {
        List<OffloadNic.Sent> out = new ArrayList<>();
        for (OffloadNic n : nics) {
            for (OffloadNic.Sent s : n.sent) {
                if (s.length() >= 54 && s.frame()[12] == 8 && s.frame()[13] == 0 && s.frame()[23] == 6) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    @Test
    void tcpOverIpv6GetsPartialChecksumsAndTso6SegmentsCutAtTheMss() throws Exception {
        Set<NicOffload> tso6 = EnumSet.of(NicOffload.TX_CHECKSUM, NicOffload.TX_TCP6_SEGMENTATION);
        Pair p = new Pair(9, OffloadNic.Rx.plain(tso6), OffloadNic.Rx.plain(tso6), NicOffload.ALL);
        Ipv6Address a6 = Ipv6Address.parse("2001:db8::1");
        Ipv6Address b6 = Ipv6Address.parse("2001:db8::2");
        p.a.addAddress("lan", a6, 64);
        p.b.addAddress("lan", b6, 64);
        p.world.runFor(java.time.Duration.ofSeconds(3));
        Sockets sb = p.b.sockets();
        int listener = sb.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
        sb.bind(listener, new SocketAddress(Ipv6Address.UNSPECIFIED, 80));
        sb.listen(listener, 4);
        Sockets sa = p.a.sockets();
        int client = sa.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
        sa.connect(client, new SocketAddress(b6, 80));
        int served = sb.accept(listener);
        byte[] data = new byte[2 << 20];
        new Random(9).nextBytes(data);
        assertArrayEquals(data, StackTcpTest.transfer(sa, client, sb, served, data), "byte-exact through TSO6");
        int large = 0;
        int partial = 0;
        for (OffloadNic n : p.nicsA) {
            for (OffloadNic.Sent s : n.sent) {
                boolean tcp6 = s.length() >= 74 && (s.frame()[12] & 0xff) == 0x86 && (s.frame()[13] & 0xff) == 0xdd
                        && s.frame()[20] == 6;
                if (!tcp6) {
                    continue;
                }
                if (s.offload().needsChecksum()) {
                    partial++;
                    assertEquals(54, s.offload().checksumStart(), "the TCP header right after the fixed header");
                }
                if (s.offload().needsSegmentation()) {
                    large++;
                    assertEquals(1428, s.offload().segmentSize(), "the MSS (1500 - 60 - 12 of timestamps)");
                    assertTrue(s.length() > 1514, "more than one MTU: " + s.length());
                    assertTrue(s.length() <= 14 + 40 + 65535 - 40 + 40, "within one IPv6 packet: " + s.length());
                }
            }
        }
        assertTrue(large > 10, large + " TSO6 frames");
        assertTrue(partial > large, "checksums offloaded on the ordinary segments too");
    }

    @Test
    void withoutOffloadsEverySegmentFitsTheMtuAndCarriesItsChecksum() throws Exception {
        Pair p = new Pair(1, OffloadNic.Rx.plain(NicOffload.NONE), OffloadNic.Rx.plain(NicOffload.NONE), NicOffload.ALL);
        p.assertCrossesByteExact(1 << 20, 1);
        assertEquals(Set.of(), p.a.interfaces().get(1).offloads());
        List<OffloadNic.Sent> frames = tcpFrames(p.nicsA);
        assertTrue(frames.size() > 700);
        for (OffloadNic.Sent s : frames) {
            assertEquals(FrameOffload.NONE, s.offload());
            assertTrue(s.length() <= 1514, "frame of " + s.length());
            assertTrue(Checksum.verifies(tcpSum(s.frame())), "complete TCP checksum");
        }
        assertEquals(0, p.a.stats().get("eth.out.large_segment"));
    }

    @Test
    void aNicWithTsoGetsSegmentsOfManyMssCutAtTheMssWithPartialChecksums() throws Exception {
        Pair p = new Pair(2, OffloadNic.Rx.plain(TSO), OffloadNic.Rx.plain(TSO), NicOffload.ALL);
        p.assertCrossesByteExact(4 << 20, 2);
        assertEquals(TSO, p.a.interfaces().get(1).offloads());
        int mss = p.a.tcpConnections().get(0).mss();
        int large = 0;
        int completed = 0;
        for (OffloadNic.Sent s : tcpFrames(p.nicsA)) {
            FrameOffload o = s.offload();
            if (!o.needsChecksum()) {
                // The SYN waited for ARP, whose queue keeps no offload: it was completed in software.
                assertTrue(Checksum.verifies(tcpSum(s.frame())));
                assertTrue(++completed <= 1, "only the SYN");
                continue;
            }
            assertEquals(34, o.checksumStart());
            assertEquals(16, o.checksumOffset());
            int tcpLength = s.length() - 34;
            assertEquals(partialSum(s.frame(), tcpLength), u16(s.frame(), 34 + 16),
                    "the field holds the folded pseudo-header sum over the whole TCP length");
            assertEquals(s.length() - 14, u16(s.frame(), 16), "the IP total length covers the whole segment");
            assertEquals(0x40, s.frame()[20] & 0xe0, "DF, never fragmented");
            if (s.length() > 1514) {
                large++;
                assertTrue(o.needsSegmentation());
                assertEquals(mss, o.segmentSize(), "segments of the MSS");
                int header = 34 + ((s.frame()[34 + 12] & 0xf0) >> 2);
                assertEquals(header, o.headerLength());
                assertEquals(0, (s.length() - header) % mss, "Nagle: no small tail behind data in flight");
                assertTrue(s.length() - 14 <= 65535);
            } else {
                assertTrue(!o.needsSegmentation());
            }
        }
        assertTrue(large > 10, "large segments: " + large);
        assertEquals(large, p.a.stats().get("eth.out.large_segment"));
        assertEquals(0, p.b.stats().get("tcp.drop.malformed"));
    }

    @Test
    void largeSegmentsNeverExceedThePeersWindow() throws Exception {
        Pair p = new Pair(3, OffloadNic.Rx.plain(TSO), OffloadNic.Rx.plain(TSO), NicOffload.ALL);
        Sockets sb = p.b.sockets();
        int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sb.setsockopt(listener, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, 8192); // a 16 KiB window
        sb.bind(listener, new SocketAddress(Ipv4Address.ANY, 80));
        sb.listen(listener, 4);
        Sockets sa = p.a.sockets();
        int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sa.connect(client, new SocketAddress(B, 80));
        int server = sb.accept(listener);
        byte[] data = new byte[256 * 1024];
        new Random(3).nextBytes(data);
        assertArrayEquals(data, StackTcpTest.transfer(sa, client, sb, server, data));
        for (OffloadNic.Sent s : tcpFrames(p.nicsA)) {
            assertTrue(s.length() - 66 <= 16384, "a segment of " + s.length() + " bytes into a small window");
        }
    }

    @Test
    void checksumOffloadAloneSendsOrdinarySegmentsWithPartialChecksums() throws Exception {
        Set<NicOffload> csum = EnumSet.of(NicOffload.TX_CHECKSUM);
        Pair p = new Pair(4, OffloadNic.Rx.plain(csum), OffloadNic.Rx.plain(csum), NicOffload.ALL);
        p.assertCrossesByteExact(1 << 20, 4);
        List<OffloadNic.Sent> frames = tcpFrames(p.nicsA);
        for (OffloadNic.Sent s : frames.subList(1, frames.size())) { // the SYN waited for ARP: completed
            assertTrue(s.length() <= 1514);
            assertTrue(s.offload().needsChecksum() && !s.offload().needsSegmentation());
        }
    }

    @Test
    void aStackThatAsksForNoOffloadsGetsNone() throws Exception {
        Pair p = new Pair(5, OffloadNic.Rx.plain(TSO), OffloadNic.Rx.plain(TSO), NicOffload.NONE);
        p.assertCrossesByteExact(256 * 1024, 5);
        for (OffloadNic.Sent s : tcpFrames(p.nicsA)) {
            assertEquals(FrameOffload.NONE, s.offload());
        }
    }

    @Test
    void largeSegmentsTheNicFlagsAreTakenWhole() throws Exception {
        Set<NicOffload> all = NicOffload.ALL;
        OffloadNic.Rx gro = new OffloadNic.Rx(all, true, LARGE, 0, false);
        Pair p = new Pair(6, gro, gro, NicOffload.ALL);
        p.assertCrossesByteExact(4 << 20, 6);
        assertTrue(p.b.stats().get("eth.in.large_segment") > 10);
        assertEquals(0, p.b.stats().get("eth.drop.oversized"));
    }

    @Test
    void anOversizedFrameWithoutTheFlagIsRefused() throws Exception {
        OffloadNic.Rx sender = new OffloadNic.Rx(NicOffload.ALL, true, 0, 0, false);
        Pair p = new Pair(7, sender, sender, NicOffload.ALL);
        int[] fds = p.connect();
        p.a.sockets().send(fds[0], ByteBuffer.wrap(new byte[60_000]), 0);
        p.world.runFor(Duration.ofSeconds(2));
        assertTrue(p.b.stats().get("eth.drop.oversized") > 0);
    }

    @Test
    void checksumsTheNicVouchesForAreNotVerified() throws Exception {
        OffloadNic.Rx valid = new OffloadNic.Rx(EnumSet.of(NicOffload.RX_CHECKSUM), false, 0,
                FrameReceiver.RX_CHECKSUM_VALID, true);
        Pair p = new Pair(8, valid, valid, NicOffload.ALL);
        p.assertCrossesByteExact(256 * 1024, 8);
        assertEquals(0, p.b.stats().get("tcp.drop.malformed"));
    }

    @Test
    void checksumFlagsFromANicWithoutRxOffloadAreIgnored() throws Exception {
        // The NIC was not granted RX_CHECKSUM (the stack asked for none) yet flags corrupted frames:
        // the stack verifies them anyway and drops them.
        OffloadNic.Rx liar = new OffloadNic.Rx(EnumSet.of(NicOffload.RX_CHECKSUM), false, 0,
                FrameReceiver.RX_CHECKSUM_VALID, true);
        Pair p = new Pair(9, liar, liar, NicOffload.NONE);
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sb.bind(listener, new SocketAddress(Ipv4Address.ANY, 80));
        sb.listen(listener, 4);
        int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        assertThrows(ErrnoException.class, () -> sa.connect(client, new SocketAddress(B, 80)), "every SYN is dropped");
        assertTrue(p.b.stats().get("tcp.drop.malformed") > 0);
    }

    /**
     * IPv6 TCP and UDP whose checksums the NIC vouches for (a Linux TAP with TUN_F_CSUM sets
     * NEEDS_CSUM on IPv6 segments too) are taken, the field unverified; from a NIC without the
     * receive offload the same frames are dropped.
     */
    @Test
    void ipv6SegmentsAndDatagramsTheNicVouchesForAreTaken() throws Exception {
        OffloadNic.Rx partial = new OffloadNic.Rx(EnumSet.of(NicOffload.RX_CHECKSUM), false, 0,
                FrameReceiver.RX_CHECKSUM_PARTIAL, true);
        for (boolean granted : new boolean[] {true, false}) {
            Pair p = new Pair(10, partial, partial, granted ? NicOffload.ALL : NicOffload.NONE);
            Ipv6Address a6 = Ipv6Address.parse("2001:db8::1");
            Ipv6Address b6 = Ipv6Address.parse("2001:db8::2");
            for (NetStack n : List.of(p.a, p.b)) {
                n.enableIpv6("lan", new Ipv6Options(false, 0, AddressAutoconfig.IdentifierKind.STABLE));
            }
            p.a.addAddress("lan", a6, 64);
            p.b.addAddress("lan", b6, 64);
            Sockets sb = p.b.sockets();
            int server = sb.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
            sb.bind(server, new SocketAddress(Ipv6Address.UNSPECIFIED, 7));
            sb.setNonBlocking(server, true);
            Sockets sa = p.a.sockets();
            int client = sa.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, 0);
            sa.sendto(client, ByteBuffer.wrap(new byte[] {1, 2, 3}), new SocketAddress(b6, 7), 0);
            p.world.runFor(Duration.ofSeconds(1));
            if (!granted) {
                assertTrue(p.b.stats().get("udp.drop.bad_checksum") > 0, "verified, and dropped");
                continue;
            }
            assertEquals(3, sb.recvfrom(server, ByteBuffer.allocate(16), 0).length());
            int listener = sb.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
            sb.bind(listener, new SocketAddress(Ipv6Address.UNSPECIFIED, 80));
            sb.listen(listener, 4);
            int c = sa.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
            sa.connect(c, new SocketAddress(b6, 80));
            byte[] data = new byte[256 * 1024];
            new Random(10).nextBytes(data);
            assertArrayEquals(data, StackTcpTest.transfer(sa, c, sb, sb.accept(listener), data), "byte-exact");
            assertEquals(0, p.b.stats().get("tcp.drop.malformed"));
            assertEquals(0, p.b.stats().get("udp.drop.bad_checksum"));
        }
    }

    private static long tcpSum(byte[] f) {
        int tcpLength = f.length - 34;
        long sum = Checksum.pseudoHeader(ip(f, 26), ip(f, 30), 6, tcpLength);
        return Checksum.add(sum, Unpooled.wrappedBuffer(f), 34, tcpLength);
    }

    private static int partialSum(byte[] f, int tcpLength) {
        return Checksum.fold(Checksum.pseudoHeader(ip(f, 26), ip(f, 30), 6, tcpLength));
    }

    private static Ipv4Address ip(byte[] f, int at) {
        return new Ipv4Address(ByteBuffer.wrap(f).getInt(at));
    }

    private static int u16(byte[] f, int at) {
        return ((f[at] & 0xff) << 8) | (f[at + 1] & 0xff);
    }
}
