package io.jrump.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOptions;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.stack.Interface;
import io.jrump.net.stack.NetStack;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketProtocolFamily;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The channels over IPv6: two stacks on one loop, joined by the JVM host's switch, each with an
 * IPv4 (198.18.0.1, .2) and an IPv6 address (2001:db8::1, ::2, once duplicate address detection
 * has passed). Dual-stack (INET6) channels by default; INET ones IPv4 only.
 */
class Ipv6ChannelTest {
    private static final InetAddress CLIENT6 = inet("2001:db8::1");
    private static final InetAddress SERVER6 = inet("2001:db8::2");
    private static final InetAddress CLIENT4 = inet("198.18.0.1");
    private static final InetAddress SERVER4 = inet("198.18.0.2");

    private static RumpEventLoopGroup group;
    private static NetStack client;
    private static NetStack server;

    @BeforeAll
    static void twoStacks() throws Exception {
        group = new RumpEventLoopGroup("ipv6-test");
        SwitchRegistry sw = new SwitchRegistry();
        client = stack("client", "198.18.0.1", "2001:db8::1", sw);
        server = stack("server", "198.18.0.2", "2001:db8::2", sw);
        awaitAssigned(client, "2001:db8::1");
        awaitAssigned(server, "2001:db8::2");
    }

    @AfterAll
    static void close() {
        group.close();
    }

    private static NetStack stack(String name, String ip4, String ip6, SwitchRegistry sw) throws Exception {
        NetStack s = group.boot(JvmHost.builder().name(name).switches(sw).build(), name);
        s.addInterface("sw0", NicOptions.mtu(1500));
        s.addAddress("sw0", Ipv4Address.parse(ip4), 24);
        s.addAddress("sw0", Ipv6Address.parse(ip6), 64);
        return s;
    }

    /** Waits (10 s at most) until {@code ip6} has passed duplicate address detection. */
    private static void awaitAssigned(NetStack s, String ip6) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (Interface i : s.interfaces()) {
                for (AddressAutoconfig.Address a : i.ipv6Addresses()) {
                    if (a.address().equals(Ipv6Address.parse(ip6)) && a.assigned()) {
                        return;
                    }
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError(ip6 + " did not pass duplicate address detection in 10 s");
    }

    private static InetAddress inet(String text) {
        try {
            return InetAddress.getByName(text); // a literal: no look-up
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** An echo server on the server stack, bound to {@code address}; its first child's {local, remote} go to {@code child}. */
    private static Channel echoServer(ServerBootstrap b, InetSocketAddress address,
            CompletableFuture<InetSocketAddress[]> child) throws Exception {
        return b.group(group).option(RumpChannelOption.STACK, server)
                .childHandler(new EchoHandler(child)).bind(address).sync().channel();
    }

    @ChannelHandler.Sharable
    private static final class EchoHandler extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<InetSocketAddress[]> child;

        EchoHandler(CompletableFuture<InetSocketAddress[]> child) {
            this.child = child;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            RumpSocketChannel ch = (RumpSocketChannel) ctx.channel();
            child.complete(new InetSocketAddress[] {ch.localAddress(), ch.remoteAddress()});
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }
    }

    /** Connects from the client stack, sends {@code text} and returns the echo; the channel's {local, remote} go to {@code connected}. */
    private static String echo(Bootstrap b, InetSocketAddress to, String text,
            CompletableFuture<InetSocketAddress[]> connected)
            throws Exception {
        CompletableFuture<String> reply = new CompletableFuture<>();
        StringBuilder got = new StringBuilder();
        Channel ch = b.group(group).option(RumpChannelOption.STACK, client)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ByteBuf buf = (ByteBuf) msg;
                        got.append(buf.toString(StandardCharsets.US_ASCII));
                        buf.release();
                        if (got.length() >= text.length()) {
                            reply.complete(got.toString());
                        }
                    }
                }).connect(to).sync().channel();
        connected.complete(new InetSocketAddress[] {(InetSocketAddress) ch.localAddress(),
            (InetSocketAddress) ch.remoteAddress()});
        ch.writeAndFlush(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
        try {
            return reply.get(10, TimeUnit.SECONDS);
        } finally {
            ch.close().sync();
        }
    }

    @Test
    void echoOverIpv6BetweenTwoStacks() throws Exception {
        CompletableFuture<InetSocketAddress[]> child = new CompletableFuture<>();
        Channel listener = echoServer(new ServerBootstrap().channel(RumpServerSocketChannel.class),
                new InetSocketAddress(SERVER6, 7006), child);
        try {
            assertEquals(new InetSocketAddress(SERVER6, 7006), listener.localAddress());
            CompletableFuture<InetSocketAddress[]> connected = new CompletableFuture<>();
            assertEquals("over IPv6", echo(new Bootstrap().channel(RumpSocketChannel.class),
                    new InetSocketAddress(SERVER6, 7006), "over IPv6", connected));
            assertEquals(new InetSocketAddress(SERVER6, 7006), connected.get()[1]);
            InetSocketAddress local = connected.get()[0];
            assertEquals(CLIENT6, local.getAddress(), "the source is the client's global address");
            InetSocketAddress[] accepted = child.get(5, TimeUnit.SECONDS);
            assertEquals(new InetSocketAddress(SERVER6, 7006), accepted[0]);
            assertEquals(local, accepted[1], "the server sees the client's address and port");
            assertInstanceOf(Inet6Address.class, accepted[1].getAddress());
        } finally {
            listener.close().sync();
        }
    }

    @Test
    void aDualStackServerTakesAnIpv4Client() throws Exception {
        CompletableFuture<InetSocketAddress[]> child = new CompletableFuture<>();
        // the wildcard of java.net (0.0.0.0) on a dual-stack listener is ::, as on the JDK
        Channel listener = echoServer(new ServerBootstrap().channel(RumpServerSocketChannel.class),
                new InetSocketAddress(7004), child);
        try {
            InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
            assertInstanceOf(Inet6Address.class, bound.getAddress());
            assertTrue(bound.getAddress().isAnyLocalAddress(), bound.toString());
            CompletableFuture<InetSocketAddress[]> connected = new CompletableFuture<>();
            Bootstrap ipv4Only = new Bootstrap().channelFactory(() -> new RumpSocketChannel(SocketProtocolFamily.INET));
            assertEquals("over IPv4", echo(ipv4Only, new InetSocketAddress(SERVER4, 7004), "over IPv4", connected));
            InetSocketAddress[] accepted = child.get(5, TimeUnit.SECONDS);
            assertEquals(SERVER4, accepted[0].getAddress(), "an IPv4 peer's connection: Inet4Address, not ::ffff:...");
            assertInstanceOf(Inet4Address.class, accepted[1].getAddress());
            assertEquals(connected.get()[0], accepted[1]);
            // the same listener takes an IPv6 client as well
            assertEquals("and IPv6", echo(new Bootstrap().channel(RumpSocketChannel.class),
                    new InetSocketAddress(SERVER6, 7004), "and IPv6", new CompletableFuture<>()));
        } finally {
            listener.close().sync();
        }
    }

    @Test
    void connectingToTheIpv6WildcardReachesLoopback() throws Exception {
        CompletableFuture<InetSocketAddress[]> child = new CompletableFuture<>();
        Channel listener = new ServerBootstrap().group(group).channel(RumpServerSocketChannel.class)
                .option(RumpChannelOption.STACK, client)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        RumpSocketChannel ch = (RumpSocketChannel) ctx.channel();
                        child.complete(new InetSocketAddress[] {ch.localAddress(), ch.remoteAddress()});
                    }
                }).bind(new InetSocketAddress(inet("::1"), 7001)).sync().channel();
        try {
            Channel c = new Bootstrap().group(group).channel(RumpSocketChannel.class)
                    .option(RumpChannelOption.STACK, client).handler(new ChannelInboundHandlerAdapter())
                    .connect(new InetSocketAddress(inet("::"), 7001)).sync().channel();
            assertEquals(new InetSocketAddress(inet("::1"), 7001), c.remoteAddress());
            assertEquals(new InetSocketAddress(inet("::1"), 7001), child.get(5, TimeUnit.SECONDS)[0]);
            c.close().sync();
        } finally {
            listener.close().sync();
        }
    }

    /** A datagram channel on {@code stack}, bound to {@code address}, whose packets go to {@code got}. */
    private static Channel datagrams(Bootstrap b, NetStack stack, InetSocketAddress address,
            CompletableFuture<DatagramPacket> got) throws Exception {
        ChannelHandler h = new SimpleChannelInboundHandler<DatagramPacket>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                got.complete(p.retain());
            }
        };
        return b.group(group).option(RumpChannelOption.STACK, stack).handler(h).bind(address).sync().channel();
    }

    @Test
    void datagramsOverIpv6AndFromAnIpv4Sender() throws Exception {
        CompletableFuture<DatagramPacket> atServer = new CompletableFuture<>();
        CompletableFuture<DatagramPacket> atClient = new CompletableFuture<>();
        Channel s = datagrams(new Bootstrap().channel(RumpDatagramChannel.class), server,
                new InetSocketAddress(5006), atServer);
        Channel c = datagrams(new Bootstrap().channel(RumpDatagramChannel.class), client,
                new InetSocketAddress(CLIENT6, 0), atClient);
        Channel c4 = null;
        try {
            c.writeAndFlush(new DatagramPacket(Unpooled.copiedBuffer("ping6", StandardCharsets.US_ASCII),
                    new InetSocketAddress(SERVER6, 5006))).sync();
            DatagramPacket p = atServer.get(5, TimeUnit.SECONDS);
            assertEquals("ping6", p.content().toString(StandardCharsets.US_ASCII));
            assertEquals(c.localAddress(), p.sender());
            assertInstanceOf(Inet6Address.class, p.sender().getAddress());
            s.writeAndFlush(new DatagramPacket(Unpooled.copiedBuffer("pong6", StandardCharsets.US_ASCII), p.sender()))
                    .sync();
            p.release();
            DatagramPacket back = atClient.get(5, TimeUnit.SECONDS);
            assertEquals("pong6", back.content().toString(StandardCharsets.US_ASCII));
            assertEquals(new InetSocketAddress(SERVER6, 5006), back.sender());
            back.release();

            // an IPv4-only sender reaches the same dual-stack channel, which names it by its Inet4Address
            CompletableFuture<DatagramPacket> again = new CompletableFuture<>();
            s.pipeline().addFirst(new SimpleChannelInboundHandler<DatagramPacket>() {
                @Override
                protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket q) {
                    again.complete(q.retain());
                }
            });
            c4 = datagrams(new Bootstrap().channelFactory(() -> new RumpDatagramChannel(SocketProtocolFamily.INET)),
                    client, new InetSocketAddress(CLIENT4, 0), new CompletableFuture<>());
            c4.writeAndFlush(new DatagramPacket(Unpooled.copiedBuffer("ping4", StandardCharsets.US_ASCII),
                    new InetSocketAddress(SERVER4, 5006))).sync();
            DatagramPacket q = again.get(5, TimeUnit.SECONDS);
            assertEquals("ping4", q.content().toString(StandardCharsets.US_ASCII));
            assertEquals(c4.localAddress(), q.sender());
            assertInstanceOf(Inet4Address.class, q.sender().getAddress());
            q.release();
        } finally {
            s.close().sync();
            c.close().sync();
            if (c4 != null) {
                c4.close().sync();
            }
        }
    }

    private static ErrnoException errno(ChannelFuture f) {
        assertFalse(f.isSuccess());
        Throwable t = f.cause();
        while (t != null && !(t instanceof ErrnoException)) {
            t = t.getCause();
        }
        assertInstanceOf(ErrnoException.class, t, String.valueOf(f.cause()));
        return (ErrnoException) t;
    }

    @Test
    void ipv4OnlyChannelsRefuseIpv6Addresses() throws Exception {
        ChannelFuture connect = new Bootstrap().group(group)
                .channelFactory(() -> new RumpSocketChannel(SocketProtocolFamily.INET))
                .option(RumpChannelOption.STACK, client).handler(new ChannelInboundHandlerAdapter())
                .connect(new InetSocketAddress(SERVER6, 7006)).await();
        assertEquals(Errno.EAFNOSUPPORT, errno(connect).errno());

        ChannelFuture bind = new ServerBootstrap().group(group)
                .channelFactory(() -> new RumpServerSocketChannel(SocketProtocolFamily.INET))
                .option(RumpChannelOption.STACK, client).childHandler(new ChannelInboundHandlerAdapter())
                .bind(new InetSocketAddress(inet("::1"), 7002)).await();
        assertEquals(Errno.EAFNOSUPPORT, errno(bind).errno());

        Channel d = new Bootstrap().group(group)
                .channelFactory(() -> new RumpDatagramChannel(SocketProtocolFamily.INET))
                .option(RumpChannelOption.STACK, client).handler(new ChannelInboundHandlerAdapter())
                .bind(new InetSocketAddress(0)).sync().channel();
        try {
            assertInstanceOf(Inet4Address.class, ((InetSocketAddress) d.localAddress()).getAddress(),
                    "an INET channel's wildcard is 0.0.0.0");
            ChannelFuture send = d.writeAndFlush(new DatagramPacket(Unpooled.copiedBuffer("x", StandardCharsets.US_ASCII),
                    new InetSocketAddress(SERVER6, 5006))).await();
            assertEquals(Errno.EAFNOSUPPORT, errno(send).errno());
        } finally {
            d.close().sync();
        }

        ChannelException unix = assertThrows(ChannelException.class, () -> new RumpSocketChannel(SocketProtocolFamily.UNIX));
        assertEquals(Errno.EAFNOSUPPORT, ((ErrnoException) unix.getCause()).errno());
    }
}
