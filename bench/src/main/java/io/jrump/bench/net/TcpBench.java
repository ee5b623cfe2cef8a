package io.jrump.bench.net;

import io.jrump.bench.Memory;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import io.jrump.net.stack.Sockets.SocketAddress;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * TCP between two kernels in one JVM, each on its own JVM host, joined by an in-process switch.
 * One line of {@code key=value} per run, for docs/performance.md:
 * <ul>
 *   <li>{@code bulk MTU BYTES [offload]} — one connection, the client sends BYTES, the server reads
 *       them; {@code offload}: the switch ports do the checksums, as Linux's lo and veth do by default;
 *       {@code nolowat}: the reader leaves SO_RCVLOWAT at 1 (it wakes as data comes);</li>
 *   <li>{@code rr COUNT} — 1-byte request, 1-byte response, TCP_NODELAY, COUNT times: latency percentiles;</li>
 *   <li>{@code conns N} — N established connections held at once: heap per idle connection;</li>
 *   <li>{@code rrpoll COUNT}, {@code bulkpoll MTU BYTES} — the same with both kernels on polled
 *       JVM hosts (no loop threads), driven by the main thread alone through non-blocking calls:
 *       run-to-completion.</li>
 * </ul>
 */
public final class TcpBench {
    private static final Ipv4Address A = Ipv4Address.parse("198.18.0.1");
    private static final Ipv4Address B = Ipv4Address.parse("198.18.0.2");

    private TcpBench() {
    }

    private record Pair(NetStack a, NetStack b, AutoCloseable close) {
    }

    private static Pair pair(int mtu, String name) throws Exception {
        return pair(mtu, name, false);
    }

    /** With {@code offload}, the switch ports do checksums (as a veth or lo does by default): no software checksum at all. */
    private static Pair pair(int mtu, String name, boolean offload) throws Exception {
        return pair(mtu, name, offload, JvmHost.create(name + "-a"), JvmHost.create(name + "-b"));
    }

    private static Pair pair(int mtu, String name, boolean offload, JvmHost ha, JvmHost hb) throws Exception {
        NetStack a = new NetStack();
        NetStack b = new NetStack();
        RumpKernel ka = RumpKernel.boot(ha, BootOptions.defaults().withComponentInstances(List.of(a)));
        RumpKernel kb = RumpKernel.boot(hb, BootOptions.defaults().withComponentInstances(List.of(b)));
        String sw = "bench-" + name;
        NicOptions nic = offload ? NicOptions.mtu(mtu).withOffloads(NicOffload.ALL) : NicOptions.mtu(mtu);
        a.addInterface(sw, nic);
        b.addInterface(sw, nic);
        a.addAddress(sw, A, 24);
        b.addAddress(sw, B, 24);
        return new Pair(a, b, () -> {
            ka.close();
            kb.close();
        });
    }

    public static void main(String[] args) throws Exception {
        io.jrump.bench.Memory.watch(); // peak heap over the whole run
        if (args.length < 2) {
            System.err.println("usage: TcpBench bulk MTU BYTES [offload] [nolowat] | rr COUNT | conns N | rrpoll COUNT | bulkpoll MTU BYTES");
            System.exit(2);
        }
        switch (args[0]) {
            case "bulk" -> {
                List<String> flags = Arrays.asList(args).subList(3, args.length);
                bulk(Integer.parseInt(args[1]), Long.parseLong(args[2]), flags.contains("offload"), !flags.contains("nolowat"));
            }
            case "rr" -> rr(Integer.parseInt(args[1]));
            case "conns" -> conns(Integer.parseInt(args[1]));
            case "rrpoll" -> rrPolled(Integer.parseInt(args[1]));
            case "bulkpoll" -> bulkPolled(Integer.parseInt(args[1]), Long.parseLong(args[2]));
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.exit(0); // event-loop threads of closed hosts do not hold the JVM, but be sure
    }

    private static int[] connect(Pair p, int port) throws Exception {
        Sockets sb = p.b().sockets();
        int l = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sb.bind(l, new SocketAddress(Ipv4Address.ANY, port));
        sb.listen(l, 128);
        Sockets sa = p.a().sockets();
        int c = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sa.connect(c, new SocketAddress(B, port));
        return new int[] {c, sb.accept(l), l};
    }

    private static void bulk(int mtu, long bytes, boolean offload, boolean lowWater) throws Exception {
        Pair p = pair(mtu, "bulk", offload);
        int[] fds = connect(p, 5001);
        Sockets sa = p.a().sockets();
        Sockets sb = p.b().sockets();
        if (lowWater) {
            // Wake the reader for 64 KiB at a time, not for every segment: each wake-up crosses threads.
            sb.setsockopt(fds[1], Sockets.SOL_SOCKET, Sockets.SO_RCVLOWAT, 64 * 1024);
        }
        CompletableFuture<Long> reader = CompletableFuture.supplyAsync(() -> {
            try {
                ByteBuffer buf = ByteBuffer.allocate(1 << 20);
                long got = 0;
                while (got < bytes) {
                    buf.clear();
                    int n = sb.recv(fds[1], buf, 0).length();
                    if (n == 0) {
                        break;
                    }
                    got += n;
                }
                return got;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        byte[] chunk = new byte[1 << 20];
        Arrays.fill(chunk, (byte) 0x5a);
        long t0 = System.nanoTime();
        for (long sent = 0; sent < bytes; sent += chunk.length) {
            sa.send(fds[0], ByteBuffer.wrap(chunk, 0, (int) Math.min(chunk.length, bytes - sent)), 0);
        }
        sa.shutdown(fds[0], Sockets.SHUT_WR); // the FIN lets the last read below the low-water mark end
        long got = reader.get();
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("mode=bulk mtu=%d offload=%s bytes=%d received=%d seconds=%.3f gbit_per_s=%.3f retransmitted=%d peak_heap_mib=%.1f%n",
                mtu, offload, bytes, got, s, got * 8 / s / 1e9, p.a().stats().get("tcp.out.retransmitted"), Memory.peakHeapMib());
        p.close().close();
    }

    private static void rr(int count) throws Exception {
        Pair p = pair(1500, "rr");
        int[] fds = connect(p, 5002);
        Sockets sa = p.a().sockets();
        Sockets sb = p.b().sockets();
        sa.setsockopt(fds[0], Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, 1);
        sb.setsockopt(fds[1], Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, 1);
        CompletableFuture<Void> echo = CompletableFuture.runAsync(() -> {
            try {
                ByteBuffer one = ByteBuffer.allocate(1);
                for (int i = 0; i < count; i++) {
                    one.clear();
                    sb.recv(fds[1], one, 0);
                    one.flip();
                    sb.send(fds[1], one, 0);
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        long[] rtt = new long[count];
        ByteBuffer one = ByteBuffer.allocate(1);
        for (int i = 0; i < count; i++) {
            long t0 = System.nanoTime();
            sa.send(fds[0], ByteBuffer.wrap(new byte[] {(byte) i}), 0);
            one.clear();
            sa.recv(fds[0], one, 0);
            rtt[i] = System.nanoTime() - t0;
        }
        echo.get();
        long[] warm = Arrays.copyOfRange(rtt, count / 10, count);
        Arrays.sort(warm);
        System.out.printf("mode=rr count=%d median_us=%.1f p99_us=%.1f min_us=%.1f%n", count, warm[warm.length / 2] / 1e3,
                warm[(int) (warm.length * 0.99)] / 1e3, warm[0] / 1e3);
        p.close().close();
    }

    /** Two kernels without loop threads, on one switch, and a connection between them set up by polling. */
    private static int[] polledConnect(Pair p, JvmHost ha, JvmHost hb, int port) throws Exception {
        Sockets sa = p.a().sockets();
        Sockets sb = p.b().sockets();
        int l = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sb.bind(l, new SocketAddress(Ipv4Address.ANY, port));
        sb.listen(l, 4);
        sb.setNonBlocking(l, true);
        int c = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sa.setNonBlocking(c, true);
        try {
            sa.connect(c, new SocketAddress(B, port));
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EINPROGRESS) {
                throw e;
            }
        }
        while (true) {
            ha.poll();
            hb.poll();
            try {
                int s = sb.accept(l);
                sb.setNonBlocking(s, true);
                return new int[] {c, s};
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EAGAIN) {
                    throw e;
                }
            }
        }
    }

    /** A non-blocking recv that reports EAGAIN as 0 bytes and the end of the stream as -1. */
    private static int recvNow(Sockets s, int fd, ByteBuffer buf) throws ErrnoException {
        try {
            int n = s.recv(fd, buf, Sockets.MSG_DONTWAIT).length();
            return n == 0 ? -1 : n;
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EAGAIN) {
                return 0;
            }
            throw e;
        }
    }

    private static void rrPolled(int count) throws Exception {
        JvmHost ha = JvmHost.builder().name("rrpoll-a").polled().build();
        JvmHost hb = JvmHost.builder().name("rrpoll-b").polled().build();
        Pair p = pair(1500, "rrpoll", false, ha, hb);
        int[] fds = polledConnect(p, ha, hb, 5004);
        Sockets sa = p.a().sockets();
        Sockets sb = p.b().sockets();
        sa.setsockopt(fds[0], Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, 1);
        sb.setsockopt(fds[1], Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, 1);
        long[] rtt = new long[count];
        ByteBuffer one = ByteBuffer.allocate(1);
        for (int i = 0; i < count; i++) {
            long t0 = System.nanoTime();
            sa.send(fds[0], ByteBuffer.wrap(new byte[] {(byte) i}), Sockets.MSG_DONTWAIT);
            while (true) { // the server: echo what arrives
                ha.poll();
                hb.poll();
                if (recvNow(sb, fds[1], one.clear()) > 0) {
                    sb.send(fds[1], one.flip(), Sockets.MSG_DONTWAIT);
                    break;
                }
            }
            while (true) { // the client: wait for the echo
                ha.poll();
                hb.poll();
                if (recvNow(sa, fds[0], one.clear()) > 0) {
                    break;
                }
            }
            rtt[i] = System.nanoTime() - t0;
        }
        long[] warm = Arrays.copyOfRange(rtt, count / 10, count);
        Arrays.sort(warm);
        System.out.printf("mode=rrpoll count=%d median_us=%.1f p99_us=%.1f min_us=%.1f%n", count, warm[warm.length / 2] / 1e3,
                warm[(int) (warm.length * 0.99)] / 1e3, warm[0] / 1e3);
        p.close().close();
    }

    private static void bulkPolled(int mtu, long bytes) throws Exception {
        JvmHost ha = JvmHost.builder().name("bulkpoll-a").polled().build();
        JvmHost hb = JvmHost.builder().name("bulkpoll-b").polled().build();
        Pair p = pair(mtu, "bulkpoll", false, ha, hb);
        int[] fds = polledConnect(p, ha, hb, 5005);
        Sockets sa = p.a().sockets();
        Sockets sb = p.b().sockets();
        ByteBuffer chunk = ByteBuffer.allocate(1 << 20);
        ByteBuffer in = ByteBuffer.allocate(1 << 20);
        long sent = 0;
        long got = 0;
        long t0 = System.nanoTime();
        while (got < bytes) {
            if (sent < bytes) {
                if (!chunk.hasRemaining()) {
                    chunk.clear().limit((int) Math.min(chunk.capacity(), bytes - sent));
                }
                int before = chunk.position();
                try {
                    sa.send(fds[0], chunk, Sockets.MSG_DONTWAIT);
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EAGAIN) {
                        throw e;
                    }
                }
                sent += chunk.position() - before;
            }
            ha.poll();
            hb.poll();
            int n;
            while ((n = recvNow(sb, fds[1], in.clear())) > 0) {
                got += n;
            }
        }
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf("mode=bulkpoll mtu=%d bytes=%d received=%d seconds=%.3f gbit_per_s=%.3f retransmitted=%d%n",
                mtu, bytes, got, s, got * 8 / s / 1e9, p.a().stats().get("tcp.out.retransmitted"));
        p.close().close();
    }

    private static long usedHeap() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static void conns(int n) throws Exception {
        Pair p = pair(1500, "conns");
        Sockets sa = p.a().sockets();
        Sockets sb = p.b().sockets();
        int l = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sb.bind(l, new SocketAddress(Ipv4Address.ANY, 5003));
        sb.listen(l, 4096);
        long before = usedHeap();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            int c = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            sa.connect(c, new SocketAddress(B, 5003));
            sb.accept(l);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        long after = usedHeap();
        int held = sa.tcpConnections() + sb.tcpConnections();
        System.out.printf("mode=conns connections=%d ends=%d seconds=%.2f heap_mib=%.1f bytes_per_end=%d%n", n, held, s,
                (after - before) / 1048576.0, (after - before) / Math.max(1, held));
        p.close().close();
    }
}
