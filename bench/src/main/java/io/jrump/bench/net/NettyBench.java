package io.jrump.bench.net;

import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.NicOptions;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import io.jrump.netty.RumpChannelOption;
import io.jrump.netty.RumpEventLoopGroup;
import io.jrump.netty.RumpServerSocketChannel;
import io.jrump.netty.RumpSocketChannel;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The Netty transport against Netty's NIO transport, same handlers, same run: {@code rr COUNT}
 * (1-byte request, 1-byte response, COUNT round trips, percentiles) and {@code bulk BYTES} (one
 * connection, the client writes BYTES as fast as writability lets it, the server discards). The
 * jrump side is two stacks on one {@link RumpEventLoopGroup}, joined by a {@code loop:} wire at MTU
 * 1500 — one thread for both kernels and both channels; the NIO side is a one-thread group over
 * Linux {@code lo} (MTU 65536, the kernel's offloads). Prints one {@code key=value} line per run
 * and the ratios.
 */
public final class NettyBench {
    private NettyBench() {
    }

    private interface Side extends AutoCloseable {
        ServerBootstrap server();

        Bootstrap client();

        InetSocketAddress bindAddress();

        @Override
        void close();
    }

    private static Side jrump() throws Exception {
        RumpEventLoopGroup group = new RumpEventLoopGroup("bench-jrump");
        NetStack a = group.boot(JvmHost.create("bench-a"), "a");
        NetStack b = group.boot(JvmHost.create("bench-b"), "b");
        a.addInterface("loop:bench", NicOptions.mtu(1500));
        b.addInterface("loop:bench", NicOptions.mtu(1500));
        a.addAddress("loop:bench", Ipv4Address.parse("198.18.0.1"), 24);
        b.addAddress("loop:bench", Ipv4Address.parse("198.18.0.2"), 24);
        return new Side() {
            public ServerBootstrap server() {
                return new ServerBootstrap().group(group).channel(RumpServerSocketChannel.class)
                        .option(RumpChannelOption.STACK, b).childOption(ChannelOption.TCP_NODELAY, true);
            }

            public Bootstrap client() {
                return new Bootstrap().group(group).channel(RumpSocketChannel.class)
                        .option(RumpChannelOption.STACK, a).option(ChannelOption.TCP_NODELAY, true);
            }

            public InetSocketAddress bindAddress() {
                return new InetSocketAddress(address(198, 18, 0, 2), 0);
            }

            public void close() {
                group.close();
            }
        };
    }

    private static Side nio() {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        return new Side() {
            public ServerBootstrap server() {
                return new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                        .childOption(ChannelOption.TCP_NODELAY, true);
            }

            public Bootstrap client() {
                return new Bootstrap().group(group).channel(NioSocketChannel.class).option(ChannelOption.TCP_NODELAY, true);
            }

            public InetSocketAddress bindAddress() {
                return new InetSocketAddress(address(127, 0, 0, 1), 0);
            }

            public void close() {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            }
        };
    }

    private static InetAddress address(int a, int b, int c, int d) {
        try {
            return InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** Round trips: the median and p99 in microseconds. */
    static double[] rr(Side side, int count) throws Exception {
        long[] samples = new long[count];
        CompletableFuture<Void> done = new CompletableFuture<>();
        Channel server = side.server().childHandler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ctx.writeAndFlush(msg);
            }
        }).bind(side.bindAddress()).sync().channel();
        Channel client = side.client().handler(new ChannelInboundHandlerAdapter() {
            int n;
            long start;

            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                start = System.nanoTime();
                ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte(1));
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ((ByteBuf) msg).release();
                long now = System.nanoTime();
                samples[n++] = now - start;
                if (n == count) {
                    done.complete(null);
                    return;
                }
                start = System.nanoTime();
                ctx.writeAndFlush(ctx.alloc().buffer(1).writeByte(1));
            }
        }).connect(server.localAddress()).sync().channel();
        done.get(300, TimeUnit.SECONDS);
        client.close().sync();
        server.close().sync();
        long[] s = Arrays.copyOfRange(samples, count / 10, count); // the first tenth warms up
        Arrays.sort(s);
        return new double[] {s[s.length / 2] / 1000.0, s[(int) (s.length * 0.99)] / 1000.0};
    }

    /**
     * Bytes the loop thread allocated per MiB moved in the last {@link #bulk} run: both stacks,
     * both channels and the benchmark's own handlers run on that one thread (the NIO side's
     * kernel work runs in Linux, where the JVM does not count it).
     */
    static double lastAllocPerMib;

    private static long allocatedByThisThread() {
        return ((com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean())
                .getCurrentThreadAllocatedBytes();
    }

    /** Bulk: bits per second from the first byte written to the last byte counted by the server. */
    static double bulk(Side side, long bytes) throws Exception {
        CompletableFuture<Long> received = new CompletableFuture<>();
        long[] start = new long[1];
        long[] allocated = new long[1];
        Channel server = side.server().childHandler(new ChannelInboundHandlerAdapter() {
            long got;

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                got += ((ByteBuf) msg).readableBytes();
                ((ByteBuf) msg).release();
                if (got >= bytes && !received.isDone()) {
                    allocated[0] = allocatedByThisThread() - allocated[0];
                    received.complete(System.nanoTime());
                }
            }
        }).bind(side.bindAddress()).sync().channel();
        Channel client = side.client().handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                    long sent;

                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        start[0] = System.nanoTime();
                        allocated[0] = allocatedByThisThread();
                        pump(ctx);
                    }

                    @Override
                    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                        pump(ctx);
                    }

                    private void pump(ChannelHandlerContext ctx) {
                        while (sent < bytes && ctx.channel().isWritable()) {
                            int n = (int) Math.min(64 * 1024, bytes - sent);
                            ByteBuf b = ctx.alloc().directBuffer(n);
                            b.writerIndex(n);
                            sent += n;
                            ctx.write(b);
                        }
                        ctx.flush();
                    }
                });
            }
        }).connect(server.localAddress()).sync().channel();
        long end = received.get(600, TimeUnit.SECONDS);
        client.close().sync();
        server.close().sync();
        lastAllocPerMib = allocated[0] / (bytes / 1048576.0);
        return bytes * 8.0 / ((end - start[0]) / 1e9);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: NettyBench rr COUNT | bulk BYTES");
            System.exit(2);
        }
        try (Side j = jrump(); Side n = nio()) {
            if (args[0].equals("rr")) {
                int count = Integer.parseInt(args[1]);
                double[] rj = rr(j, count);
                double[] rn = rr(n, count);
                System.out.printf("netty-rr transport=jrump count=%d p50_us=%.1f p99_us=%.1f%n", count, rj[0], rj[1]);
                System.out.printf("netty-rr transport=nio-lo count=%d p50_us=%.1f p99_us=%.1f%n", count, rn[0], rn[1]);
                System.out.printf("netty-rr ratio jrump/nio p50=%.2f%n", rj[0] / rn[0]);
            } else {
                long bytes = Long.parseLong(args[1]);
                bulk(j, Math.min(bytes, 16L << 20)); // warm up
                bulk(n, Math.min(bytes, 16L << 20));
                double bj = bulk(j, bytes);
                double aj = lastAllocPerMib;
                double bn = bulk(n, bytes);
                double an = lastAllocPerMib;
                System.out.printf("netty-bulk transport=jrump mtu=1500 bytes=%d gbit_s=%.3f alloc_bytes_per_mib=%.0f%n",
                        bytes, bj / 1e9, aj);
                System.out.printf("netty-bulk transport=nio-lo bytes=%d gbit_s=%.3f alloc_bytes_per_mib=%.0f%n",
                        bytes, bn / 1e9, an);
                System.out.printf("netty-bulk ratio jrump/nio=%.3f%n", bj / bn);
            }
        }
        System.exit(0);
    }
}
