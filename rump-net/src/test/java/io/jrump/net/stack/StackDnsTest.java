package io.jrump.net.stack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.jrump.net.dns.DnsConfig;
import io.jrump.net.dns.DnsHeader;
import io.jrump.net.dns.DnsMessage;
import io.jrump.net.dns.DnsName;
import io.jrump.net.dns.DnsQuestion;
import io.jrump.net.dns.DnsRdata;
import io.jrump.net.dns.DnsRecord;
import io.jrump.net.dns.DnsResolver;
import io.jrump.net.dns.DnsServer;
import io.jrump.net.dns.DnsType;
import io.jrump.net.stack.Sockets.SocketAddress;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The resolver on a stack's own sockets ({@link NetStack#resolver}): stack A resolves through
 * {@link StackDnsTransport}; stack B, on the same simulated link, runs a name server written here
 * with the DnsMessage records on its UDP and TCP sockets, driven from the test thread (a blocking
 * call on the simulation host runs the simulation until it returns).
 */
class StackDnsTest {
    static final DnsName NAME = DnsName.of("name", "test");
    static final DnsName BIG = DnsName.of("big", "test");
    static final Ipv4Address V4 = Ipv4Address.parse("198.18.0.7");
    static final byte[] V6 = {0x20, 0x01, 0x0d, (byte) 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
    static final DnsRecord SOA = DnsRecord.in(DnsName.of("test"), DnsType.SOA, 60, new DnsRdata.Soa(
            DnsName.of("ns", "test"), DnsName.of("hostmaster", "test"), 1, 3600, 600, 86400, 10));

    final StackSimTest.Pair pair;
    final Sockets server;
    final int udp;
    final int listener;
    final DnsResolver resolver;
    /** Source ports of the queries B saw over UDP. */
    final List<Integer> queryPorts = new ArrayList<>();

    StackDnsTest() throws Exception {
        pair = new StackSimTest.Pair(53, 1500);
        server = pair.b.sockets();
        udp = server.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
        server.bind(udp, new SocketAddress(Ipv4Address.ANY, DnsServer.PORT));
        listener = server.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        server.bind(listener, new SocketAddress(Ipv4Address.ANY, DnsServer.PORT));
        server.listen(listener, 4);
        DnsServer b = new DnsServer(InetAddress.getByAddress(new byte[] {(byte) 198, 18, 0, 2}), DnsServer.PORT);
        resolver = pair.a.resolver(DnsConfig.of(List.of(b)).withTimeout(Duration.ofSeconds(2), 1));
    }

    @AfterEach
    void shutDown() {
        pair.close(); // the connections' queues go back to the pool: no buffer left to the GC
    }

    /** The answer B gives: name.test has an A and an AAAA; big.test is truncated over UDP; the rest NXDOMAIN. */
    static DnsMessage answer(DnsMessage query, boolean tcp) {
        DnsQuestion q = query.questions().get(0);
        List<DnsRecord> rrs = new ArrayList<>();
        if (q.name().equalsIgnoreCase(NAME) || q.name().equalsIgnoreCase(BIG)) {
            rrs.add(q.type() == DnsType.A ? DnsRecord.in(q.name(), DnsType.A, 30, new DnsRdata.A(V4))
                    : DnsRecord.in(q.name(), DnsType.AAAA, 30, DnsRdata.Aaaa.of(V6)));
        }
        boolean truncate = q.name().equalsIgnoreCase(BIG) && !tcp;
        int rcode = rrs.isEmpty() ? DnsHeader.RCODE_NXDOMAIN : DnsHeader.RCODE_NOERROR;
        DnsHeader h = new DnsHeader(query.header().id(), true, 0, true, truncate, true, true, 0, rcode);
        return new DnsMessage(h, query.questions(), truncate ? List.of() : rrs, rrs.isEmpty() ? List.of(SOA) : List.of(),
                List.of());
    }

    /** Answers one query on B's UDP socket; returns it. */
    DnsMessage serveUdp() throws Exception {
        ByteBuffer in = ByteBuffer.allocate(2048);
        Sockets.Received r = server.recvfrom(udp, in, 0);
        DnsMessage query = DnsMessage.parse(java.util.Arrays.copyOf(in.array(), r.length()));
        queryPorts.add(r.from().port());
        server.sendto(udp, ByteBuffer.wrap(answer(query, false).toBytes()), r.from(), 0);
        return query;
    }

    /** Accepts one connection on B's listener and answers one length-prefixed query on it. */
    DnsMessage serveTcp() throws Exception {
        int fd = server.accept(listener);
        byte[] prefix = readFully(fd, 2);
        byte[] body = readFully(fd, (prefix[0] & 0xff) << 8 | prefix[1] & 0xff);
        DnsMessage query = DnsMessage.parse(body);
        byte[] reply = answer(query, true).toBytes();
        ByteBuffer out = ByteBuffer.allocate(2 + reply.length);
        out.put((byte) (reply.length >>> 8)).put((byte) reply.length).put(reply).flip();
        server.send(fd, out, 0);
        server.close(fd);
        return query;
    }

    byte[] readFully(int fd, int n) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (server.recv(fd, b, 0).length() == 0) {
                fail("the resolver closed the connection after " + b.position() + " of " + n + " bytes");
            }
        }
        return b.array();
    }

    List<InetAddress> finish(CompletableFuture<List<InetAddress>> f) {
        assertTrue(pair.world.runUntil(f::isDone, Duration.ofSeconds(30)), "the resolution ended");
        return f.join();
    }

    static Set<String> strings(List<InetAddress> addresses) {
        Set<String> s = new HashSet<>();
        addresses.forEach(a -> s.add(a.getHostAddress()));
        return s;
    }

    @Test
    void aAndAaaaComeOverUdpFromRandomPorts() throws Exception {
        CompletableFuture<List<InetAddress>> f = resolver.resolve("name.test");
        Set<Integer> types = new HashSet<>();
        types.add(serveUdp().questions().get(0).type());
        types.add(serveUdp().questions().get(0).type());
        assertEquals(Set.of(DnsType.A, DnsType.AAAA), types);
        assertEquals(Set.of("198.18.0.7", "2001:db8:0:0:0:0:0:7"), strings(finish(f)));
        assertEquals(2, queryPorts.size());
        assertNotEquals(queryPorts.get(0), queryPorts.get(1), "a fresh socket, a fresh port, per query");
        for (int port : queryPorts) {
            assertTrue(port >= 32768 && port <= 60999, "ephemeral port " + port);
        }
        // The sockets were closed after the answers: a late datagram to either port is refused.
        long unreachable = pair.a.stats().get("icmp.out.unreachable");
        for (int port : queryPorts) {
            server.sendto(udp, ByteBuffer.wrap(new byte[12]), new SocketAddress(StackSimTest.A, port), 0);
        }
        pair.world.runFor(Duration.ofMillis(100));
        assertEquals(unreachable + 2, pair.a.stats().get("icmp.out.unreachable"));
    }

    @Test
    void anUnknownNameIsNxdomain() throws Exception {
        CompletableFuture<List<InetAddress>> f = resolver.resolve("nothing.test");
        serveUdp(); // A and AAAA are asked together
        serveUdp();
        assertTrue(pair.world.runUntil(f::isDone, Duration.ofSeconds(30)));
        ErrnoException e = cause(f);
        assertEquals(Errno.ENOENT, e.errno(), e.getMessage());
    }

    @Test
    void aTruncatedAnswerIsAskedAgainOverTcp() throws Exception {
        CompletableFuture<List<InetAddress>> f = resolver.resolve("big.test");
        Set<Integer> types = new HashSet<>();
        for (int i = 0; i < 2; i++) {
            DnsMessage overUdp = serveUdp();
            DnsMessage overTcp = serveTcp();
            assertEquals(overUdp.questions(), overTcp.questions(), "the same question over TCP");
            types.add(overTcp.questions().get(0).type());
        }
        assertEquals(Set.of(DnsType.A, DnsType.AAAA), types);
        assertEquals(Set.of("198.18.0.7", "2001:db8:0:0:0:0:0:7"), strings(finish(f)));
        assertEquals(2L, resolver.stats().get("tcp.fallback"));
        for (TcpInfo c : pair.a.tcpConnections()) {
            assertNotEquals("ESTABLISHED", c.state(), "the resolver closed its connection: " + c);
        }
    }

    @Test
    void aServerThatIsNotThereTimesOutInVirtualTime() throws Exception {
        server.close(udp);
        server.close(listener);
        CompletableFuture<List<InetAddress>> f = resolver.resolve("name.test");
        assertTrue(pair.world.runUntil(f::isDone, Duration.ofSeconds(30)));
        assertEquals(Errno.ETIMEDOUT, cause(f).errno());
    }

    @Test
    void aTruncatedAnswerWithNoTcpServerEndsInARefusal() throws Exception {
        server.close(listener);
        CompletableFuture<List<InetAddress>> f = resolver.resolve("big.test");
        serveUdp();
        serveUdp();
        assertTrue(pair.world.runUntil(f::isDone, Duration.ofSeconds(30)));
        ErrnoException e = cause(f);
        assertEquals(Errno.ECONNREFUSED, e.errno(), e.getMessage()); // the connection's own error, passed on
        assertTrue(e.getMessage().contains("TCP"), e.getMessage());
    }

    @Test
    void anIpv6ServerWithoutAnIpv6RouteIsUnreachable() throws Exception {
        DnsServer v6 = new DnsServer(InetAddress.getByAddress(V6), DnsServer.PORT);
        DnsResolver r = pair.a.resolver(DnsConfig.of(List.of(v6)).withTimeout(Duration.ofSeconds(1), 1));
        CompletableFuture<List<InetAddress>> f = r.resolve("name.test");
        assertTrue(pair.world.runUntil(f::isDone, Duration.ofSeconds(30)));
        assertEquals(Errno.ENETUNREACH, cause(f).errno(), "IPv6 is off on the link: the dual-stack socket has no route");
    }

    static ErrnoException cause(CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof ErrnoException errno) {
                return errno;
            }
            throw e;
        }
        return fail("expected a failure, got " + f.join());
    }
}
