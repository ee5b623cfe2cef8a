package io.jrump.cli;

import io.jrump.host.sim.SimLink;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code rump net}: two kernels with network stacks, a at 198.18.0.1 and b at 198.18.0.2, on
 * one Ethernet segment of the JVM host or of the simulation host (bench, ping, stat); or one
 * kernel on a Linux TAP device, talking to the Linux kernel (serve, fetch, send, sink).
 */
@Command(name = "net", mixinStandardHelpOptions = true,
        description = "Run the TCP/IP stack between two kernels (bench, ping, stat) or on a TAP device (serve, fetch, send, sink).",
        subcommands = {NetCommand.Bench.class, NetCommand.Ping.class, NetCommand.Stat.class, TapCommands.Serve.class,
            TapCommands.Fetch.class, TapCommands.Send.class, TapCommands.Sink.class,
            TapCommands.Resolve.class},
        footer = {"", "bench, ping, stat: kernel a is 198.18.0.1/24 and kernel b 198.18.0.2/24 (with -6 also 2001:db8::1/64 and",
            "2001:db8::2/64, which they then use), on one switch (--host jvm),",
            "a simulated link (--host sim, a pure function of --seed: output and trace are the same for a seed), or",
            "two virtio-net devices of one segment outside the process (--host virtio --nic-a DEV --nic-b DEV).",
            "serve, fetch, send, sink: one kernel on the Linux host, on TAP device --tap (or on the virtio host, on the"
                + " virtio-net device --nic vhost-user:PATH) with address --addr."})
final class NetCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "say which: bench, ping or stat");
    }

    private static void trace(PrintWriter out, NetPair p) {
        if (p.simulated()) {
            out.println("trace " + p.world.traceHex());
        }
    }

    /** {@code rump net bench}: bulk TCP from a to b. */
    @Command(name = "bench", mixinStandardHelpOptions = true, description = "Send bulk TCP from kernel a to kernel b and measure it.",
            footer = {"", "--loss, --reorder and --dup need --host sim and apply to the link in both directions.",
                "On --host sim the seconds are simulated time."})
    static final class Bench implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        NetOptions net;

        @Option(names = "--bytes", paramLabel = "SIZE", description = "How much to send (default: 1G on jvm, 64M on sim).")
        String bytes;

        @Option(names = "--loss", description = "Probability a frame is lost (sim only).")
        Double loss;

        @Option(names = "--reorder", description = "Probability a frame is delayed past later ones (sim only).")
        Double reorder;

        @Option(names = "--dup", description = "Probability a frame is duplicated (sim only).")
        Double dup;

        @Option(names = "--nodelay", description = "Set TCP_NODELAY on both sockets.")
        boolean nodelay;

        @Override
        public Integer call() throws Exception {
            CommandLine cl = spec.commandLine();
            net.validate(cl);
            for (Double p : new Double[] {loss, reorder, dup}) {
                if (p != null && !net.sim()) {
                    throw new ParameterException(cl, "--loss, --reorder and --dup need --host sim");
                }
                if (p != null && !(p >= 0 && p < 1)) {
                    throw new ParameterException(cl, "a probability is 0 <= P < 1, not " + p);
                }
            }
            long n = NetOptions.size(cl, "--bytes", bytes != null ? bytes : net.sim() ? "64M" : "1G", 1, 1L << 40);
            PrintWriter out = cl.getOut();
            long seed = 42;
            byte[] sourceHash = NetPair.Pattern.sha256(seed, n);
            try (NetPair p = net.boot()) {
                out.printf("rump net bench: %s of TCP from a (%s) to b (%s), mtu %d, %s%s%n",
                        Sizes.human(n), p.addressA(), p.addressB(), net.mtu, p.describe(), nodelay ? ", TCP_NODELAY" : "");
                if (p.simulated()) {
                    SimLink link = p.link();
                    link.setLoss(loss == null ? 0 : loss);
                    link.setReorder(reorder == null ? 0 : reorder);
                    link.setDuplicate(dup == null ? 0 : dup);
                }
                int[] fds = p.connect(5001, nodelay);
                NetPair.Sha256Sink sink = new NetPair.Sha256Sink();
                long start = p.nanos();
                long got = p.pump(p.a.sockets(), fds[0], p.b.sockets(), fds[1], new NetPair.Pattern(seed, n), sink);
                long nanos = p.nanos() - start;
                p.b.sockets().close(fds[1]);
                p.a.sockets().close(fds[0]);
                boolean intact = got == n && Arrays.equals(sourceHash, sink.digest());
                out.printf(Locale.ROOT, "bytes:           %d%n", got);
                // On the sim host the clock is virtual: the figures say what the simulated link did,
                // not how fast this machine ran it.
                String clock = p.simulated() ? " (virtual time)" : "";
                out.printf(Locale.ROOT, "seconds:         %.3f%s%n", nanos / 1e9, clock);
                out.printf(Locale.ROOT, "throughput:      %.3f Gbit/s%s%n", NetPair.gbits(got, nanos), clock);
                out.printf(Locale.ROOT, "retransmissions: %d (%d fast)%n", p.a.stats().get("tcp.out.retransmitted"),
                        p.a.stats().get("tcp.fast_retransmit"));
                if (p.simulated()) {
                    SimLink link = p.link();
                    out.printf("link:            %d frames delivered, %d lost, %d duplicated%n", link.delivered(),
                            link.dropped(SimLink.Drop.LOSS), link.duplicated());
                }
                out.println("intact:          " + (intact ? "yes" : "no"));
                trace(out, p);
                return intact ? 0 : 1;
            }
        }
    }

    /** {@code rump net ping}: ICMP echo from a to b through a ping socket. */
    @Command(name = "ping", mixinStandardHelpOptions = true, description = "Ping kernel b from kernel a (ICMP echo through a ping socket).",
            footer = {"", "On --host sim the times are simulated time."})
    static final class Ping implements Callable<Integer> {
        private static final long TIMEOUT_NANOS = 2_000_000_000L;

        @Spec
        CommandSpec spec;

        @Mixin
        NetOptions net;

        @Option(names = {"-c", "--count"}, defaultValue = "4", description = "Echo requests to send (default: ${DEFAULT-VALUE}).")
        int count;

        @Option(names = {"-s", "--size"}, defaultValue = "56", description = "Data bytes per request (default: ${DEFAULT-VALUE}).")
        int size;

        @Option(names = {"-i", "--interval"}, defaultValue = "1", description = "Seconds between requests (default: ${DEFAULT-VALUE}).")
        double interval;

        @Override
        public Integer call() throws Exception {
            CommandLine cl = spec.commandLine();
            net.validate(cl);
            if (count < 1 || count > 100_000) {
                throw new ParameterException(cl, "--count must be 1..100000, not " + count);
            }
            int maxSize = net.ipv6 ? 65527 - 8 : 65507 - 8;
            if (size < 0 || size > maxSize) {
                throw new ParameterException(cl, "--size must be 0.." + maxSize + ", not " + size);
            }
            if (!(interval >= 0 && interval <= 60)) {
                throw new ParameterException(cl, "--interval must be 0..60 seconds, not " + interval);
            }
            PrintWriter out = cl.getOut();
            try (NetPair p = net.boot()) {
                if (p.ipv6()) { // as ping prints it for IPv6: the 40-byte header and 8 of ICMPv6
                    out.printf("PING %s(%s) %d data bytes%n", p.addressB(), p.addressB(), size);
                } else {
                    out.printf("PING %s (%s) %d(%d) bytes of data.%n", NetPair.B, NetPair.B, size, size + 28);
                }
                out.flush();
                Result r = ping(p, out, count, size, (long) (interval * 1e9));
                trace(out, p);
                return r.received == 0 ? 1 : 0;
            }
        }

        record Result(int sent, int received) {
        }

        static Result ping(NetPair p, PrintWriter out, int count, int size, long intervalNanos) throws Exception {
            Sockets s = p.a.sockets();
            boolean v6 = p.ipv6();
            int fd = v6 ? s.socket(Sockets.AF_INET6, Sockets.SOCK_DGRAM, Sockets.IPPROTO_ICMPV6)
                    : s.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, Sockets.IPPROTO_ICMP);
            byte requestType = (byte) (v6 ? 128 : 8);
            byte replyType = (byte) (v6 ? 129 : 0);
            if (!p.simulated()) {
                s.setNonBlocking(fd, true);
            }
            double[] rtts = new double[count];
            int received = 0;
            long first = p.nanos();
            long last = first;
            for (int seq = 1; seq <= count; seq++) {
                if (seq > 1) {
                    p.pause(intervalNanos);
                }
                byte[] echo = new byte[8 + size];
                echo[0] = requestType;
                echo[6] = (byte) (seq >> 8);
                echo[7] = (byte) seq;
                for (int i = 8; i < echo.length; i++) {
                    echo[i] = (byte) (i + seq);
                }
                long sent = p.nanos();
                s.sendto(fd, ByteBuffer.wrap(echo), new Sockets.SocketAddress(p.addressB(), 0), 0);
                ByteBuffer reply = ByteBuffer.allocate(echo.length + 64);
                Sockets.Received r = receive(p, s, fd, reply, sent);
                long now = p.nanos();
                last = now;
                if (r == null) {
                    out.printf("no reply to icmp_seq=%d within %d s%n", seq, TIMEOUT_NANOS / 1_000_000_000L);
                    continue;
                }
                byte[] got = Arrays.copyOf(reply.array(), r.length());
                int gotSeq = ((got[6] & 0xff) << 8) | (got[7] & 0xff);
                boolean same = r.length() == echo.length && got[0] == replyType
                        && Arrays.equals(got, 8, got.length, echo, 8, echo.length);
                if (gotSeq != (seq & 0xffff) || !same) {
                    out.printf("%d bytes from %s: icmp_seq=%d (wrong reply: type %d, seq %d)%n", r.length(),
                            r.from().address(), seq, got[0] & 0xff, gotSeq);
                    continue;
                }
                rtts[received++] = (now - sent) / 1e6;
                out.printf(Locale.ROOT, "%d bytes from %s: icmp_seq=%d time=%.3f ms%n", r.length(), r.from().address(),
                        seq, rtts[received - 1]);
                out.flush();
            }
            s.close(fd);
            out.printf("%n--- %s ping statistics ---%n", p.addressB());
            out.printf(Locale.ROOT, "%d packets transmitted, %d received, %d%% packet loss, time %dms%n", count,
                    received, (count - received) * 100 / count, (last - first) / 1_000_000);
            if (received > 0) {
                double min = Double.MAX_VALUE;
                double max = 0;
                double sum = 0;
                double sq = 0;
                for (int i = 0; i < received; i++) {
                    min = Math.min(min, rtts[i]);
                    max = Math.max(max, rtts[i]);
                    sum += rtts[i];
                    sq += rtts[i] * rtts[i];
                }
                double avg = sum / received;
                double mdev = Math.sqrt(Math.max(0, sq / received - avg * avg));
                out.printf(Locale.ROOT, "rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms%n", min, avg, max, mdev);
            }
            return new Result(count, received);
        }

        /** The reply, or null after the timeout. On the simulation host a blocking recvfrom runs the world. */
        private static Sockets.Received receive(NetPair p, Sockets s, int fd, ByteBuffer reply, long sent)
                throws Exception {
            if (p.simulated()) {
                return s.recvfrom(fd, reply, 0);
            }
            while (p.nanos() - sent < TIMEOUT_NANOS) {
                try {
                    return s.recvfrom(fd, reply, 0);
                } catch (io.jrump.hypercall.ErrnoException e) {
                    if (e.errno() != io.jrump.hypercall.Errno.EAGAIN) {
                        throw e;
                    }
                    Thread.onSpinWait();
                    if (p.nanos() - sent > 1_000_000) {
                        Thread.sleep(0, 50_000);
                    }
                }
            }
            return null;
        }
    }

    /** {@code rump net stat}: a short exchange, then each stack's counters. */
    @Command(name = "stat", mixinStandardHelpOptions = true, description = "Run a ping, a UDP datagram and a small TCP transfer; print both stacks' counters.")
    static final class Stat implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        NetOptions net;

        @Override
        public Integer call() throws Exception {
            CommandLine cl = spec.commandLine();
            net.validate(cl);
            PrintWriter out = cl.getOut();
            try (NetPair p = net.boot()) {
                out.printf("rump net stat: a ping, a UDP datagram and 256.0K of TCP from a to b, %s%n", p.describe());
                out.printf("a: %s%nb: %s%n", p.a.interfaces(), p.b.interfaces());
                Ping.ping(p, new PrintWriter(java.io.Writer.nullWriter()), 1, 56, 0);
                Sockets sa = p.a.sockets();
                Sockets sb = p.b.sockets();
                int server = sb.socket(p.domain(), Sockets.SOCK_DGRAM, 0);
                sb.bind(server, new Sockets.SocketAddress(io.jrump.net.IpAddress.unspecified(p.ipv6() ? 6 : 4), 9));
                int client = sa.socket(p.domain(), Sockets.SOCK_DGRAM, 0);
                sa.sendto(client, ByteBuffer.wrap("rump".getBytes(java.nio.charset.StandardCharsets.US_ASCII)),
                        new Sockets.SocketAddress(p.addressB(), 9), 0);
                sb.recvfrom(server, ByteBuffer.allocate(64), 0);
                sa.close(client);
                sb.close(server);
                int[] fds = p.connect(5001, false);
                NetPair.Sha256Sink sink = new NetPair.Sha256Sink();
                p.pump(sa, fds[0], sb, fds[1], new NetPair.Pattern(1, 256 << 10), sink);
                // Per connection, as ss -tin shows it: windows, timers with their backoff, probes,
                // replies to unacceptable segments and drops by reason.
                out.printf("%nTCP connections, before closing:%n");
                for (NetStack stack : List.of(p.a, p.b)) {
                    for (io.jrump.net.stack.TcpInfo c : stack.tcpConnections()) {
                        out.printf("  %s %s%n", stack == p.a ? "a" : "b", c);
                    }
                }
                sb.close(fds[1]);
                sa.close(fds[0]);
                if (p.ipv6()) { // as ip -6 neigh shows them
                    out.printf("%nIPv6 neighbours:%n  a %s%n  b %s%n", p.a.neighbors(p.nicA), p.b.neighbors(p.nicB));
                }
                print(out, "a (" + p.addressA() + ")", p.a);
                print(out, "b (" + p.addressB() + ")", p.b);
                trace(out, p);
                return 0;
            }
        }

        private static void print(PrintWriter out, String name, NetStack stack) {
            Map<String, Long> counters = stack.stats().snapshot();
            long drops = counters.entrySet().stream().filter(e -> e.getKey().contains(".drop."))
                    .mapToLong(Map.Entry::getValue).sum();
            out.printf("%nkernel %s: %d counters, %d drops%n", name, counters.size(), drops);
            counters.forEach((k, v) -> out.printf("  %-32s %12d%n", k, v));
        }
    }
}
