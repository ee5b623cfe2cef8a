package io.jrump.bench.net;

import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.dhcp.DhcpClient;
import io.jrump.net.dhcp.DhcpMessage;
import io.jrump.net.dhcp.DhcpMessageType;
import io.jrump.net.dhcp.DhcpOptions;
import io.jrump.net.dhcp.DhcpPacket;
import io.jrump.net.stack.DhcpSession;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import io.jrump.net.stack.Sockets.SocketAddress;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * "DHCP bound to the first usable address within 50 ms of virtual time on the sim host": for
 * each seed, a new simulated world with two kernels on one link; B runs a small DHCP server on its
 * UDP port 67 (OFFER and ACK for the first address of its pool, at once), A calls
 * {@link NetStack#startDhcp(String, DhcpSession.Options)} on its interface. Reports the virtual
 * time from startDhcp to BOUND (min, median, p99, max over the seeds) and the wall time per run (from
 * startDhcp to BOUND, kernels already booted), with and without the RFC 5227 probe.
 *
 * <p>{@code java -cp bench/target/benchmarks.jar io.jrump.bench.net.DhcpBench SEEDS ONE_WAY_DELAY_MICROS}
 */
public final class DhcpBench {
    static final Ipv4Address SERVER = Ipv4Address.parse("198.18.0.1");
    static final Ipv4Address FIRST = Ipv4Address.parse("198.18.0.100");

    /** One run's figures. */
    record Run(long virtualNanos, long wallNanos) {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: DhcpBench SEEDS ONE_WAY_DELAY_MICROS");
            System.exit(2);
        }
        int seeds = Integer.parseInt(args[0]);
        long delay = Long.parseLong(args[1]) * 1000;
        for (boolean probe : new boolean[] {false, true}) {
            for (int i = 0; i < 50; i++) { // warm-up: the JIT, not the figures
                run(1_000_000 + i, delay, probe);
            }
            long[] virtual = new long[seeds];
            long[] wall = new long[seeds];
            for (int seed = 1; seed <= seeds; seed++) {
                Run r = run(seed, delay, probe);
                virtual[seed - 1] = r.virtualNanos();
                wall[seed - 1] = r.wallNanos();
            }
            System.out.println(summary(probe ? "with the RFC 5227 probe" : "probe off", seeds, delay, virtual, wall));
        }
    }

    static String summary(String what, int seeds, long delay, long[] virtual, long[] wall) {
        Arrays.sort(virtual);
        Arrays.sort(wall);
        return String.format("dhcp %s seeds=%d one_way_delay_us=%d virtual_ms min=%.3f median=%.3f p99=%.3f max=%.3f"
                + " wall_ms_per_run median=%.3f p99=%.3f max=%.3f", what, seeds, delay / 1000,
                ms(virtual[0]), ms(pct(virtual, 50)), ms(pct(virtual, 99)), ms(virtual[virtual.length - 1]),
                ms(pct(wall, 50)), ms(pct(wall, 99)), ms(wall[wall.length - 1]));
    }

    private static long pct(long[] sorted, int p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    /** One world: boot A and B, start DHCP on A, serve DISCOVER and REQUEST, run until BOUND. */
    static Run run(long seed, long oneWayDelayNanos, boolean probe) throws ErrnoException {
        SimWorld world = new SimWorld(seed);
        world.link("lan").setDelay(oneWayDelayNanos, 0);
        NetStack a = boot(world.newHost("a"), null);
        NetStack b = boot(world.newHost("b"), SERVER);
        Server server = new Server(b.sockets());
        long t0 = world.now();
        long wall0 = System.nanoTime();
        DhcpSession session = a.startDhcp("lan", DhcpSession.Options.DEFAULTS.withConflictProbe(probe));
        server.serve(); // DISCOVER
        server.serve(); // REQUEST
        boolean bound = world.runUntil(() -> {
            try {
                return session.state() == DhcpClient.State.BOUND;
            } catch (ErrnoException e) {
                throw new IllegalStateException(e);
            }
        }, Duration.ofSeconds(60));
        long wall = System.nanoTime() - wall0;
        if (!bound || !FIRST.equals(session.lease().address())) {
            throw new IllegalStateException("seed " + seed + ": not bound to " + FIRST + ": " + session.state());
        }
        return new Run(world.now() - t0, wall);
    }

    private static NetStack boot(SimHost host, Ipv4Address address) throws ErrnoException {
        NetStack stack = new NetStack();
        RumpKernel.boot(host, BootOptions.defaults().withComponentInstances(List.of(stack)));
        stack.addInterface("lan", NicOptions.mtu(1500));
        if (address != null) {
            stack.addAddress("lan", address, 24);
        }
        return stack;
    }

    /** A DHCP server on UDP port 67: OFFER and ACK for {@link #FIRST}, sent as soon as the message arrives. */
    static final class Server {
        private final Sockets s;
        private final int fd;
        private final ByteBuffer buf = ByteBuffer.allocate(2048);

        Server(Sockets s) throws ErrnoException {
            this.s = s;
            fd = s.socket(Sockets.AF_INET, Sockets.SOCK_DGRAM, 0);
            s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_BROADCAST, 1);
            s.bind(fd, new SocketAddress(Ipv4Address.ANY, 67));
        }

        /** Waits (in virtual time) for the next message and answers it. */
        void serve() throws ErrnoException {
            buf.clear();
            Sockets.Received r = s.recvfrom(fd, buf, 0);
            DhcpMessage m = DhcpMessage.parse(Unpooled.wrappedBuffer(buf.array(), 0, r.length()));
            DhcpMessageType type = m.type() == DhcpMessageType.DISCOVER ? DhcpMessageType.OFFER : DhcpMessageType.ACK;
            DhcpOptions o = DhcpOptions.builder(type).serverId(SERVER).leaseSeconds(3600L)
                    .subnetMask(Ipv4Address.parse("255.255.255.0")).routers(List.of(SERVER)).build();
            DhcpMessage reply = new DhcpMessage(DhcpPacket.BOOTREPLY, 0, m.xid(), 0, m.broadcast(), Ipv4Address.ANY,
                    FIRST, SERVER, Ipv4Address.ANY, m.chaddr(), o);
            ByteBuf bytes = reply.toByteBuf();
            byte[] out = new byte[bytes.readableBytes()];
            bytes.getBytes(bytes.readerIndex(), out);
            s.sendto(fd, ByteBuffer.wrap(out), new SocketAddress(Ipv4Address.BROADCAST, 68), 0);
        }
    }
}
