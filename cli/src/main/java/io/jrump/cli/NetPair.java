package io.jrump.cli;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.host.sim.SimLink;
import io.jrump.host.sim.SimWorld;
import io.jrump.host.virtio.VirtioHost;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.pcap.PcapWriter;
import io.jrump.net.stack.Interface;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import io.jrump.net.socket.Readiness;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Two kernels, a and b, each with a network stack on one Ethernet segment ({@value #NIC}):
 * a at {@code 198.18.0.1/24}, b at {@code 198.18.0.2/24}, on the JVM host's in-process switch
 * or on a simulated link. Optionally captures a's interface to a pcap file.
 *
 * <p>On the JVM host the stacks run on their own threads and {@link #pump} uses a sender thread;
 * on the simulation host everything runs on the calling thread (a blocking socket call runs the
 * simulation), so the pump alternates bounded sends and receives. Not thread-safe itself.
 */
final class NetPair implements AutoCloseable {
    static final String NIC = "net0";
    static final Ipv4Address A = Ipv4Address.parse("198.18.0.1");
    static final Ipv4Address B = Ipv4Address.parse("198.18.0.2");
    static final Ipv6Address A6 = Ipv6Address.parse("2001:db8::1");
    static final Ipv6Address B6 = Ipv6Address.parse("2001:db8::2");
    private static final int SIM_CHUNK = 64 * 1024;
    private static final int JVM_CHUNK = 1024 * 1024;

    final String hostKind;
    final SimWorld world;
    final RumpKernel kernelA;
    final RumpKernel kernelB;
    final NetStack a = new NetStack();
    final NetStack b = new NetStack();
    private FileChannel pcapChannel;
    private PcapWriter pcap;
    /** Whether a and b talk IPv6 (2001:db8::1 and ::2) rather than IPv4. */
    private boolean ipv6;

    /** The interface names a and b open: {@value #NIC} on a shared segment, or each its own virtio device. */
    final String nicA;
    final String nicB;

    private NetPair(String hostKind, SimWorld world, Hypercalls hostA, Hypercalls hostB, int mtu) throws ErrnoException {
        this(hostKind, world, hostA, hostB, NIC, NIC, mtu);
    }

    private NetPair(String hostKind, SimWorld world, Hypercalls hostA, Hypercalls hostB, String nicA, String nicB, int mtu)
            throws ErrnoException {
        this.hostKind = hostKind;
        this.world = world;
        this.nicA = nicA;
        this.nicB = nicB;
        RumpKernel ka = null;
        RumpKernel kb = null;
        try {
            ka = RumpKernel.boot(hostA, BootOptions.defaults().withName("a").withComponentInstances(List.of(a)));
            kb = RumpKernel.boot(hostB, BootOptions.defaults().withName("b").withComponentInstances(List.of(b)));
            // On virtio devices the stacks take every offload the device grants (checksums, TSO, large receive).
            NicOptions nic = hostKind.equals("virtio") ? NicOptions.mtu(mtu).withOffloads(NicOffload.ALL) : NicOptions.mtu(mtu);
            a.addInterface(nicA, nic);
            b.addInterface(nicB, nic);
        } catch (ErrnoException | RuntimeException e) {
            if (kb != null) {
                kb.close();
            }
            if (ka != null) {
                ka.close();
            }
            throw e;
        }
        kernelA = ka;
        kernelB = kb;
    }

    /** Boots the pair on {@code host} ("jvm" or "sim"); {@code seed} is for sim only. */
    static NetPair boot(String host, long seed, int mtu) throws ErrnoException {
        if (host.equals("sim")) {
            SimWorld world = new SimWorld(seed);
            return new NetPair(host, world, world.newHost("a"), world.newHost("b"), mtu);
        }
        SwitchRegistry switches = new SwitchRegistry();
        return new NetPair(host, null, JvmHost.builder().name("a").switches(switches).build(),
                JvmHost.builder().name("b").switches(switches).build(), mtu);
    }

    /**
     * Boots the pair on two virtio hosts, a on the virtio-net device {@code nicA}, b on
     * {@code nicB}: two ports of one segment outside this process (a vhost-user switch or wire).
     */
    static NetPair bootVirtio(String nicA, String nicB, int mtu) throws ErrnoException {
        VirtioHost hostA = VirtioHost.create("a");
        VirtioHost hostB = VirtioHost.create("b");
        try {
            return new NetPair("virtio", null, hostA, hostB, nicA, nicB, mtu);
        } catch (ErrnoException | RuntimeException e) {
            hostA.close(); // what RumpKernel.boot did not take over
            hostB.close();
            throw e;
        }
    }

    boolean simulated() {
        return world != null;
    }

    SimLink link() {
        return world.link(NIC);
    }

    /** Starts capturing a's interface into {@code file} (created or truncated). Before addresses, to see the ARP. */
    void capture(Path file) throws IOException {
        pcapChannel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        pcap = PcapWriter.open(pcapChannel);
        a.capture(nicA, pcap);
    }

    /** Gives a and b their addresses. */
    void configure() throws ErrnoException {
        a.addAddress(nicA, A, 24);
        b.addAddress(nicB, B, 24);
    }

    /**
     * Gives a and b their IPv6 addresses too, 2001:db8::1/64 and ::2/64, and makes them the ones
     * the commands use; returns once duplicate address detection has passed on both (a second or
     * two: of virtual time on the simulation host).
     */
    void configureIpv6() throws Exception {
        a.addAddress(nicA, A6, 64);
        b.addAddress(nicB, B6, 64);
        ipv6 = true;
        long deadline = nanos() + 10_000_000_000L;
        while (!assigned(a, A6) || !assigned(b, B6)) {
            if (nanos() > deadline) {
                throw new ErrnoException(Errno.ETIMEDOUT, "IPv6 addresses not through duplicate address detection in 10 s");
            }
            pause(50_000_000L);
        }
    }

    private static boolean assigned(NetStack s, Ipv6Address address) throws ErrnoException {
        for (Interface i : s.interfaces()) {
            for (AddressAutoconfig.Address x : i.ipv6Addresses()) {
                if (x.address().equals(address)) {
                    if (x.state() == AddressAutoconfig.AddressState.DUPLICATE) {
                        throw new ErrnoException(Errno.EADDRINUSE, address + " is in use on the link (duplicate address detection)");
                    }
                    return x.assigned();
                }
            }
        }
        return false;
    }

    boolean ipv6() {
        return ipv6;
    }

    /** The address of a the commands use: 198.18.0.1, or 2001:db8::1 with -6. */
    IpAddress addressA() {
        return ipv6 ? A6 : A;
    }

    /** The address of b the commands use: 198.18.0.2, or 2001:db8::2 with -6. */
    IpAddress addressB() {
        return ipv6 ? B6 : B;
    }

    /** The socket domain for the address family in use. */
    int domain() {
        return ipv6 ? Sockets.AF_INET6 : Sockets.AF_INET;
    }

    /** The host's clock, as the kernels see it: virtual time on the simulation host. */
    long nanos() {
        return kernelA.host().clock().monotonicNanos();
    }

    /** Waits {@code nanos}: runs the simulation for that long, or sleeps. */
    void pause(long nanos) throws InterruptedException {
        if (simulated()) {
            world.runFor(nanos);
        } else if (nanos > 0) {
            Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
        }
    }

    /** A TCP connection from a to b's {@code port}: {client fd on a, server fd on b}. */
    int[] connect(int port, boolean noDelay) throws ErrnoException {
        Sockets sb = b.sockets();
        int listener = sb.socket(domain(), Sockets.SOCK_STREAM, 0);
        sb.setsockopt(listener, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, 1);
        sb.bind(listener, new Sockets.SocketAddress(IpAddress.unspecified(ipv6 ? 6 : 4), port));
        sb.listen(listener, 4);
        Sockets sa = a.sockets();
        int client = sa.socket(domain(), Sockets.SOCK_STREAM, 0);
        if (noDelay) {
            sa.setsockopt(client, Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, 1);
            sb.setsockopt(listener, Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, 1);
        }
        sa.connect(client, new Sockets.SocketAddress(addressB(), port));
        int server = sb.accept(listener);
        sb.close(listener);
        return new int[] {client, server};
    }

    /** Where the bytes of a stream come from: the next chunk (at most {@code max} bytes), or null at the end. */
    interface Source {
        ByteBuffer next(int max) throws IOException;
    }

    /** Where the bytes of a stream go, as they arrive; {@code end} at the end of the stream. */
    interface Sink {
        void accept(ByteBuffer bytes) throws IOException;

        void end() throws IOException;
    }

    /**
     * Sends everything {@code source} gives from {@code fromFd} on {@code from}, then shuts the
     * sending side; receives on {@code toFd} of {@code to} into {@code sink} until the end of the
     * stream. Returns the bytes received.
     */
    long pump(Sockets from, int fromFd, Sockets to, int toFd, Source source, Sink sink) throws Exception {
        try {
            return simulated() ? pumpInTurns(from, fromFd, to, toFd, source, sink)
                    : pumpWithThread(from, fromFd, to, toFd, source, sink);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EDEADLK && simulated()) {
                // The simulation stalled: show where each connection stood, as ss -tin would.
                throw new ErrnoException(Errno.EDEADLK, e.detail() + "; connections:\n  a " + String.join(
                        "\n  a ", a.tcpConnections().stream().map(Object::toString).toList()) + "\n  b "
                        + String.join("\n  b ", b.tcpConnections().stream().map(Object::toString).toList()), e);
            }
            throw e;
        }
    }

    /**
     * One thread, both ends: fills a's send buffer without blocking, then blocks in one recv on
     * b (which runs the simulation until bytes arrive), and again; so the window stays full and a
     * lost segment is repaired by fast retransmit rather than waiting for a timeout.
     */
    private static long pumpInTurns(Sockets from, int fromFd, Sockets to, int toFd, Source source, Sink sink)
            throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(SIM_CHUNK);
        ByteBuffer pending = null;
        boolean sourceDone = false;
        long sent = 0;
        long got = 0;
        while (true) {
            while (!sourceDone) {
                if (pending == null || !pending.hasRemaining()) {
                    pending = source.next(SIM_CHUNK);
                    if (pending == null) {
                        sourceDone = true;
                        from.shutdown(fromFd, Sockets.SHUT_WR);
                        break;
                    }
                }
                try {
                    // Nothing on its way to b: a recv now would wait for bytes nobody will send, so
                    // block in send instead until a's buffer has room (the ACKs are still crossing).
                    sent += from.send(fromFd, pending, got == sent ? 0 : Sockets.MSG_DONTWAIT);
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EAGAIN) {
                        throw e;
                    }
                    break;
                }
            }
            long n;
            try {
                n = receiveOnce(to, toFd, buf, sink);
            } catch (ErrnoException e) {
                throw new ErrnoException(e.errno(), "after " + got + " of " + sent + " bytes sent"
                        + (sourceDone ? ", all" : "") + ": " + e.detail(), e);
            }
            if (n < 0) {
                if (!sourceDone || got < sent) {
                    throw new IOException("the stream ended after " + got + " of " + sent + " bytes sent");
                }
                return got;
            }
            got += n;
        }
    }

    private static long pumpWithThread(Sockets from, int fromFd, Sockets to, int toFd, Source source, Sink sink)
            throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread sender = new Thread(() -> {
            try {
                Waker w = new Waker(from, fromFd);
                for (ByteBuffer c = source.next(JVM_CHUNK); c != null; c = source.next(JVM_CHUNK)) {
                    while (c.hasRemaining()) {
                        long seen = w.version();
                        try {
                            from.send(fromFd, c, Sockets.MSG_DONTWAIT);
                        } catch (ErrnoException e) {
                            if (e.errno() != Errno.EAGAIN) {
                                throw e;
                            }
                            w.await(seen, Readiness.POLLOUT);
                        }
                    }
                }
                from.shutdown(fromFd, Sockets.SHUT_WR);
            } catch (Throwable t) {
                failure.set(t);
                try {
                    from.close(fromFd); // so that the receiver sees the stream end
                } catch (ErrnoException ignored) {
                    // already closed: the receiver will see that too
                }
            }
        }, "rump-sender");
        sender.setDaemon(true);
        sender.start();
        ByteBuffer buf = ByteBuffer.allocate(JVM_CHUNK);
        long got = 0;
        Waker w = new Waker(to, toFd);
        try {
            while (true) {
                long seen = w.version();
                long n;
                try {
                    n = receiveOnce(to, toFd, buf, sink, Sockets.MSG_DONTWAIT);
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EAGAIN) {
                        throw e;
                    }
                    w.await(seen, Readiness.POLLIN);
                    continue;
                }
                if (n < 0) {
                    break;
                }
                got += n;
            }
        } catch (Exception | Error e) {
            // Reset the connection, so that a sender waiting for window space fails now.
            try {
                to.close(toFd);
            } catch (ErrnoException alreadyClosed) {
                e.addSuppressed(alreadyClosed);
            }
            throw e;
        } finally {
            sender.join(10_000);
        }
        if (failure.get() instanceof Exception e) {
            throw e;
        } else if (failure.get() != null) {
            throw new IllegalStateException("sender failed", failure.get());
        }
        return got;
    }

    /** One recv into the sink: the bytes it got, or -1 at the end of the stream (after telling the sink). */
    private static long receiveOnce(Sockets to, int fd, ByteBuffer buf, Sink sink) throws IOException {
        return receiveOnce(to, fd, buf, sink, 0);
    }

    private static long receiveOnce(Sockets to, int fd, ByteBuffer buf, Sink sink, int flags) throws IOException {
        buf.clear();
        int n = to.recv(fd, buf, flags).length();
        if (n == 0) {
            sink.end();
            return -1;
        }
        buf.flip();
        sink.accept(buf);
        return n;
    }

    /**
     * Waits for a socket's readiness to change without a blocking socket call: the pump on the
     * JVM host uses non-blocking calls and this, because a blocking send that has to wait more
     * than once trips a ConcurrentModificationException in rump-net's Readiness (a waiter's
     * continuation registers a new waiter while the list is being walked). The listener runs on
     * the stack's event loop and only bumps a counter; waits are bounded to 1 ms, so a missed
     * edge costs a retry, not a hang.
     */
    static final class Waker {
        private final Sockets sockets;
        private final int fd;
        private long version;

        Waker(Sockets sockets, int fd) throws ErrnoException {
            this.sockets = sockets;
            this.fd = fd;
            sockets.watch(fd, events -> {
                synchronized (this) {
                    version++;
                    notifyAll();
                }
            });
        }

        synchronized long version() {
            return version;
        }

        /** Waits until the readiness changed since {@code seen}, or {@code wanted} is there, or 1 ms passed. */
        void await(long seen, int wanted) throws ErrnoException {
            if (sockets.poll(fd, wanted) != 0) {
                return;
            }
            synchronized (this) {
                if (version == seen) {
                    try {
                        wait(1);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new ErrnoException(Errno.EINTR, "interrupted waiting on socket " + fd);
                    }
                }
            }
        }
    }

    /**
     * {@code length} deterministic bytes from {@code seed}: a 1 MiB pseudo-random block, repeated
     * with each repetition's first 8 bytes replaced by its index, so no two MiB are alike.
     */
    static final class Pattern implements Source {
        private static final int BLOCK = 1 << 20;
        private final byte[] block = new byte[BLOCK];
        private final long length;
        private long offset;

        Pattern(long seed, long length) {
            SplittableRandom r = new SplittableRandom(seed);
            for (int i = 0; i < BLOCK; i += 8) {
                long v = r.nextLong();
                for (int j = 0; j < 8; j++) {
                    block[i + j] = (byte) (v >>> (8 * j));
                }
            }
            this.length = length;
        }

        @Override
        public ByteBuffer next(int max) {
            if (offset == length) {
                return null;
            }
            int at = (int) (offset % BLOCK);
            if (at == 0) {
                ByteBuffer.wrap(block, 0, 8).putLong(offset / BLOCK);
            }
            int n = (int) Math.min(Math.min(max, BLOCK - at), length - offset);
            offset += n;
            return ByteBuffer.wrap(block, at, n).slice(); // a slice: the caller may not look past it
        }

        /** The SHA-256 of all {@code length} bytes, computed without sending them. */
        static byte[] sha256(long seed, long length) {
            Sha256Sink s = new Sha256Sink();
            Pattern p = new Pattern(seed, length);
            for (ByteBuffer c = p.next(BLOCK); c != null; c = p.next(BLOCK)) {
                s.accept(c);
            }
            return s.digest();
        }
    }

    /** Counts and hashes what arrives. */
    static class Sha256Sink implements Sink {
        private final java.security.MessageDigest sha;
        long count;

        Sha256Sink() {
            try {
                sha = java.security.MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException("every JDK has SHA-256", e);
            }
        }

        @Override
        public void accept(ByteBuffer bytes) {
            count += bytes.remaining();
            sha.update(bytes);
        }

        @Override
        public void end() {
        }

        byte[] digest() {
            return sha.digest();
        }
    }

    static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }

    /** Gbit/s for {@code bytes} in {@code nanos}. */
    static double gbits(long bytes, long nanos) {
        return nanos <= 0 ? 0 : bytes * 8.0 / nanos;
    }

    @Override
    public void close() throws IOException {
        try {
            if (pcap != null) {
                try {
                    a.capture(nicA, null);
                } catch (ErrnoException ignored) {
                    // the stack is gone already: nothing more will be written
                }
            }
            kernelB.close();
            kernelA.close();
        } finally {
            if (pcapChannel != null) {
                pcapChannel.close();
            }
        }
    }

    /** "jvm" or "sim, seed N" for headlines. */
    String describe() {
        return (simulated() ? "host sim, seed " + world.seed() : "host " + hostKind) + (ipv6 ? ", IPv6" : "");
    }

    static Duration seconds(double s) {
        return Duration.ofNanos((long) (s * 1e9));
    }
}
