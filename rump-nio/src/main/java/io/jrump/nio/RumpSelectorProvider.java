package io.jrump.nio;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import io.jrump.nio.internal.Loop;
import io.jrump.nio.internal.RumpDatagramChannel;
import io.jrump.nio.internal.RumpSelector;
import io.jrump.nio.internal.RumpServerSocketChannel;
import io.jrump.nio.internal.RumpSocketChannel;
import io.jrump.nio.internal.Stack;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ProtocolFamily;
import java.net.StandardProtocolFamily;
import java.nio.channels.Channel;
import java.nio.channels.DatagramChannel;
import java.nio.channels.Pipe;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.AbstractSelector;
import java.nio.channels.spi.SelectorProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;

/**
 * A {@link SelectorProvider} whose channels and selectors live on one jrump kernel's TCP/IP stack:
 * {@link SocketChannel}, {@link ServerSocketChannel}, {@link DatagramChannel} (IPv4) and selectors, with
 * the JDK's semantics and exceptions, and {@code socket()} adaptors.
 *
 * <p>In a program: {@code new RumpSelectorProvider(kernel)}, then {@code provider.openSocketChannel()}
 * and so on. For a whole unmodified program: start the JVM with
 * {@code -Djava.nio.channels.spi.SelectorProvider=io.jrump.nio.RumpSelectorProvider}; the JDK then makes
 * one with the no-argument constructor, which boots a kernel as these system properties say:
 * <ul>
 *   <li>{@code jrump.nio.host}: {@code jvm} (default) or {@code linux}, found through
 *       {@link HostProvider} on the class path;</li>
 *   <li>{@code jrump.nio.tap}: a TAP interface name (implies {@code linux}); or {@code jrump.nio.nic}, any
 *       NIC name the host opens ({@code sw0}, {@code tap:tap0});</li>
 *   <li>{@code jrump.nio.addr}: the interface's address and prefix, {@code 198.18.0.2/24};
 *       {@code jrump.nio.gateway}: a default route; {@code jrump.nio.mtu} (1500);
 *       {@code jrump.nio.offloads}: {@code all} or {@code none} (default);</li>
 * </ul>
 * With no NIC the stack has only its loopback, 127.0.0.1. Not supported: {@link #openPipe()}, IPv6 and
 * Unix-domain channels ({@link UnsupportedOperationException}), multicast, {@link #inheritedChannel()}
 * (null). Thread-safe.
 */
public final class RumpSelectorProvider extends SelectorProvider {
    /** The system properties the no-argument constructor reads. */
    public static final String HOST = "jrump.nio.host";
    public static final String TAP = "jrump.nio.tap";
    public static final String NIC = "jrump.nio.nic";
    public static final String ADDR = "jrump.nio.addr";
    public static final String GATEWAY = "jrump.nio.gateway";
    public static final String MTU = "jrump.nio.mtu";
    public static final String OFFLOADS = "jrump.nio.offloads";

    private final RumpKernel kernel;
    private final NetStack stack;
    private final Stack shared;

    /** Channels on the stack of {@code kernel}, which must run a {@link NetStack}. The kernel stays the caller's. */
    public RumpSelectorProvider(RumpKernel kernel) {
        this(kernel, kernel.component(NetStack.class)
                .orElseThrow(() -> new IllegalArgumentException("kernel " + kernel.name() + " runs no NetStack")));
    }

    /** Channels on {@code stack}, running in {@code kernel}. */
    public RumpSelectorProvider(RumpKernel kernel, NetStack stack) {
        this.kernel = Objects.requireNonNull(kernel);
        this.stack = Objects.requireNonNull(stack);
        Hypercalls host = kernel.host();
        this.shared = new Stack(this, stack.sockets(), new Loop(host.scheduler(), host.clock(),
                () -> kernel.state() == RumpKernel.State.RUNNING));
    }

    /**
     * Whole-JVM mode: boots a kernel with a stack as the {@code jrump.nio.*} system properties say
     * (see above). The kernel lives as long as the JVM.
     *
     * @throws UncheckedIOException if the host cannot be made or the stack configured
     */
    public RumpSelectorProvider() {
        this(bootFromProperties(System.getProperties()));
    }

    private RumpSelectorProvider(Booted b) {
        this(b.kernel, b.stack);
    }

    private record Booted(RumpKernel kernel, NetStack stack) {
    }

    private static Booted bootFromProperties(Map<Object, Object> p) {
        String tap = str(p, TAP);
        String hostName = str(p, HOST);
        if (hostName == null) {
            hostName = tap != null ? "linux" : "jvm";
        }
        if (hostName.equals("tap")) {
            hostName = "linux";
        }
        String nic = str(p, NIC);
        if (nic == null && tap != null) {
            nic = "tap:" + tap;
        }
        Hypercalls host = createHost(hostName, "nio");
        NetStack net = new NetStack();
        try {
            RumpKernel kernel = RumpKernel.boot(host, BootOptions.defaults().withName("nio")
                    .withComponentInstances(List.of(net)));
            if (nic != null) {
                NicOptions options = NicOptions.mtu(Integer.parseInt(strOr(p, MTU, "1500")));
                if ("all".equals(str(p, OFFLOADS))) {
                    options = options.withOffloads(NicOffload.ALL);
                }
                net.addInterface(nic, options);
                String addr = str(p, ADDR);
                if (addr == null) {
                    throw new IllegalArgumentException(ADDR + " is not set: the interface " + nic + " needs an address");
                }
                String[] parts = addr.split("/", 2);
                net.addAddress(nic, Ipv4Address.parse(parts[0]), parts.length > 1 ? Integer.parseInt(parts[1]) : 24);
                String gw = str(p, GATEWAY);
                if (gw != null) {
                    net.addDefaultRoute(Ipv4Address.parse(gw));
                }
            }
            return new Booted(kernel, net);
        } catch (ErrnoException e) {
            host.close();
            throw new UncheckedIOException("jrump.nio: cannot set up the stack (" + HOST + "=" + hostName + ", "
                    + NIC + "=" + nic + ")", e);
        }
    }

    private static String str(Map<Object, Object> p, String key) {
        Object v = p.get(key);
        return v == null || v.toString().isBlank() ? null : v.toString().strip();
    }

    private static String strOr(Map<Object, Object> p, String key, String otherwise) {
        String v = str(p, key);
        return v == null ? otherwise : v;
    }

    /** A host named {@code name} from the {@link HostProvider}s on the class path. */
    private static Hypercalls createHost(String name, String instance) {
        List<String> seen = new ArrayList<>();
        for (HostProvider hp : ServiceLoader.load(HostProvider.class, RumpSelectorProvider.class.getClassLoader())) {
            seen.add(hp.name());
            if (hp.name().equals(name)) {
                hp.unavailableReason().ifPresent(why -> {
                    throw new IllegalStateException("jrump.nio: host " + name + " cannot run here: " + why);
                });
                return hp.createDefault(instance).orElseThrow(() ->
                        new IllegalStateException("jrump.nio: host " + name + " makes no default instance"));
            }
        }
        throw new IllegalStateException("jrump.nio: no host " + name + " on the class path (found " + seen
                + "); put host-jvm, or host-linux for TAP devices, beside rump-nio");
    }

    /** The kernel the channels run on. */
    public RumpKernel kernel() {
        return kernel;
    }

    /** The stack the channels run on. */
    public NetStack stack() {
        return stack;
    }

    @Override
    public DatagramChannel openDatagramChannel() throws IOException {
        return new RumpDatagramChannel(shared, Sockets.AF_INET6);
    }

    @Override
    public DatagramChannel openDatagramChannel(ProtocolFamily family) throws IOException {
        return new RumpDatagramChannel(shared, domain(family));
    }

    @Override
    public Pipe openPipe() {
        throw new UnsupportedOperationException("jrump.nio: pipes are not supported");
    }

    @Override
    public AbstractSelector openSelector() {
        return new RumpSelector(this, shared.loop());
    }

    @Override
    public ServerSocketChannel openServerSocketChannel() throws IOException {
        return new RumpServerSocketChannel(shared, Sockets.AF_INET6);
    }

    @Override
    public SocketChannel openSocketChannel() throws IOException {
        return new RumpSocketChannel(shared, Sockets.AF_INET6);
    }

    @Override
    public SocketChannel openSocketChannel(ProtocolFamily family) throws IOException {
        return new RumpSocketChannel(shared, domain(family));
    }

    @Override
    public ServerSocketChannel openServerSocketChannel(ProtocolFamily family) throws IOException {
        return new RumpServerSocketChannel(shared, domain(family));
    }

    /** INET is an AF_INET socket; INET6 a dual-stack AF_INET6 one (what the no-family methods open, as the JDK's). */
    private static int domain(ProtocolFamily family) {
        Objects.requireNonNull(family);
        if (family == StandardProtocolFamily.INET) {
            return Sockets.AF_INET;
        }
        if (family == StandardProtocolFamily.INET6) {
            return Sockets.AF_INET6;
        }
        throw new UnsupportedOperationException("jrump.nio: protocol family " + family + " (INET and INET6 only)");
    }

    @Override
    public Channel inheritedChannel() {
        return null;
    }

    @Override
    public String toString() {
        return "RumpSelectorProvider[" + kernel.name() + "]";
    }
}
