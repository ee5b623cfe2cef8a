package io.jrump.cli;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.dhcp.DhcpLease;
import io.jrump.net.pcap.PcapWriter;
import io.jrump.net.stack.DhcpSession;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import io.jrump.net.stack.TcpInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * One kernel with a network stack on a Linux TAP device, for the commands that talk to the Linux
 * kernel's own stack: the options they share ({@code --tap}, {@code --addr}, {@code --gw} or
 * {@code --dhcp}, {@code --mtu}, {@code --no-offload}) and the boot. The host is found by name ({@code linux}) through
 * {@link ServiceLoader}, and opens the NIC {@code tap:NAME}.
 */
final class TapKernel implements AutoCloseable {
    static final String HOST = "linux";

    /** The options every TAP command takes. */
    static final class Options {
        @Option(names = "--tap", required = true, paramLabel = "NAME",
                description = "The TAP device: opened if it exists, else created (root or CAP_NET_ADMIN).")
        String tap;

        @Option(names = "--addr", paramLabel = "A.B.C.D/P",
                description = "Our address and prefix on the device (or --dhcp).")
        String addr;

        @Option(names = "--dhcp",
                description = "Get the address, prefix, default gateway and MTU by DHCP (instead of --addr and --gw).")
        boolean dhcp;

        @Option(names = "--dhcp-timeout", defaultValue = "30", paramLabel = "SECONDS",
                description = "With --dhcp, how long to wait for a lease, 1..3600 (default: ${DEFAULT-VALUE}).")
        int dhcpTimeout;

        @Option(names = "--dhcp-lease-file", paramLabel = "FILE",
                description = "With --dhcp, keep the lease (MAC, address, server, expiry) in FILE: an unexpired one is"
                        + " asked for again first (INIT-REBOOT), and the lease is not released on exit.")
        Path dhcpLeaseFile;

        @Option(names = "--gw", paramLabel = "A.B.C.D", description = "Default gateway.")
        String gateway;

        @Option(names = "--pcap", paramLabel = "FILE", description = "Capture the TAP interface into FILE (pcap).")
        Path pcap;

        @Option(names = "--no-offload",
                description = "Open the TAP without IFF_VNET_HDR: no checksum offload, no large segments (TSO/GRO).")
        boolean noOffload;

        @Option(names = "--mtu", defaultValue = "1500", description = "MTU of our interface, 68..65535 (default: ${DEFAULT-VALUE}).")
        int mtu;

        Ipv4Address address;
        int prefix;

        void validate(CommandLine cl) {
            if (tap.isEmpty() || tap.length() > 15 || tap.contains("/") || tap.contains(":")) {
                throw new ParameterException(cl, "--tap: '" + tap + "' is not an interface name (1..15 characters, no '/' or ':')");
            }
            NetOptions.checkRange(cl, "--mtu", mtu, 68, 65535);
            NetOptions.checkRange(cl, "--dhcp-timeout", dhcpTimeout, 1, 3600);
            if (dhcpLeaseFile != null && !dhcp) {
                throw new ParameterException(cl, "--dhcp-lease-file goes with --dhcp");
            }
            if (dhcp) {
                if (addr != null || gateway != null) {
                    throw new ParameterException(cl, "--dhcp gets the address and gateway: give no --addr or --gw with it");
                }
                return;
            }
            if (addr == null) {
                throw new ParameterException(cl, "give --addr A.B.C.D/P or --dhcp");
            }
            int slash = addr.indexOf('/');
            if (slash < 0) {
                throw new ParameterException(cl, "--addr needs a prefix length: " + addr + "/24, say");
            }
            try {
                address = Ipv4Address.parse(addr.substring(0, slash));
                prefix = Integer.parseInt(addr.substring(slash + 1));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(cl, "--addr: " + addr + ": " + e.getMessage());
            }
            if (prefix < 1 || prefix > 32) {
                throw new ParameterException(cl, "--addr: prefix length must be 1..32, not " + prefix);
            }
            if (gateway != null) {
                try {
                    Ipv4Address.parse(gateway);
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(cl, "--gw: " + gateway + ": " + e.getMessage());
                }
            }
        }
    }

    final RumpKernel kernel;
    final NetStack net = new NetStack();
    final String iface;
    private final PrintWriter err;
    private FileChannel pcap;
    private DhcpSession dhcp;
    private final Options options;

    private TapKernel(Hypercalls host, Options o, DhcpLeaseFile remembered, PrintWriter err)
            throws ErrnoException, IOException {
        this.err = err;
        this.options = o;
        kernel = RumpKernel.boot(host, BootOptions.defaults().withName("rump").withComponentInstances(List.of(net)));
        iface = "tap:" + o.tap;
        try {
            // The remembered MAC: the server knows the client by the identifier made from it.
            net.addInterface(iface, new NicOptions(o.mtu, remembered != null ? remembered.mac() : null,
                    o.noOffload ? NicOffload.NONE : NicOffload.ALL));
            if (o.pcap != null) { // before the address, to see the gratuitous ARP
                pcap = FileChannel.open(o.pcap, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING);
                net.capture(iface, PcapWriter.open(pcap));
            }
            if (o.dhcp) {
                DhcpSession.Options start = DhcpSession.Options.DEFAULTS;
                if (remembered != null && remembered.unexpiredAt(Instant.ofEpochSecond(0, host.clock().wallNanos()))) {
                    start = start.withRemembered(remembered.address());
                    err.println("rump: DHCP asks for " + remembered.address() + " again (INIT-REBOOT; "
                            + o.dhcpLeaseFile + ", expires " + (remembered.expires() == null ? "never"
                                    : remembered.expires()) + ")");
                }
                dhcp = net.startDhcp(iface, start);
                DhcpLease lease = awaitLease(o.dhcpTimeout);
                saveLease(lease);
                err.println("rump: DHCP lease " + lease.address() + "/" + lease.prefixLength() + " from "
                        + lease.server() + (lease.routers().isEmpty() ? "" : " router " + lease.routers().get(0))
                        + (lease.mtu() == 0 ? "" : " mtu " + lease.mtu()) + " for " + lease.leaseSeconds() + " s");
                err.flush();
            } else {
                net.addAddress(iface, o.address, o.prefix);
                if (o.gateway != null) {
                    net.addDefaultRoute(Ipv4Address.parse(o.gateway));
                }
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Writes {@code lease} to the --dhcp-lease-file, if there is one, with its expiry as wall time. */
    private void saveLease(DhcpLease lease) throws ErrnoException {
        if (options.dhcpLeaseFile == null || lease == null) {
            return;
        }
        Instant expires = null;
        if (!lease.infinite()) {
            var clock = kernel.host().clock();
            long left = lease.acquiredNanos() + lease.leaseSeconds() * 1_000_000_000L - clock.monotonicNanos();
            expires = Instant.ofEpochSecond(0, clock.wallNanos() + left);
        }
        new DhcpLeaseFile(mac(), lease.address(), lease.server(), expires).write(options.dhcpLeaseFile);
    }

    /** Our interface's MAC. */
    private io.jrump.hypercall.MacAddress mac() throws ErrnoException {
        return net.interfaces().stream().filter(i -> i.name().equals(iface)).findFirst()
                .orElseThrow(() -> new ErrnoException(Errno.ENODEV, "no interface " + iface)).mac();
    }

    /** The DHCP client, or null without --dhcp. */
    DhcpSession dhcpSession() {
        return dhcp;
    }

    /**
     * Waits for the DHCP client to bind (it probes the address with ARP first, RFC 5227: a few
     * seconds); ETIMEDOUT after {@code seconds}.
     */
    private DhcpLease awaitLease(int seconds) throws ErrnoException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (true) {
            DhcpLease lease = dhcp.lease();
            if (lease != null) {
                return lease;
            }
            if (System.nanoTime() > deadline) {
                throw new ErrnoException(Errno.ETIMEDOUT, "no DHCP lease on " + iface + " after " + seconds
                        + " s (client " + dhcp.state() + ")");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ErrnoException(Errno.EINTR, "waiting for a DHCP lease");
            }
        }
    }

    /**
     * Boots the kernel on the Linux host and configures the TAP interface; ENODEV without that
     * host. {@code err} hears of connections the shutdown cuts off.
     */
    static TapKernel boot(Options o, PrintWriter err) throws ErrnoException, IOException {
        // A lease file that does not parse stops the command before anything is set up.
        DhcpLeaseFile remembered = o.dhcpLeaseFile != null ? DhcpLeaseFile.read(o.dhcpLeaseFile) : null;
        for (HostProvider p : ServiceLoader.load(HostProvider.class)) {
            if (!p.name().equals(HOST)) {
                continue;
            }
            if (p.unavailableReason().isPresent()) {
                throw new ErrnoException(Errno.ENODEV, "the linux host cannot run here: " + p.unavailableReason().get());
            }
            Hypercalls host = p.createDefault("rump").orElseThrow(
                    () -> new ErrnoException(Errno.ENODEV, "the linux host offers no default instance"));
            return new TapKernel(host, o, remembered, err);
        }
        throw new ErrnoException(Errno.ENODEV, "no linux host on the class path (hosts/linux)");
    }

    /** The DHCP lease, or null without --dhcp. */
    DhcpLease lease() throws ErrnoException {
        return dhcp == null ? null : dhcp.lease();
    }

    /** Our address: the one given with --addr, or the DHCP lease's. */
    Ipv4Address address() throws ErrnoException {
        if (dhcp == null) {
            return options.address;
        }
        DhcpLease lease = dhcp.lease();
        return lease != null ? lease.address() : Ipv4Address.ANY;
    }

    Sockets sockets() {
        return net.sockets();
    }

    /**
     * Stops the capture, if any, and shuts the kernel down. A connection that still has bytes to
     * send or to be acknowledged is lost with the kernel; that is said on stderr, with its state.
     */
    @Override
    public void close() throws IOException {
        try {
            for (TcpInfo c : net.tcpConnections()) {
                if (c.sendQueued() > 0) {
                    err.println("rump: shut down with unacknowledged data on " + c);
                }
            }
        } catch (ErrnoException e) {
            // the stack did not start: it has no connections
        }
        try {
            if (dhcp != null && options.dhcpLeaseFile != null) {
                saveLease(dhcp.lease()); // the expiry of the last renewal
                dhcp.stopKeepingLease(); // no DHCPRELEASE: the next run asks for the address again
            } else if (dhcp != null) {
                dhcp.stop(); // DHCPRELEASE, while the capture still runs
            }
        } catch (ErrnoException e) {
            err.println("rump: DHCP lease not " + (options.dhcpLeaseFile != null ? "saved" : "released") + ": "
                    + e.getMessage());
        }
        try {
            if (pcap != null) {
                try {
                    net.capture(iface, null);
                } catch (ErrnoException ignored) {
                    // the stack is gone: nothing more is written
                }
                pcap.close();
            }
        } finally {
            kernel.close();
        }
    }
}
