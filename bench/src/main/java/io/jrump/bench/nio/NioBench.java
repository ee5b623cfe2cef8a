package io.jrump.bench.nio;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import io.jrump.nio.RumpSelectorProvider;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.SelectorProvider;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One plain {@code java.nio} program — a selector-driven server, a blocking client — run twice in one JVM:
 * between two jrump stacks on the JVM host's switch (each side its own {@link RumpSelectorProvider}), and
 * on the JDK's own provider over Linux loopback. Prints one {@code key=value} line per run and the ratios:
 * <ul>
 *   <li>{@code rr COUNT}: 1-byte request, 1-byte echo, TCP_NODELAY, COUNT round trips: rate and percentiles;</li>
 *   <li>{@code bulk BYTES}: one connection, the client writes BYTES in 64 KiB writes, the server's selector
 *       reads and drops them: MB/s until the server has them all.</li>
 * </ul>
 * Usage: {@code NioBench all RR_COUNT BULK_BYTES ROUNDS}.
 */
public final class NioBench {
    private NioBench() {
    }

    /** Where the two ends run: the server's and the client's providers, and the address the client dials. */
    private record Sides(String name, SelectorProvider server, SelectorProvider client, String serverIp, AutoCloseable close) {
    }

    private static Sides jrump() throws Exception {
        SwitchRegistry sw = new SwitchRegistry();
        RumpKernel a = boot("nio-client", "198.18.0.1", sw);
        RumpKernel b = boot("nio-server", "198.18.0.2", sw);
        return new Sides("jrump", new RumpSelectorProvider(b), new RumpSelectorProvider(a), "198.18.0.2", () -> {
            a.close();
            b.close();
        });
    }

    private static RumpKernel boot(String name, String ip, SwitchRegistry sw) throws Exception {
        NetStack net = new NetStack();
        RumpKernel k = RumpKernel.boot(JvmHost.builder().name(name).switches(sw).build(),
                BootOptions.defaults().withName(name).withComponentInstances(List.of(net)));
        net.addInterface("sw0", NicOptions.mtu(1500));
        net.addAddress("sw0", Ipv4Address.parse(ip), 24);
        return k;
    }

    private static Sides linux() {
        SelectorProvider jdk = SelectorProvider.provider();
        return new Sides("linux-loopback", jdk, jdk, "127.0.0.1", () -> { });
    }

    public static void main(String[] args) throws Exception {
        int rr = args.length > 1 ? Integer.parseInt(args[1]) : 20_000;
        long bulk = args.length > 2 ? Long.parseLong(args[2]) : 256L << 20;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        double[][] rate = new double[2][rounds];
        double[][] p50 = new double[2][rounds];
        double[][] mbps = new double[2][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int s = 0; s < 2; s++) {
                Sides sides = s == 0 ? jrump() : linux();
                try {
                    double[] echo = echo(sides, 7000 + r * 2 + s, rr);
                    rate[s][r] = echo[0];
                    p50[s][r] = echo[1];
                    System.out.printf("rr side=%s round=%d count=%d rate_per_s=%.0f p50_us=%.1f p99_us=%.1f%n",
                            sides.name(), r, rr, echo[0], echo[1], echo[2]);
                    mbps[s][r] = bulk(sides, 7100 + r * 2 + s, bulk);
                    System.out.printf("bulk side=%s round=%d bytes=%d MB_per_s=%.1f%n", sides.name(), r, bulk, mbps[s][r]);
                } finally {
                    sides.close().close();
                }
            }
        }
        System.out.printf("median rr rate jrump/linux = %.3f (%.0f / %.0f per s); p50 latency jrump/linux = %.2f%n",
                median(rate[0]) / median(rate[1]), median(rate[0]), median(rate[1]), median(p50[0]) / median(p50[1]));
        System.out.printf("median bulk jrump/linux = %.3f (%.1f / %.1f MB/s)%n",
                median(mbps[0]) / median(mbps[1]), median(mbps[0]), median(mbps[1]));
        System.exit(0);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** A selector server: echoes what it reads (echo) or drops it (sink); ends when its one connection ends. */
    private static CompletableFuture<Long> server(ServerSocketChannel ss, boolean echo) {
        CompletableFuture<Long> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try (Selector sel = ss.provider().openSelector()) {
                ss.configureBlocking(false);
                ss.register(sel, SelectionKey.OP_ACCEPT);
                ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
                long total = 0;
                for (;;) {
                    sel.select();
                    for (var it = sel.selectedKeys().iterator(); it.hasNext(); ) {
                        SelectionKey k = it.next();
                        it.remove();
                        if (k.isAcceptable()) {
                            SocketChannel c = ss.accept();
                            if (c != null) {
                                c.configureBlocking(false);
                                c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                                c.register(sel, SelectionKey.OP_READ);
                            }
                        } else if (k.isReadable()) {
                            SocketChannel c = (SocketChannel) k.channel();
                            int n = c.read(buf.clear());
                            if (n < 0) {
                                c.close();
                                done.complete(total);
                                return;
                            }
                            total += n;
                            if (echo) {
                                buf.flip();
                                while (buf.hasRemaining()) {
                                    c.write(buf); // 1-byte echoes: never a full send buffer
                                }
                            }
                        }
                    }
                }
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        }, "nio-bench-server");
        t.setDaemon(true);
        t.start();
        return done;
    }

    /** {rate per second, p50 µs, p99 µs} of COUNT 1-byte round trips. */
    private static double[] echo(Sides sides, int port, int count) throws Exception {
        try (ServerSocketChannel ss = sides.server().openServerSocketChannel()) {
            ss.bind(new InetSocketAddress(sides.serverIp(), port));
            CompletableFuture<Long> server = server(ss, true);
            long[] lat = new long[count];
            long t0;
            long t1;
            try (SocketChannel c = sides.client().openSocketChannel()) {
                c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                c.connect(new InetSocketAddress(sides.serverIp(), port));
                ByteBuffer one = ByteBuffer.allocateDirect(1);
                for (int i = 0; i < Math.min(1000, count); i++) { // warm up
                    roundTrip(c, one);
                }
                t0 = System.nanoTime();
                for (int i = 0; i < count; i++) {
                    long s = System.nanoTime();
                    roundTrip(c, one);
                    lat[i] = System.nanoTime() - s;
                }
                t1 = System.nanoTime();
            }
            server.get();
            Arrays.sort(lat);
            return new double[] {count / ((t1 - t0) / 1e9), lat[count / 2] / 1e3, lat[(int) (count * 0.99)] / 1e3};
        }
    }

    private static void roundTrip(SocketChannel c, ByteBuffer one) throws Exception {
        one.clear().put((byte) 1).flip();
        c.write(one);
        one.clear();
        while (one.hasRemaining()) {
            if (c.read(one) < 0) {
                throw new IllegalStateException("echo server closed");
            }
        }
    }

    /** MB/s (10^6) of one connection carrying {@code bytes} into a selector that drops them. */
    private static double bulk(Sides sides, int port, long bytes) throws Exception {
        try (ServerSocketChannel ss = sides.server().openServerSocketChannel()) {
            ss.bind(new InetSocketAddress(sides.serverIp(), port));
            CompletableFuture<Long> server = server(ss, false);
            ByteBuffer chunk = ByteBuffer.allocateDirect(64 * 1024);
            long t0 = System.nanoTime();
            try (SocketChannel c = sides.client().openSocketChannel()) {
                c.connect(new InetSocketAddress(sides.serverIp(), port));
                for (long left = bytes; left > 0; left -= chunk.capacity()) {
                    chunk.clear();
                    if (left < chunk.capacity()) {
                        chunk.limit((int) left);
                    }
                    while (chunk.hasRemaining()) {
                        c.write(chunk);
                    }
                }
            }
            long got = server.get();
            long t1 = System.nanoTime();
            if (got != bytes) {
                throw new IllegalStateException("server got " + got + " of " + bytes);
            }
            return bytes / ((t1 - t0) / 1e9) / 1e6;
        }
    }
}
