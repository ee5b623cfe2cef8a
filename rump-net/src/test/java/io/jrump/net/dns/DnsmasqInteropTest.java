package io.jrump.net.dns;

import io.jrump.host.jvm.JvmHost;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Tshark;
import io.jrump.net.pcap.PcapWriter;
import io.jrump.net.wire.EtherType;
import io.jrump.net.wire.EthernetRepr;
import io.jrump.net.wire.IpProtocol;
import io.jrump.net.wire.Ipv4Repr;
import io.jrump.net.wire.UdpRepr;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outside oracle: dnsmasq on 127.0.0.19 and a high port, answering from its command line only.
 * Our emitted queries go to it over a plain DatagramChannel and its answers are read with our
 * parser; then DnsResolver asks it through a transport backed by host sockets (I/O on test threads,
 * completions on the JVM host's event loop), including a truncated answer taken again over TCP.
 * A pcap of the exchanges must decode in tshark without malformed or error-level expert items.
 * Set {@code -Ddns.seedDir=DIR} to save dnsmasq's answers there (fuzz seeds).
 */
class DnsmasqInteropTest {
    static final String DNSMASQ = "/usr/sbin/dnsmasq";
    static final InetAddress SERVER_ADDRESS = inet(new byte[] {127, 0, 0, 19});
    static final int MANY = 60;

    static Process dnsmasq;
    static DnsServer server;
    static final List<byte[][]> exchanges = new ArrayList<>(); // {query, answer}

    static InetAddress inet(byte[] b) {
        try {
            return InetAddress.getByAddress(b);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @BeforeAll
    static void startDnsmasq() throws Exception {
        assertTrue(Files.isExecutable(Path.of(DNSMASQ)), DNSMASQ + " is missing: install dnsmasq-base");
        int port;
        try (DatagramChannel probe = DatagramChannel.open().bind(new InetSocketAddress(SERVER_ADDRESS, 0))) {
            port = ((InetSocketAddress) probe.getLocalAddress()).getPort();
        }
        List<String> cmd = new ArrayList<>(List.of(DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null",
                "--no-resolv", "--no-hosts", "--pid-file=", "--user=" + System.getProperty("user.name"),
                "--listen-address=127.0.0.19", "--bind-interfaces", "--port=" + port, "--local=/test/",
                "--address=/name.test/198.18.0.7", "--host-record=v6.test,2001:db8::7",
                "--cname=alias.test,name.test", "--log-facility=-"));
        for (int i = 1; i <= MANY; i++) {
            cmd.add("--host-record=many.test,198.18.1." + i);
        }
        dnsmasq = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        server = new DnsServer(SERVER_ADDRESS, port);
        // Ready once it answers.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            assertTrue(dnsmasq.isAlive(), "dnsmasq exited with " + (dnsmasq.isAlive() ? "" : dnsmasq.exitValue()));
            try {
                ask(DnsMessage.query(1, DnsQuestion.in(DnsName.of("name", "test"), DnsType.A), null), 200);
                break;
            } catch (SocketTimeoutException notYet) {
                assertTrue(System.nanoTime() < deadline, "dnsmasq did not answer within 10 s");
            }
        }
        exchanges.clear();
    }

    @AfterAll
    static void stopDnsmasq() throws InterruptedException {
        if (dnsmasq != null) {
            dnsmasq.destroy();
            dnsmasq.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Sends our query from a fresh socket and returns dnsmasq's answer as bytes. */
    static byte[] ask(DnsMessage query, int timeoutMillis) throws IOException {
        try (DatagramChannel ch = DatagramChannel.open()) {
            ch.socket().setSoTimeout(timeoutMillis);
            byte[] q = query.toBytes();
            ch.send(ByteBuffer.wrap(q), new InetSocketAddress(server.address(), server.port()));
            byte[] buf = new byte[65535];
            java.net.DatagramPacket p = new java.net.DatagramPacket(buf, buf.length);
            ch.socket().receive(p);
            byte[] answer = java.util.Arrays.copyOf(buf, p.getLength());
            synchronized (exchanges) {
                exchanges.add(new byte[][] {q, answer});
            }
            return answer;
        }
    }

    static DnsMessage askAndParse(String name, int type, int payload) throws Exception {
        DnsMessage query = DnsMessage.query(0x4242, DnsQuestion.in(DnsName.parse(name), type), Edns.of(payload));
        byte[] answer = ask(query, 5000);
        saveSeed(name + "-" + DnsType.name(type) + "-" + payload, answer);
        DnsMessage m = DnsMessage.parse(answer);
        assertEquals(0x4242, m.header().id());
        assertTrue(m.header().response());
        assertTrue(m.questions().get(0).matches(query.questions().get(0)));
        // what we parse, we emit again and parse to the same record
        assertEquals(m, DnsMessage.parse(m.toBytes()));
        return m;
    }

    static void saveSeed(String name, byte[] bytes) throws IOException {
        String dir = System.getProperty("dns.seedDir");
        if (dir != null) {
            Files.write(Path.of(dir, "dnsmasq-" + name), bytes);
        }
    }

    @Test
    void anARecord() throws Exception {
        DnsMessage m = askAndParse("name.test", DnsType.A, 1232);
        assertEquals(DnsHeader.RCODE_NOERROR, m.rcode());
        assertEquals(List.of(new DnsRdata.A(Ipv4Address.parse("198.18.0.7"))),
                m.answers().stream().map(DnsRecord::data).toList());
        assertTrue(m.edns().isPresent(), "dnsmasq answers EDNS with EDNS");
    }

    @Test
    void anAaaaRecord() throws Exception {
        DnsMessage m = askAndParse("v6.test", DnsType.AAAA, 1232);
        assertEquals(List.of(DnsRdata.Aaaa.of(inet(new byte[] {0x20, 1, 0x0d, (byte) 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 7}).getAddress())), m.answers().stream().map(DnsRecord::data).toList());
    }

    @Test
    void aCnameWithItsTarget() throws Exception {
        DnsMessage m = askAndParse("alias.test", DnsType.A, 1232);
        assertEquals(DnsType.CNAME, m.answers().get(0).type());
        assertEquals(new DnsRdata.Name(DnsName.of("name", "test")), m.answers().get(0).data());
    }

    @Test
    void nxdomainForAnUnknownLocalName() throws Exception {
        DnsMessage m = askAndParse("nope.test", DnsType.A, 1232);
        assertEquals(DnsHeader.RCODE_NXDOMAIN, m.rcode());
        assertEquals(List.of(), m.answers());
        // dnsmasq 2.90 sends no SOA with a --local NXDOMAIN: such answers are not cached (RFC 2308 §5)
        assertTrue(m.authorities().stream().allMatch(r -> r.type() == DnsType.SOA));
    }

    @Test
    void aTruncatedAnswerForASmallEdnsSize() throws Exception {
        DnsMessage m = askAndParse("many.test", DnsType.A, 512);
        assertTrue(m.header().truncated(), "60 A records do not fit 512 bytes");
        assertTrue(m.answers().size() < MANY);
    }

    // ---- the resolver through host sockets ------------------------------------------------------------

    /** A DnsTransport on host sockets: a reader thread per socket hands what it reads to the host's loop. */
    static final class HostSocketTransport implements DnsTransport {
        final JvmHost host;
        int udpOpened;
        int tcpOpened;

        HostSocketTransport(JvmHost host) {
            this.host = host;
        }

        @Override
        public UdpSocket openUdp(Consumer<Datagram> receiver) throws ErrnoException {
            DatagramChannel ch;
            try {
                ch = DatagramChannel.open().bind(new InetSocketAddress(inet(new byte[] {127, 0, 0, 1}), 0));
            } catch (IOException e) {
                throw new ErrnoException(Errno.EIO, "UDP socket: " + e);
            }
            udpOpened++;
            Thread reader = new Thread(() -> {
                ByteBuffer buf = ByteBuffer.allocate(65535);
                while (ch.isOpen()) {
                    try {
                        buf.clear();
                        InetSocketAddress from = (InetSocketAddress) ch.receive(buf);
                        byte[] bytes = java.util.Arrays.copyOf(buf.array(), buf.position());
                        host.scheduler().execute(() -> receiver.accept(
                                new Datagram(new DnsServer(from.getAddress(), from.getPort()), bytes)));
                    } catch (IOException closed) {
                        return;
                    }
                }
            }, "dns-udp-reader");
            reader.setDaemon(true);
            reader.start();
            return new UdpSocket() {
                @Override
                public void send(DnsServer to, byte[] payload) throws ErrnoException {
                    try {
                        ch.send(ByteBuffer.wrap(payload), new InetSocketAddress(to.address(), to.port()));
                    } catch (IOException e) {
                        throw new ErrnoException(Errno.EIO, "UDP send: " + e);
                    }
                }

                @Override
                public void close() {
                    try {
                        ch.close();
                    } catch (IOException ignored) {
                        // closing
                    }
                }
            };
        }

        @Override
        public TcpConnection openTcp(DnsServer to, Consumer<byte[]> receiver, Consumer<ErrnoException> closed)
                throws ErrnoException {
            SocketChannel ch;
            try {
                ch = SocketChannel.open(new InetSocketAddress(to.address(), to.port()));
            } catch (IOException e) {
                throw new ErrnoException(Errno.ECONNREFUSED, "TCP to " + to + ": " + e);
            }
            tcpOpened++;
            Thread reader = new Thread(() -> {
                ByteBuffer buf = ByteBuffer.allocate(700); // small reads: the framing sees several chunks
                try {
                    while (true) {
                        buf.clear();
                        int n = ch.read(buf);
                        if (n < 0) {
                            host.scheduler().execute(() -> closed.accept(null));
                            return;
                        }
                        byte[] chunk = java.util.Arrays.copyOf(buf.array(), n);
                        host.scheduler().execute(() -> receiver.accept(chunk));
                    }
                } catch (IOException e) {
                    if (ch.isOpen()) {
                        host.scheduler().execute(() -> closed.accept(new ErrnoException(Errno.ECONNRESET, e.toString())));
                    }
                }
            }, "dns-tcp-reader");
            reader.setDaemon(true);
            reader.start();
            return new TcpConnection() {
                @Override
                public void send(byte[] bytes) throws ErrnoException {
                    try {
                        ByteBuffer b = ByteBuffer.wrap(bytes);
                        while (b.hasRemaining()) {
                            ch.write(b);
                        }
                    } catch (IOException e) {
                        throw new ErrnoException(Errno.EIO, "TCP send: " + e);
                    }
                }

                @Override
                public void close() {
                    try {
                        ch.close();
                    } catch (IOException ignored) {
                        // closing
                    }
                }
            };
        }
    }

    @Test
    void theResolverAsksDnsmasqAndFallsBackToTcp() throws Exception {
        try (JvmHost host = JvmHost.create("dns-interop")) {
            HostSocketTransport t = new HostSocketTransport(host);
            DnsResolver r = new DnsResolver(host, t, DnsConfig.of(List.of(server))
                    .withSearch(List.of(DnsName.of("test"))).withTimeout(Duration.ofSeconds(2), 2));
            assertEquals(List.of(inet(new byte[] {(byte) 198, 18, 0, 7})), host.scheduler().await(r.resolve("name")));
            assertEquals(List.of(inet(new byte[] {(byte) 198, 18, 0, 7})), host.scheduler().await(r.resolve("alias.test")));
            List<InetAddress> v6 = host.scheduler().await(r.resolve("v6.test"));
            assertEquals(1, v6.size());
            assertEquals("2001:db8:0:0:0:0:0:7", v6.get(0).getHostAddress());
            ErrnoException nx = org.junit.jupiter.api.Assertions.assertThrows(ErrnoException.class,
                    () -> host.scheduler().await(r.resolve("nope.test")));
            assertEquals(Errno.ENOENT, nx.errno(), nx.getMessage());
            assertEquals(0, t.tcpOpened);

            DnsResolver small = new DnsResolver(host, t, DnsConfig.of(List.of(server)).withUdpPayloadSize(512));
            List<InetAddress> many = host.scheduler().await(small.resolve("many.test"));
            assertEquals(MANY, many.size(), "all 60 over TCP after a truncated UDP answer");
            assertTrue(t.tcpOpened >= 1);
            assertEquals(1L, small.stats().get("tcp.fallback"));
        }
    }

    // ---- tshark reads the exchanges --------------------------------------------------------------------

    @Test
    void tsharkDecodesOurQueriesAndTheAnswersCleanly(@TempDir Path dir) throws Exception {
        askAndParse("name.test", DnsType.A, 1232);
        askAndParse("v6.test", DnsType.AAAA, 1232);
        askAndParse("nope.test", DnsType.A, 1232);
        askAndParse("alias.test", DnsType.A, 1232);
        askAndParse("many.test", DnsType.A, 512);
        Path file = dir.resolve("dns.pcap");
        Ipv4Address client = Ipv4Address.parse("127.0.0.1");
        Ipv4Address dns = Ipv4Address.parse("127.0.0.19");
        int queries = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             PcapWriter pcap = PcapWriter.open(ch)) {
            long t = 1_000_000_000L;
            List<byte[][]> copy;
            synchronized (exchanges) {
                copy = List.copyOf(exchanges);
            }
            for (byte[][] x : copy) {
                pcap.write(t++, frame(client, 40000 + queries, dns, server.port(), x[0]));
                pcap.write(t++, frame(dns, server.port(), client, 40000 + queries, x[1]));
                queries++;
            }
        }
        String decodeAs = "udp.port==" + server.port() + ",dns";
        String bad = Tshark.run(file, "-d", decodeAs, "-Y", "_ws.malformed || _ws.expert.severity >= error");
        assertEquals("", bad.strip(), "tshark flags these frames");
        String names = Tshark.run(file, "-d", decodeAs, "-T", "fields", "-e", "dns.flags.response", "-e", "dns.qry.name");
        assertEquals(2 * queries, names.strip().lines().count(), names);
        assertTrue(names.contains("1\tmany.test"), names);
    }

    static ByteBuf frame(Ipv4Address src, int srcPort, Ipv4Address dst, int dstPort, byte[] payload) {
        UdpRepr udp = new UdpRepr(srcPort, dstPort, Unpooled.wrappedBuffer(payload));
        Ipv4Repr ip = Ipv4Repr.of(src, dst, IpProtocol.UDP, udp.bufferLength(), 64, 1);
        EthernetRepr eth = new EthernetRepr(MacAddress.of(0x020000000002L), MacAddress.of(0x020000000001L),
                EtherType.IPV4);
        ByteBuf f = Unpooled.buffer(14 + ip.totalLength());
        f.writerIndex(14 + ip.totalLength());
        eth.emit(f, 0);
        ip.emit(f, 14);
        udp.emit(f, 34, src, dst);
        return f;
    }

}
