package io.jrump.bench.net;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.pcap.PcapWriter;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import io.jrump.net.stack.Sockets.SocketAddress;
import io.jrump.net.stack.TcpInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A soak of the TCP stack with real threads: two kernels on the JVM host's switch, N connections
 * at once, each carrying data both ways, and four application threads per connection (a writer
 * and a reader at each end) that behave at random — writes and reads of random sizes, pauses,
 * readers that stop for a while, small and large SO_SNDBUF/SO_RCVBUF — then half-close and close.
 * Both ends hash what they sent and what they got (SHA-256), and every direction must agree.
 *
 * <p>A watchdog checks every second that bytes still move; after {@link #STALL_SECONDS} without
 * progress it fails with both stacks' connections ({@link TcpInfo}: windows, timers, probes,
 * drops), their counters, and a pcap of the last frames on the switch (headers only, kept in a
 * ring) written next to the report.
 *
 * <p>{@code java -cp bench/target/benchmarks.jar io.jrump.bench.net.TcpSoak CONNECTIONS BYTES SEED}
 * runs the long version (docs/performance.md); the build runs a short one (TcpSoakTest).
 */
public final class TcpSoak {
    static final int STALL_SECONDS = 15;
    static final int RING_BYTES = 32 << 20;

    private final int connections;
    private final long bytesPerDirection;
    private final long seed;
    private final Path reportDir;
    private final AtomicLong progress = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    /** What a soak did, for the report. */
    public record Result(int connections, long bytes, double seconds) {
        @Override
        public String toString() {
            return String.format("soak connections=%d bytes=%d seconds=%.2f gbit_per_s=%.3f", connections, bytes,
                    seconds, bytes * 8 / seconds / 1e9);
        }
    }

    public TcpSoak(int connections, long totalBytes, long seed, Path reportDir) {
        this.connections = connections;
        this.bytesPerDirection = totalBytes / (2L * connections);
        this.seed = seed;
        this.reportDir = reportDir;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: TcpSoak CONNECTIONS BYTES SEED");
            System.exit(2);
        }
        // A stall's pcap goes to the temporary directory, not into whatever tree the soak ran from.
        System.out.println(new TcpSoak(Integer.parseInt(args[0]), Long.parseLong(args[1]), Long.parseLong(args[2]),
                Path.of(System.getProperty("java.io.tmpdir"))).run());
    }

    /** Runs the soak; throws an AssertionError with the diagnostics on a stall or a wrong hash. */
    public Result run() throws Exception {
        SwitchRegistry sw = new SwitchRegistry();
        NetStack a = new NetStack();
        NetStack b = new NetStack();
        PcapRing ring = new PcapRing(RING_BYTES);
        long started = System.nanoTime();
        try (RumpKernel ka = RumpKernel.boot(JvmHost.builder().name("soak-a").switches(sw).build(),
                BootOptions.defaults().withName("a").withComponentInstances(List.of(a)));
             RumpKernel kb = RumpKernel.boot(JvmHost.builder().name("soak-b").switches(sw).build(),
                BootOptions.defaults().withName("b").withComponentInstances(List.of(b)));
             PcapWriter pcap = PcapWriter.open(ring, 96)) {
            a.addInterface("sw0", NicOptions.mtu(1500));
            b.addInterface("sw0", NicOptions.mtu(1500));
            a.addAddress("sw0", Ipv4Address.parse("198.18.0.1"), 24);
            b.addAddress("sw0", Ipv4Address.parse("198.18.0.2"), 24);
            a.capture("sw0", pcap);
            Sockets sa = a.sockets();
            Sockets sb = b.sockets();
            int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            sb.bind(listener, new SocketAddress(Ipv4Address.ANY, 7000));
            sb.listen(listener, connections);
            SplittableRandom random = new SplittableRandom(seed);
            List<Thread> threads = new ArrayList<>();
            List<Direction> directions = new ArrayList<>();
            for (int i = 0; i < connections; i++) {
                int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
                buffers(sa, client, random);
                sa.connect(client, new SocketAddress(Ipv4Address.parse("198.18.0.2"), 7000));
                int server = sb.accept(listener);
                buffers(sb, server, random);
                End ca = new End("a" + i, sa, client);
                End cb = new End("b" + i, sb, server);
                if (random.nextBoolean()) {
                    // An echo server as people write one: recv, then send it all back before the next
                    // recv. Its sending waits on the client's reading and its reading on its sending:
                    // the coupling that deadlocked (issue 12). The client's stream comes back to it.
                    Direction echo = new Direction(ca, ca, random.split());
                    directions.add(echo);
                    threads.addAll(echo.start());
                    threads.add(echo.thread(cb.name + "-echo", () -> echo(cb)));
                } else {
                    Direction up = new Direction(ca, cb, random.split());
                    Direction down = new Direction(cb, ca, random.split());
                    directions.add(up);
                    directions.add(down);
                    threads.addAll(up.start());
                    threads.addAll(down.start());
                }
            }
            watch(threads, a, b, ring);
            if (failure.get() != null) {
                throw new AssertionError("soak seed " + seed + ": " + failure.get() + "\n" + report(a, b, ring),
                        failure.get());
            }
            for (Direction d : directions) {
                if (!Arrays.equals(d.sentHash, d.receivedHash) || d.received != bytesPerDirection) {
                    throw new AssertionError("soak seed " + seed + ": " + d.from.name + " -> " + d.to.name + " sent "
                            + bytesPerDirection + " bytes, SHA-256 " + hex(d.sentHash) + "; received " + d.received
                            + ", SHA-256 " + hex(d.receivedHash) + "\n" + report(a, b, ring));
                }
            }
            sb.close(listener);
        }
        return new Result(connections, 2L * connections * bytesPerDirection, (System.nanoTime() - started) / 1e9);
    }

    /** The echo end: reads up to 64 KiB, writes it all back, until the end of the stream; then closes. */
    private void echo(End e) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        while (e.s.recv(e.fd, buf.clear(), 0).length() > 0) {
            buf.flip();
            while (buf.hasRemaining()) {
                e.s.send(e.fd, buf, 0);
            }
        }
        e.s.close(e.fd);
    }

    private static void buffers(Sockets s, int fd, SplittableRandom r) throws ErrnoException {
        int[] sizes = {0, 4096, 16384, 131072, 1 << 20};
        int rcv = sizes[r.nextInt(sizes.length)];
        int snd = sizes[r.nextInt(sizes.length)];
        if (rcv > 0) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, rcv);
        }
        if (snd > 0) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, snd);
        }
    }

    private void watch(List<Thread> threads, NetStack a, NetStack b, PcapRing ring) throws Exception {
        long last = -1;
        int still = 0;
        while (threads.stream().anyMatch(Thread::isAlive) && failure.get() == null) {
            Thread.sleep(1000);
            long now = progress.get();
            still = now == last ? still + 1 : 0;
            last = now;
            if (still >= STALL_SECONDS) {
                throw new AssertionError("soak seed " + seed + ": no byte moved for " + STALL_SECONDS + " s\n"
                        + report(a, b, ring));
            }
        }
        for (Thread t : threads) {
            t.join(10_000);
        }
    }

    private String report(NetStack a, NetStack b, PcapRing ring) {
        StringBuilder s = new StringBuilder(a.tcpReport("  a ")).append(b.tcpReport("  b "));
        try {
            Path file = reportDir.resolve("soak-" + seed + "-last-frames.pcap");
            ring.writeTo(file);
            s.append("  the last frames on the switch (headers): ").append(file.toAbsolutePath()).append('\n');
        } catch (IOException e) {
            s.append("  (no pcap: ").append(e).append(")\n");
        }
        return s.toString();
    }

    private static String hex(byte[] b) {
        return b == null ? "-" : HexFormat.of().formatHex(b);
    }

    /** One end of a connection: its socket, closed once its writer is done and its reader saw the end. */
    private static final class End {
        final String name;
        final Sockets s;
        final int fd;
        int done;

        End(String name, Sockets s, int fd) {
            this.name = name;
            this.s = s;
            this.fd = fd;
        }

        synchronized void finished() throws ErrnoException {
            if (++done == 2) {
                s.close(fd);
            }
        }
    }

    /** One direction of a connection: a writer at one end, a reader at the other, random both. */
    private final class Direction {
        final End from;
        final End to;
        final SplittableRandom writerRandom;
        final SplittableRandom readerRandom;
        byte[] sentHash;
        byte[] receivedHash;
        long received;

        Direction(End from, End to, SplittableRandom r) {
            this.from = from;
            this.to = to;
            this.writerRandom = r.split();
            this.readerRandom = r.split();
        }

        List<Thread> start() {
            return List.of(thread(from.name + "-writer", this::write), thread(to.name + "-reader", this::read));
        }

        Thread thread(String name, Body body) {
            Thread t = new Thread(() -> {
                try {
                    body.run();
                } catch (Throwable e) {
                    failure.compareAndSet(null, new AssertionError(name + ": " + e, e));
                }
            }, name);
            t.setDaemon(true);
            t.start();
            return t;
        }

        private void write() throws Exception {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] chunk = new byte[256 * 1024];
            long sent = 0;
            while (sent < bytesPerDirection) {
                int n = (int) Math.min(bytesPerDirection - sent,
                        1 + writerRandom.nextInt(writerRandom.nextBoolean() ? 1500 : chunk.length));
                writerRandom.nextBytes(chunk);
                sha.update(chunk, 0, n);
                ByteBuffer b = ByteBuffer.wrap(chunk, 0, n);
                while (b.hasRemaining()) {
                    from.s.send(from.fd, b, 0);
                }
                sent += n;
                progress.addAndGet(n);
                if (writerRandom.nextInt(50) == 0) {
                    Thread.sleep(writerRandom.nextInt(20));
                }
            }
            sentHash = sha.digest();
            from.s.shutdown(from.fd, Sockets.SHUT_WR);
            from.finished();
        }

        private void read() throws Exception {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
            while (true) {
                buf.clear().limit(1 + readerRandom.nextInt(readerRandom.nextBoolean() ? 2000 : buf.capacity()));
                int n = to.s.recv(to.fd, buf, 0).length();
                if (n == 0) {
                    break;
                }
                sha.update(buf.array(), 0, n);
                received += n;
                progress.addAndGet(n);
                if (readerRandom.nextInt(100) == 0) {
                    Thread.sleep(readerRandom.nextInt(readerRandom.nextInt(10) == 0 ? 2000 : 50)); // a reader that stops
                }
            }
            receivedHash = sha.digest();
            to.finished();
        }
    }

    @FunctionalInterface
    private interface Body {
        void run() throws Exception;
    }

    /**
     * A pcap sink that keeps the file header and the newest records up to a byte budget: "the last
     * seconds" of a capture, for a report. PcapWriter writes each record in one call. Thread-safe.
     */
    static final class PcapRing implements WritableByteChannel {
        private final int budget;
        private byte[] header;
        private final ArrayDeque<byte[]> records = new ArrayDeque<>();
        private long held;

        PcapRing(int budget) {
            this.budget = budget;
        }

        @Override
        public synchronized int write(ByteBuffer src) {
            byte[] b = new byte[src.remaining()];
            src.get(b);
            if (header == null) {
                header = b;
                return b.length;
            }
            records.add(b);
            held += b.length;
            while (held > budget) {
                held -= records.poll().length;
            }
            return b.length;
        }

        synchronized void writeTo(Path file) throws IOException {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                if (header != null) {
                    ch.write(ByteBuffer.wrap(header));
                }
                for (byte[] r : records) {
                    ch.write(ByteBuffer.wrap(r));
                }
            }
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }
}
