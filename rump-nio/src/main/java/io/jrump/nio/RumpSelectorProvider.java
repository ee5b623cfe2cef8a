package io.jrump.nio;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.dns.DnsConfig;
import io.jrump.net.dns.DnsResolver;
import io.jrump.net.dns.DnsServer;
import io.jrump.net.stack.Ipv6Options;
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
import java.net.InetAddress;
import java.net.ProtocolFamily;
import java.net.UnknownHostException;
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
 *   <li>{@code jrump.nio.addr}: the interface's addresses and prefixes, comma-separated, IPv4 or
 *       IPv6: {@code 198.18.0.2/24,2001:db8::2/64}; {@code jrump.nio.slaac}: {@code true} for IPv6
 *       addresses, routers and DNS servers from router advertisements;
 *       {@code jrump.nio.gateway}: default routes (IPv4 or IPv6, comma-separated); {@code jrump.nio.mtu} (1500);
 *       {@code jrump.nio.offloads}: {@code all} or {@code none} (default); {@code jrump.nio.dns}: DNS
 *       servers for {@link #lookup};</li>
 * </ul>
 * With no NIC the stack has only its loopback, 127.0.0.1 and ::1. Channels opened without a protocol
 * family are dual-stack (IPv6 sockets that reach IPv4 peers too), as the JDK's. Not supported:
 * {@link #openPipe()} and Unix-domain channels ({@link UnsupportedOperationException}), multicast,
 * {@link #inheritedChannel()} (null). Thread-safe.
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
    public static final String SLAAC = "jrump.nio.slaac";
    public static final String DNS = "jrump.nio.dns";

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
                boolean slaac = Boolean.parseBoolean(str(p, SLAAC));
                if (addr == null && !slaac) {
                    throw new IllegalArgumentException(ADDR + " is not set: the interface " + nic + " needs an address"
                            + " (or " + SLAAC + "=true)");
                }
                if (slaac) {
                    net.enableIpv6(nic, Ipv6Options.slaacDefaults());
                }
                for (String a : addr == null ? new String[0] : addr.split(",")) {
                    String[] parts = a.strip().split("/", 2);
                    IpAddress ip = IpAddress.parse(parts[0]);
                    int prefix = parts.length > 1 ? Integer.parseInt(parts[1]) : ip.version() == 6 ? 64 : 24;
                    if (ip instanceof Ipv6Address v6) {
                        net.addAddress(nic, v6, prefix);
                    } else {
                        net.addAddress(nic, (Ipv4Address) ip, prefix);
                    }
                }
                String gw = str(p, GATEWAY);
                for (String g : gw == null ? new String[0] : gw.split(",")) {
                    IpAddress ip = IpAddress.parse(g.strip());
                    if (ip instanceof Ipv6Address v6) {
                        net.addDefaultRoute(nic, v6);
                    } else {
                        net.addDefaultRoute((Ipv4Address) ip);
                    }
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

    /**
     * The addresses of {@code name} looked up through this stack, in the order to try them (RFC
     * 6724 destination selection: {@link NetStack#sortDestinations}): an address literal as it is;
     * otherwise A and AAAA records asked of the servers in the {@code jrump.nio.dns} system
     * property (comma-separated), else of the servers the network gave (DHCP, RDNSS, DHCPv6:
     * {@link NetStack#resolver()}). What the JDK's {@code InetAddress.getByName} cannot do here: it
     * asks the host's resolver, outside this stack.
     *
     * @throws UnknownHostException if the name has no address, no server is known, or the lookup fails
     */
    public List<InetAddress> lookup(String name) throws UnknownHostException {
        Objects.requireNonNull(name, "name");
        try {
            List<IpAddress> found = new ArrayList<>();
            try {
                found.add(IpAddress.parse(name));
            } catch (IllegalArgumentException notALiteral) {
                for (InetAddress a : resolver().resolve(name).get()) {
                    found.add(IpAddress.of(a));
                }
            }
            List<InetAddress> out = new ArrayList<>();
            for (IpAddress a : stack.sortDestinations(found)) {
                out.add(a.toInetAddress());
            }
            return out;
        } catch (ErrnoException e) {
            throw unknown(name, e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw unknown(name, e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unknown(name, e);
        }
    }

    private DnsResolver resolver() throws ErrnoException {
        String configured = System.getProperty(DNS);
        if (configured == null || configured.isBlank()) {
            return stack.resolver();
        }
        List<DnsServer> servers = new ArrayList<>();
        for (String s : configured.split(",")) {
            servers.add(new DnsServer(IpAddress.parse(s.strip()).toInetAddress(), DnsServer.PORT));
        }
        return stack.resolver(DnsConfig.of(servers));
    }

    private static UnknownHostException unknown(String name, Throwable cause) {
        UnknownHostException e = new UnknownHostException(name + ": " + cause.getMessage());
        e.initCause(cause);
        return e;
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
