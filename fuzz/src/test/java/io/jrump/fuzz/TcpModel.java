package io.jrump.fuzz;

import io.jrump.host.sim.SimLink;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A model-based TCP test with the applications in the loop, on the simulation host: two stacks on
 * one link with loss, reordering, duplication, delay and partitions, and one to three connections
 * between them whose four applications (a writer and a reader at each end) behave at random —
 * writes and reads of random sizes, readers that stall for a while or stop and resume, half-closes,
 * closes, aborts (SO_LINGER 0), small and large SO_RCVBUF and SO_SNDBUF. Everything is
 * non-blocking and single-threaded on virtual time, so a run is a pure function of its choices.
 *
 * <p>Checked after every step, against the applications' own calls (not the stack's state):
 * <ul>
 *   <li>every byte a reader gets is the next byte its peer's writer sent — exactly once, in
 *       order; after a graceful close the reader gets all of it, then the end of the stream;</li>
 *   <li>liveness: no direction goes {@link #STALL_NANOS} of virtual time without delivering a
 *       byte while its writer has bytes outstanding, its reader is reading and the link is up
 *       (the bound covers the retransmission and persist timers' 120 s cap);</li>
 *   <li>no storm: no second of virtual time carries more than {@link #MAX_FRAMES_WITHOUT_PROGRESS}
 *       frames while no connection moves;</li>
 *   <li>every connection ends: once the applications are done, both stacks hold no connection
 *       within ten virtual minutes (TIME_WAIT is one).</li>
 * </ul>
 * A violation throws an {@link AssertionError} that names the seed and both stacks' connections.
 */
final class TcpModel implements AutoCloseable {
    /** Where the model's random choices come from: a seeded generator, or Jazzer's input. */
    interface Choices {
        /** A number in {@code [0, bound)}. */
        int pick(int bound);
    }

    static final long MS = 1_000_000L;
    static final long STALL_NANOS = 150_000 * MS;
    static final int MAX_FRAMES_WITHOUT_PROGRESS = 400;
    static final Ipv4Address A = Ipv4Address.parse("198.18.0.1");
    static final Ipv4Address B = Ipv4Address.parse("198.18.0.2");

    private final long seed;
    private final Choices choose;
    private final SimWorld world;
    /** Both ends' kernels, closed with the model: a running kernel keeps its connections' pooled buffers. */
    private final List<RumpKernel> kernels = new java.util.ArrayList<>();
    private final SimLink link;
    private final NetStack a = new NetStack();
    private final NetStack b = new NetStack();
    private final List<Connection> connections = new ArrayList<>();
    private long partitionEnds = -1;
    private long linkUpSince;
    private long secondStart;
    private long framesAtSecondStart;
    private long progressAtSecondStart;

    TcpModel(long seed, Choices choose) throws ErrnoException {
        this.seed = seed;
        this.choose = choose;
        world = new SimWorld(seed);
        boot(a, "a", A);
        boot(b, "b", B);
        link = world.link("lan");
        link.setDelay((1 + choose.pick(20)) * 100_000L, choose.pick(4) * 100_000L);
        link.setLoss(choose.pick(6) / 100.0);
        link.setReorder(choose.pick(11) / 100.0);
        link.setDuplicate(choose.pick(3) / 100.0);
    }

    private void boot(NetStack stack, String name, Ipv4Address address) throws ErrnoException {
        kernels.add(RumpKernel.boot(world.newHost(name), BootOptions.defaults().withName(name).withComponentInstances(List.of(stack))));
        stack.addInterface("lan", NicOptions.mtu(choose.pick(2) == 0 ? 1500 : 9000));
        stack.addAddress("lan", address, 24);
    }

    @Override
    public void close() {
        kernels.forEach(RumpKernel::close);
    }

    /** Runs the model to the end: connections opened, applications run to completion, all closed. */
    void run() throws ErrnoException {
        int n = 1 + choose.pick(3);
        for (int i = 0; i < n; i++) {
            connections.add(open(5000 + i));
        }
        long deadline = world.now() + 3_600_000 * MS; // an hour of virtual time: far beyond any stall bound
        linkUpSince = world.now();
        secondStart = world.now();
        while (!allDone()) {
            if (world.now() > deadline) {
                throw failure("the applications did not finish within an hour of virtual time");
            }
            step();
        }
        for (Connection c : connections) {
            c.checkComplete();
        }
        if (partitionEnds >= 0) {
            link.heal();
        }
        if (!world.runUntil(() -> count(a) == 0 && count(b) == 0, java.time.Duration.ofMinutes(10))) {
            throw failure("connections still open ten virtual minutes after the applications closed them");
        }
        if (!world.failures().isEmpty()) {
            throw failure("a task threw: " + world.failures());
        }
    }

    private static int count(NetStack s) {
        try {
            return s.tcpConnections().size();
        } catch (ErrnoException e) {
            throw new AssertionError(e);
        }
    }

    private Connection open(int port) throws ErrnoException {
        Sockets sa = a.sockets();
        Sockets sb = b.sockets();
        int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        bufferSizes(sb, listener);
        sb.bind(listener, new Sockets.SocketAddress(Ipv4Address.ANY, port));
        sb.listen(listener, 4);
        int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        bufferSizes(sa, client);
        if (choose.pick(2) == 0) {
            sa.setsockopt(client, Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, 1);
        }
        sa.connect(client, new Sockets.SocketAddress(B, port)); // blocking: runs the world until connected
        int server = sb.accept(listener);
        sb.close(listener);
        Connection c = new Connection(port);
        c.ends[0] = new End(c, "a:" + port, sa, client, 2 * port);
        c.ends[1] = new End(c, "b:" + port, sb, server, 2 * port + 1);
        c.ends[0].peer = c.ends[1];
        c.ends[1].peer = c.ends[0];
        if (choose.pick(3) == 0) {
            // An echo server, as people write one: recv, then send it all back before the next recv.
            // Its sending waits on the client's reading and its reading on its own sending: the
            // coupling that deadlocked with a zero window.
            c.ends[1].echo = true;
            c.ends[1].key = c.ends[0].key;
        }
        return c;
    }

    private void bufferSizes(Sockets s, int fd) throws ErrnoException {
        int[] sizes = {0, 2048, 8192, 65536, 1 << 20};
        int rcv = sizes[choose.pick(sizes.length)];
        int snd = sizes[choose.pick(sizes.length)];
        if (rcv > 0) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, rcv);
        }
        if (snd > 0) {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_SNDBUF, snd);
        }
    }

    private boolean allDone() {
        for (Connection c : connections) {
            if (!c.ends[0].closed || !c.ends[1].closed) {
                return false;
            }
        }
        return true;
    }

    private void step() throws ErrnoException {
        world.runFor(100_000L * (1 + choose.pick(50))); // 0.1 to 5 ms between the applications' steps
        long now = world.now();
        // The link: now and then a partition of up to 30 s, always healed.
        if (partitionEnds >= 0 && now >= partitionEnds) {
            link.heal();
            partitionEnds = -1;
            linkUpSince = now;
        } else if (partitionEnds < 0 && choose.pick(2000) == 0) {
            link.partition(Set.of("a"));
            partitionEnds = now + MS * (100 + choose.pick(30_000));
        }
        for (Connection c : connections) {
            for (End e : c.ends) {
                e.act(now);
            }
        }
        checkLiveness(now);
    }

    private long progress() {
        long p = 0;
        for (Connection c : connections) {
            p += c.ends[0].delivered + c.ends[1].delivered + c.ends[0].written + c.ends[1].written;
        }
        return p;
    }

    private void checkLiveness(long now) {
        for (Connection c : connections) {
            for (End reader : c.ends) {
                End writer = reader.peer;
                boolean wants = !c.aborted && writer.written > reader.delivered && reader.reading(now)
                        && partitionEnds < 0;
                if (!wants || reader.delivered != reader.deliveredAtWatch) {
                    reader.watchSince = now;
                    reader.deliveredAtWatch = reader.delivered;
                } else if (now - Math.max(reader.watchSince, linkUpSince) > STALL_NANOS) {
                    throw failure(reader.name + " stalled: its writer has " + (writer.written - reader.delivered)
                            + " bytes outstanding and it has been reading for "
                            + (now - Math.max(reader.watchSince, linkUpSince)) / MS + " ms with the link up");
                }
            }
        }
        if (now - secondStart >= 1000 * MS) {
            long frames = link.delivered() + link.dropped();
            long p = progress();
            if (p == progressAtSecondStart && frames - framesAtSecondStart > MAX_FRAMES_WITHOUT_PROGRESS) {
                throw failure((frames - framesAtSecondStart) + " frames in one second without progress: a storm");
            }
            secondStart = now;
            framesAtSecondStart = frames;
            progressAtSecondStart = p;
        }
    }

    AssertionError failure(String what) {
        StringBuilder s = new StringBuilder("TCP model, seed " + seed + ", at " + world.now() / MS + " ms: " + what
                + "\n  replay: mvn -pl fuzz -am verify -Dtest=TcpModelTest -Djrump.tcp.seed=" + seed
                + " -Dsurefire.failIfNoSpecifiedTests=false\n");
        s.append(a.tcpReport("  a ")).append(b.tcpReport("  b "));
        for (Connection c : connections) {
            for (End e : c.ends) {
                s.append("  app ").append(e).append('\n');
            }
        }
        return new AssertionError(s.toString());
    }

    /** Byte {@code i} of the stream with key {@code k}: every direction of every run has its own. */
    static byte pattern(long k, long i) {
        long x = (k * 0x9E3779B97F4A7C15L) ^ (i * 0xBF58476D1CE4E5B9L);
        x ^= x >>> 29;
        return (byte) (x ^ (x >>> 17));
    }

    private final class Connection {
        final int port;
        final End[] ends = new End[2];
        boolean aborted;

        Connection(int port) {
            this.port = port;
        }

        void checkComplete() {
            if (aborted) {
                return;
            }
            for (End e : ends) {
                if (!e.eof || e.delivered != e.peer.written) {
                    throw failure(e.name + " got " + e.delivered + " bytes and " + (e.eof ? "" : "no ")
                            + "end of stream; its peer wrote " + e.peer.written);
                }
            }
        }
    }

    /** One end's two applications: a writer of its stream and a reader of the peer's. */
    private final class End {
        final Connection conn;
        final String name;
        final Sockets s;
        final int fd;
        long key;
        boolean echo; // writes back what it reads, and reads only when all of that is written
        End peer;
        final long total;
        long written;
        long delivered;
        boolean writeDone;
        boolean eof;
        boolean closed;
        long stalledUntil;
        long watchSince;
        long deliveredAtWatch;
        final ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        final byte[] out = new byte[64 * 1024];

        End(Connection conn, String name, Sockets s, int fd, long key) throws ErrnoException {
            this.conn = conn;
            this.name = name;
            this.s = s;
            this.fd = fd;
            this.key = key;
            long[] totals = {0, 1, 1000, 100_000, 300_000, 300_000, 2_000_000};
            this.total = totals[choose.pick(totals.length)] + choose.pick(5000);
            s.setNonBlocking(fd, true);
        }

        boolean reading(long now) {
            return !closed && now >= stalledUntil;
        }

        void act(long now) throws ErrnoException {
            if (closed) {
                return;
            }
            if (conn.aborted) {
                // The peer reset the connection (or is about to: its RST may be lost, and a reader
                // alone would never find out). What arrived so far was checked; close this end too.
                s.close(fd);
                closed = true;
                return;
            }
            if (choose.pick(400) == 0) {
                abort();
                return;
            }
            write();
            read(now);
            if (writeDone && eof) {
                s.close(fd);
                closed = true;
            }
        }

        private void abort() throws ErrnoException {
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_LINGER, 0);
            s.close(fd);
            closed = true;
            conn.aborted = true;
        }

        private long toWrite() {
            return echo ? delivered : total;
        }

        private void write() throws ErrnoException {
            if (writeDone || conn.aborted) {
                return;
            }
            int n = (int) Math.min(toWrite() - written, 1 + choose.pick(choose.pick(2) == 0 ? 100 : out.length));
            for (int i = 0; i < n; i++) {
                out[i] = pattern(key, written + i);
            }
            if (n > 0) {
                try {
                    written += s.send(fd, ByteBuffer.wrap(out, 0, n), 0);
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EAGAIN) {
                        throw failure(name + " send: " + e);
                    }
                }
            }
            if (written == toWrite() && (!echo || eof)) {
                writeDone = true;
                if (choose.pick(2) == 0) {
                    s.shutdown(fd, Sockets.SHUT_WR);
                } else {
                    s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_LINGER, 1 + choose.pick(5));
                    s.shutdown(fd, Sockets.SHUT_WR);
                }
            }
        }

        private void read(long now) throws ErrnoException {
            if (eof || now < stalledUntil || echo && written < delivered) {
                return;
            }
            int what = choose.pick(100);
            if (what < 3) {
                stalledUntil = now + MS * (1 + choose.pick(what == 0 ? 60_000 : 2000)); // a reader that stops a while
                return;
            }
            int max = 1 + choose.pick(choose.pick(2) == 0 ? 512 : buf.capacity());
            buf.clear().limit(max);
            int n;
            try {
                n = s.recv(fd, buf, Sockets.MSG_DONTWAIT).length();
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EAGAIN) {
                    return;
                }
                if (e.errno() == Errno.ECONNRESET && conn.aborted) {
                    eof = true;
                    writeDone = true;
                    return;
                }
                throw failure(name + " recv: " + e);
            }
            if (n == 0) {
                eof = true;
                return;
            }
            for (int i = 0; i < n; i++) {
                if (buf.get(i) != pattern(peer.key, delivered + i)) {
                    throw failure(name + " byte " + (delivered + i) + " of the stream is wrong (duplicated, lost"
                            + " or out of order)");
                }
            }
            delivered += n;
            if (delivered > peer.written) {
                throw failure(name + " got " + delivered + " bytes; its peer wrote " + peer.written);
            }
        }

        @Override
        public String toString() {
            return String.format("%s wrote %d/%d%s, read %d%s%s%s", name, written, total, writeDone ? " (done)" : "",
                    delivered, eof ? " (end)" : "", stalledUntil > world.now() ? " (stalled)" : "",
                    closed ? " (closed)" : "");
        }
    }
}
