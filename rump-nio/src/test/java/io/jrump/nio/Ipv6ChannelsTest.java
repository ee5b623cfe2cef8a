package io.jrump.nio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.dns.DnsHeader;
import io.jrump.net.dns.DnsMessage;
import io.jrump.net.dns.DnsQuestion;
import io.jrump.net.dns.DnsRdata;
import io.jrump.net.dns.DnsRecord;
import io.jrump.net.dns.DnsType;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.UnsupportedAddressTypeException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The NIO channels over IPv6 as the JDK's behave on a dual-stack Linux host: channels opened
 * without a family are dual-stack, so one server channel on the wildcard takes IPv6 clients (as
 * {@link Inet6Address}) and IPv4 clients (as {@link Inet4Address}); an INET channel refuses an
 * IPv6 address with {@link UnsupportedAddressTypeException}.
 */
class Ipv6ChannelsTest {
    private static TwoStacks net; // one pair for the class: DAD takes a second or two of real time

    @BeforeAll
    static void boot() throws Exception {
        net = new TwoStacks(true);
    }

    @AfterAll
    static void close() {
        net.close();
    }

    private static byte[] echo(SocketChannel c, ServerSocketChannel ss, int size) throws Exception {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        try (SocketChannel served = ss.accept()) {
            c.write(ByteBuffer.wrap(data));
            c.shutdownOutput();
            ByteBuffer got = ByteBuffer.allocate(size);
            while (got.hasRemaining() && served.read(got) >= 0) {
                // until all is there
            }
            assertArrayEquals(data, got.array());
            return got.array();
        }
    }

    @Test
    void aDualStackServerTakesIpv6AndIpv4ClientsWithTheirOwnAddressTypes() throws Exception {
        try (ServerSocketChannel ss = net.server.openServerSocketChannel().bind(new InetSocketAddress(7))) {
            InetAddress v6 = InetAddress.getByName(TwoStacks.SERVER_IP6);
            try (SocketChannel c = net.client.openSocketChannel()) {
                c.connect(new InetSocketAddress(v6, 7));
                assertEquals(new InetSocketAddress(v6, 7), c.getRemoteAddress());
                assertInstanceOf(Inet6Address.class, ((InetSocketAddress) c.getLocalAddress()).getAddress());
                echo(c, ss, 200_000);
            }
            try (SocketChannel c = net.client.openSocketChannel()) {
                c.connect(TwoStacks.server(7));
                try (SocketChannel served = ss.accept()) {
                    InetSocketAddress peer = (InetSocketAddress) served.getRemoteAddress();
                    assertEquals(InetAddress.getByName(TwoStacks.CLIENT_IP), peer.getAddress(),
                            "an IPv4 peer of a dual-stack channel is an Inet4Address, as with the JDK's");
                    assertInstanceOf(Inet4Address.class, ((InetSocketAddress) c.getLocalAddress()).getAddress());
                }
            }
        }
    }

    @Test
    void anInetChannelRefusesIpv6AddressesAndAnInet6OneTakesThem() throws Exception {
        try (SocketChannel c = net.client.openSocketChannel(StandardProtocolFamily.INET)) {
            assertThrows(UnsupportedAddressTypeException.class,
                    () -> c.connect(new InetSocketAddress(TwoStacks.SERVER_IP6, 7)));
        }
        try (ServerSocketChannel ss = net.server.openServerSocketChannel(StandardProtocolFamily.INET6)
                .bind(new InetSocketAddress(TwoStacks.SERVER_IP6, 8));
             SocketChannel c = net.client.openSocketChannel(StandardProtocolFamily.INET6)) {
            assertEquals(new InetSocketAddress(TwoStacks.SERVER_IP6, 8), ss.getLocalAddress());
            c.connect(new InetSocketAddress(TwoStacks.SERVER_IP6, 8));
            echo(c, ss, 5000);
        }
    }

    @Test
    void lookupAsksThroughTheStackAndOrdersIpv6First() throws Exception {
        InetAddress v4 = InetAddress.getByName(TwoStacks.SERVER_IP);
        InetAddress v6 = InetAddress.getByName(TwoStacks.SERVER_IP6);
        try (DatagramChannel dns = net.server.openDatagramChannel().bind(new InetSocketAddress(53))) {
            Thread responder = new Thread(() -> {
                try {
                    for (int i = 0; i < 2; i++) { // the A and the AAAA query
                        ByteBuffer in = ByteBuffer.allocate(512);
                        java.net.SocketAddress from = dns.receive(in);
                        DnsMessage q = DnsMessage.parse(java.util.Arrays.copyOf(in.array(), in.position()));
                        DnsQuestion question = q.questions().get(0);
                        DnsRecord rr = question.type() == DnsType.A
                                ? DnsRecord.in(question.name(), DnsType.A, 30, new DnsRdata.A(Ipv4Address.parse(TwoStacks.SERVER_IP)))
                                : DnsRecord.in(question.name(), DnsType.AAAA, 30, DnsRdata.Aaaa.of(Ipv6Address.parse(TwoStacks.SERVER_IP6).toBytes()));
                        DnsHeader h = new DnsHeader(q.header().id(), true, 0, true, false, true, true, 0, DnsHeader.RCODE_NOERROR);
                        dns.send(ByteBuffer.wrap(new DnsMessage(h, q.questions(), List.of(rr), List.of(), List.of()).toBytes()), from);
                    }
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            responder.start();
            System.setProperty(RumpSelectorProvider.DNS, TwoStacks.SERVER_IP6);
            try {
                assertEquals(List.of(v6, v4), net.client.lookup("web.test"), "IPv6 first: the client has a route to both");
            } finally {
                System.clearProperty(RumpSelectorProvider.DNS);
            }
            responder.join(10_000);
        }
        assertEquals(List.of(v6), net.client.lookup(TwoStacks.SERVER_IP6), "a literal is itself");
        assertThrows(java.net.UnknownHostException.class, () -> net.client.lookup("web.test"),
                "no DNS server: none came from the network and none is configured");
    }

    @Test
    void datagramsCrossOverIpv6WithTheirSenders() throws Exception {
        try (DatagramChannel s = net.server.openDatagramChannel().bind(new InetSocketAddress(53));
             DatagramChannel c = net.client.openDatagramChannel()) {
            byte[] data = new byte[3000]; // fragmented on the 1500-byte link
            new Random(1).nextBytes(data);
            c.send(ByteBuffer.wrap(data), new InetSocketAddress(TwoStacks.SERVER_IP6, 53));
            ByteBuffer got = ByteBuffer.allocate(4000);
            InetSocketAddress from = (InetSocketAddress) s.receive(got);
            assertEquals(InetAddress.getByName(TwoStacks.CLIENT_IP6), from.getAddress());
            assertEquals(3000, got.position());
            s.send(ByteBuffer.wrap(new byte[] {1, 2, 3}), from);
            ByteBuffer back = ByteBuffer.allocate(10);
            assertEquals(new InetSocketAddress(TwoStacks.SERVER_IP6, 53), c.receive(back));
            assertEquals(3, back.position());
        }
    }
}
