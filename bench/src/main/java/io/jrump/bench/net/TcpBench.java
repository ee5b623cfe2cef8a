package io.jrump.bench.net;

import io.jrump.bench.Memory;
import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.stack.Interface;
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
 *   <li>{@code bulk46 MTU BYTES ROUNDS [offload]} — {@code bulk} over IPv4 and over IPv6 in turn, on one
 *       pair of kernels (198.18.0.1/.2 and 2001:db8::1/::2 on the same switch), ROUNDS times each,
 *       the order swapped every round; a line per run, then the medians (of the rounds after the
 *       first, a warm-up), their ratio, and the median of the rounds' own IPv6/IPv4 ratios. IPv6
 *       segments are checksummed in software even with {@code offload} (the stack has no IPv6
 *       checksum offload yet), so the fair comparison is without it;</li>
 *   <li>{@code rrpoll COUNT}, {@code bulkpoll MTU BYTES} — the same with both kernels on polled
 *       JVM hosts (no loop threads), driven by the main thread alone through non-blocking calls:
 *       run-to-completion; {@code bulkpoll46 MTU BYTES ROUNDS} is {@code bulkpoll} over IPv4 and
 *       IPv6 in turn, as {@code bulk46}.</li>
 * </ul>
 */
public final class TcpBench {
    private static final Ipv4Address A = Ipv4Address.parse("198.18.0.1");
    private static final Ipv4Address B = Ipv4Address.parse("198.18.0.2");
    private static final Ipv6Address A6 = Ipv6Address.parse("2001:db8::1");
    private static final Ipv6Address B6 = Ipv6Address.parse("2001:db8::2");

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
            System.err.println("usage: TcpBench bulk MTU BYTES [offload] [nolowat] | bulk46 MTU BYTES ROUNDS [offload] | rr COUNT | conns N | rrpoll COUNT | bulkpoll MTU BYTES | bulkpoll46 MTU BYTES ROUNDS");
            System.exit(2);
        }
        switch (args[0]) {
            case "bulk" -> {
                List<String> flags = Arrays.asList(args).subList(3, args.length);
                bulk(Integer.parseInt(args[1]), Long.parseLong(args[2]), flags.contains("offload"), !flags.contains("nolowat"));
            }
            case "bulk46" -> {
                List<String> flags = Arrays.asList(args).subList(4, args.length);
                bulk46(Integer.parseInt(args[1]), Long.parseLong(args[2]), Integer.parseInt(args[3]),
                        flags.contains("offload"));
            }
            case "rr" -> rr(Integer.parseInt(args[1]));
            case "conns" -> conns(Integer.parseInt(args[1]));
            case "rrpoll" -> rrPolled(Integer.parseInt(args[1]));
            case "bulkpoll" -> bulkPolled(Integer.parseInt(args[1]), Long.parseLong(args[2]));
            case "bulkpoll46" -> bulkPolled46(Integer.parseInt(args[1]), Long.parseLong(args[2]), Integer.parseInt(args[3]));
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
        double[] r = send(p, fds, bytes, lowWater);
        System.out.printf("mode=bulk mtu=%d offload=%s bytes=%d received=%d seconds=%.3f gbit_per_s=%.3f retransmitted=%d peak_heap_mib=%.1f%n",
                mtu, offload, bytes, (long) r[0], r[1], r[0] * 8 / r[1] / 1e9, p.a().stats().get("tcp.out.retransmitted"), Memory.peakHeapMib());
        p.close().close();
    }

    /** Sends {@code bytes} over the connection {@code fds} (client, server); {received, seconds}. */
    private static double[] send(Pair p, int[] fds, long bytes, boolean lowWater) throws Exception {
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
        return new double[] {got, s};
    }

    /** Waits (10 s at most, on the real clock) until {@code ip6} has passed duplicate address detection on {@code s}. */
    private static void awaitAssigned(NetStack s, Ipv6Address ip6) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (assigned(s, ip6)) {
                return;
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException(ip6 + " did not pass duplicate address detection in 10 s");
    }

    /** A connection from a to b over IPv4 ({@code AF_INET}) or IPv6 ({@code AF_INET6}); {client, server, listener}. */
    private static int[] connect(Pair p, int port, int domain) throws Exception {
        IpAddress any = domain == Sockets.AF_INET6 ? Ipv6Address.UNSPECIFIED : Ipv4Address.ANY;
        IpAddress to = domain == Sockets.AF_INET6 ? B6 : B;
        Sockets sb = p.b().sockets();
        int l = sb.socket(domain, Sockets.SOCK_STREAM, 0);
        sb.bind(l, new SocketAddress(any, port));
        sb.listen(l, 128);
        Sockets sa = p.a().sockets();
        int c = sa.socket(domain, Sockets.SOCK_STREAM, 0);
        sa.connect(c, new SocketAddress(to, port));
        return new int[] {c, sb.accept(l), l};
    }

    private static void bulk46(int mtu, long bytes, int rounds, boolean offload) throws Exception {
        Pair p = pair(mtu, "bulk46", offload);
        String sw = "bench-bulk46";
        p.a().addAddress(sw, A6, 64);
        p.b().addAddress(sw, B6, 64);
        awaitAssigned(p.a(), A6);
        awaitAssigned(p.b(), B6);
        double[][] gbps = new double[2][rounds];
        int port = 5100;
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < 2; k++) {
                int v = (r + k) % 2; // 0: IPv4, 1: IPv6; who goes first alternates
                int domain = v == 0 ? Sockets.AF_INET : Sockets.AF_INET6;
                long retransmittedBefore = p.a().stats().get("tcp.out.retransmitted");
                int[] fds = connect(p, port++, domain);
                double[] res = send(p, fds, bytes, true);
                gbps[v][r] = res[0] * 8 / res[1] / 1e9;
                System.out.printf("mode=bulk46 family=%s round=%d mtu=%d offload=%s bytes=%d received=%d seconds=%.3f gbit_per_s=%.3f retransmitted=%d%n",
                        v == 0 ? "ipv4" : "ipv6", r + 1, mtu, offload, bytes, (long) res[0], res[1], gbps[v][r],
                        p.a().stats().get("tcp.out.retransmitted") - retransmittedBefore);
                p.a().sockets().close(fds[0]);
                p.b().sockets().close(fds[1]);
                p.b().sockets().close(fds[2]);
            }
        }
        double m4 = medianAfterWarmUp(gbps[0]);
        double m6 = medianAfterWarmUp(gbps[1]);
        System.out.printf("mode=bulk46 summary mtu=%d offload=%s rounds=%d ipv4_median_gbit_per_s=%.3f ipv6_median_gbit_per_s=%.3f ipv6_to_ipv4=%.3f round_ratio_median=%.3f peak_heap_mib=%.1f%n",
                mtu, offload, rounds, m4, m6, m6 / m4, roundRatioMedian(gbps), Memory.peakHeapMib());
        System.out.println("mode=bulk46 drops a=" + drops(p.a()) + " b=" + drops(p.b()));
        p.close().close();
    }

    /** The stack's counters of dropped packets that are not zero. */
    private static java.util.Map<String, Long> drops(NetStack s) {
        java.util.Map<String, Long> d = new java.util.TreeMap<>();
        s.stats().snapshot().forEach((k, v) -> {
            if (k.contains("drop") && v != 0) {
                d.put(k, v);
            }
        });
        return d;
    }

    /**
     * The median over the rounds after the first of IPv6's rate over IPv4's in the same round:
     * the two runs of a round are back to back, so this follows a machine whose speed drifts
     * (other work on it) less than the ratio of the medians does.
     */
    private static double roundRatioMedian(double[][] gbps) {
        double[] ratios = new double[gbps[0].length];
        for (int r = 0; r < ratios.length; r++) {
            ratios[r] = gbps[1][r] / gbps[0][r];
        }
        return medianAfterWarmUp(ratios);
    }

    /** The median of the rounds after the first, which runs while the JIT compiles (all of them if there is one). */
    private static double medianAfterWarmUp(double[] xs) {
        double[] s = xs.length > 1 ? Arrays.copyOfRange(xs, 1, xs.length) : xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
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
        return polledConnect(p, ha, hb, port, Sockets.AF_INET);
    }

    /** As above, over IPv4 ({@code AF_INET}) or IPv6 ({@code AF_INET6}); {client, server, listener}. */
    private static int[] polledConnect(Pair p, JvmHost ha, JvmHost hb, int port, int domain) throws Exception {
        Sockets sa = p.a().sockets();
        Sockets sb = p.b().sockets();
        int l = sb.socket(domain, Sockets.SOCK_STREAM, 0);
        sb.bind(l, new SocketAddress(domain == Sockets.AF_INET6 ? Ipv6Address.UNSPECIFIED : Ipv4Address.ANY, port));
        sb.listen(l, 4);
        sb.setNonBlocking(l, true);
        int c = sa.socket(domain, Sockets.SOCK_STREAM, 0);
        sa.setNonBlocking(c, true);
        try {
            sa.connect(c, new SocketAddress(domain == Sockets.AF_INET6 ? B6 : B, port));
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
                return new int[] {c, s, l};
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
        double[] r = pump(p, ha, hb, fds, bytes);
        System.out.printf("mode=bulkpoll mtu=%d bytes=%d received=%d seconds=%.3f gbit_per_s=%.3f retransmitted=%d%n",
                mtu, bytes, (long) r[0], r[1], r[0] * 8 / r[1] / 1e9, p.a().stats().get("tcp.out.retransmitted"));
        p.close().close();
    }

    /** Sends {@code bytes} from a to b over {@code fds} with the main thread polling both hosts; {received, seconds}. */
    private static double[] pump(Pair p, JvmHost ha, JvmHost hb, int[] fds, long bytes) throws Exception {
        Sockets sa = p.a().sockets();
        Sockets sb = p.b().sockets();
        ByteBuffer chunk = ByteBuffer.allocate(1 << 20);
        ByteBuffer in = ByteBuffer.allocate(1 << 20);
        chunk.limit(0);
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
        return new double[] {got, (System.nanoTime() - t0) / 1e9};
    }

    /**
     * {@code bulkpoll} over IPv4 and IPv6 in turn on one pair of polled kernels: the main thread
     * does all the work, so the figures measure the CPU cost per byte without thread hand-offs.
     */
    private static void bulkPolled46(int mtu, long bytes, int rounds) throws Exception {
        JvmHost ha = JvmHost.builder().name("bulkpoll46-a").polled().build();
        JvmHost hb = JvmHost.builder().name("bulkpoll46-b").polled().build();
        Pair p = pair(mtu, "bulkpoll46", false, ha, hb);
        p.a().addAddress("bench-bulkpoll46", A6, 64);
        p.b().addAddress("bench-bulkpoll46", B6, 64);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!(assigned(p.a(), A6) && assigned(p.b(), B6))) { // duplicate address detection runs on polls
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("duplicate address detection did not end in 10 s");
            }
            ha.poll();
            hb.poll();
            Thread.sleep(1);
        }
        double[][] gbps = new double[2][rounds];
        int port = 5200;
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < 2; k++) {
                int v = (r + k) % 2;
                long retransmittedBefore = p.a().stats().get("tcp.out.retransmitted");
                int[] fds = polledConnect(p, ha, hb, port++, v == 0 ? Sockets.AF_INET : Sockets.AF_INET6);
                double[] res = pump(p, ha, hb, fds, bytes);
                gbps[v][r] = res[0] * 8 / res[1] / 1e9;
                System.out.printf("mode=bulkpoll46 family=%s round=%d mtu=%d bytes=%d received=%d seconds=%.3f gbit_per_s=%.3f retransmitted=%d%n",
                        v == 0 ? "ipv4" : "ipv6", r + 1, mtu, bytes, (long) res[0], res[1], gbps[v][r],
                        p.a().stats().get("tcp.out.retransmitted") - retransmittedBefore);
                p.a().sockets().close(fds[0]);
                p.b().sockets().close(fds[1]);
                p.b().sockets().close(fds[2]);
                for (int i = 0; i < 100; i++) { // let the closes finish
                    ha.poll();
                    hb.poll();
                }
            }
        }
        double m4 = medianAfterWarmUp(gbps[0]);
        double m6 = medianAfterWarmUp(gbps[1]);
        System.out.printf("mode=bulkpoll46 summary mtu=%d rounds=%d ipv4_median_gbit_per_s=%.3f ipv6_median_gbit_per_s=%.3f ipv6_to_ipv4=%.3f round_ratio_median=%.3f%n",
                mtu, rounds, m4, m6, m6 / m4, roundRatioMedian(gbps));
        System.out.println("mode=bulkpoll46 drops a=" + drops(p.a()) + " b=" + drops(p.b()));
        p.close().close();
    }

    private static boolean assigned(NetStack s, Ipv6Address ip6) throws ErrnoException {
        for (Interface i : s.interfaces()) {
            for (AddressAutoconfig.Address a : i.ipv6Addresses()) {
                if (a.address().equals(ip6) && a.assigned()) {
                    return true;
                }
            }
        }
        return false;
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
