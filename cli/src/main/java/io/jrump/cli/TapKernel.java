package io.jrump.cli;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostProvider;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.socket.LoopCalls;
import io.jrump.net.stack.Interface;
import io.jrump.net.stack.Ipv6Options;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * One kernel with a network stack on a Linux TAP device, for the commands that talk to the Linux
 * kernel's own stack: the options they share ({@code --tap}, {@code --addr} and {@code --gw} of
 * either family, {@code --dhcp}, {@code --slaac}, {@code --mtu}, {@code --no-offload}) and the boot, which waits
 * for what it started: duplicate address detection, the DHCP lease, a SLAAC address. The host is found by name ({@code linux}) through
 * {@link ServiceLoader}, and opens the NIC {@code tap:NAME}.
 */
final class TapKernel implements AutoCloseable {
    static final String HOST = "linux";
    /** The host of {@code --nic} devices. */
    static final String VIRTIO_HOST = "virtio";
    static final String VIRTIO_PREFIX = "vhost-user:";
    static final String PCI_PREFIX = "pci:";

    /** The host a command's interface needs: the virtio host for {@code --nic}, else the Linux host. */
    static String hostFor(Options o) {
        return o.nic != null ? VIRTIO_HOST : HOST;
    }

    /** The NIC name the host opens: {@code tap:NAME} or the {@code --nic} device. */
    static String interfaceName(Options o) {
        return o.nic != null ? o.nic : "tap:" + o.tap;
    }

    /** The options every TAP command takes. */
    static final class Options {
        @Option(names = "--tap", paramLabel = "NAME",
                description = "The TAP device: opened if it exists, else created (root or CAP_NET_ADMIN). One of --tap, --nic.")
        String tap;

        @Option(names = "--nic", paramLabel = "DEVICE",
                description = "A virtio-net device instead of a TAP, driven by jrump's own driver on the virtio host:"
                        + " vhost-user:/path/to.sock (a vhost-user back-end such as DPDK or Open vSwitch listens there)"
                        + " or pci:0000:00:06.0 (a virtio-net PCI function bound to vfio-pci).")
        String nic;

        @Option(names = "--addr", paramLabel = "ADDR/P",
                description = "Our address and prefix on the device: A.B.C.D/P or an IPv6 one such as 2001:db8::2/64;"
                        + " repeatable. At least one of --addr, --dhcp, --slaac.")
        List<String> addrs = new ArrayList<>();

        @Option(names = "--dhcp",
                description = "Get the IPv4 address, prefix, default gateway and MTU by DHCP (instead of an IPv4 --addr and --gw).")
        boolean dhcp;

        @Option(names = "--dhcp-timeout", defaultValue = "30", paramLabel = "SECONDS",
                description = "With --dhcp, how long to wait for a lease, 1..3600 (default: ${DEFAULT-VALUE}).")
        int dhcpTimeout = 30;

        @Option(names = "--dhcp-lease-file", paramLabel = "FILE",
                description = "With --dhcp, keep the lease (MAC, address, server, expiry) in FILE: an unexpired one is"
                        + " asked for again first (INIT-REBOOT), and the lease is not released on exit.")
        Path dhcpLeaseFile;

        @Option(names = "--slaac",
                description = "IPv6 from router advertisements: addresses (SLAAC), default routers, MTU, DNS servers"
                        + " (RDNSS, and stateless DHCPv6 when the O flag asks).")
        boolean slaac;

        @Option(names = "--slaac-timeout", defaultValue = "10", paramLabel = "SECONDS",
                description = "With --slaac, how long to wait for an address from a router advertisement, 1..3600"
                        + " (default: ${DEFAULT-VALUE}).")
        int slaacTimeout = 10;

        @Option(names = "--gw", paramLabel = "ADDR",
                description = "Default gateway, IPv4 or IPv6 (link-local fe80::1 too); repeatable, one per family.")
        List<String> gateways = new ArrayList<>();

        @Option(names = "--pcap", paramLabel = "FILE", description = "Capture the TAP interface into FILE (pcap).")
        Path pcap;

        @Option(names = "--no-offload",
                description = "Open the TAP without IFF_VNET_HDR: no checksum offload, no large segments (TSO/GRO).")
        boolean noOffload;

        @Option(names = "--mtu", defaultValue = "1500", description = "MTU of our interface, 68..65535 (default: ${DEFAULT-VALUE}).")
        int mtu = 1500;

        @Option(names = "--mac", paramLabel = "MAC",
                description = "Our interface's MAC, aa:bb:cc:dd:ee:ff (unicast). Default: the one in the --dhcp-lease-file,"
                        + " else the device's own (a virtio-net device may have one), else a random locally administered one.")
        String macText;

        /** The --mac value, or null. */
        MacAddress mac;

        /** The IPv4 --addr, or null. */
        Ipv4Address address;
        int prefix;
        /** The IPv6 --addr values, in order. */
        final List<V6Address> v6Addresses = new ArrayList<>();
        Ipv4Address gateway4;
        Ipv6Address gateway6;

        /** An IPv6 address given by hand with its prefix length. */
        record V6Address(Ipv6Address address, int prefix) {
            @Override
            public String toString() {
                return address + "/" + prefix;
            }
        }

        void validate(CommandLine cl) {
            if ((tap == null) == (nic == null)) {
                throw new ParameterException(cl, "give one of --tap NAME and --nic vhost-user:PATH");
            }
            if (tap != null && (tap.isEmpty() || tap.length() > 15 || tap.contains("/") || tap.contains(":"))) {
                throw new ParameterException(cl, "--tap: '" + tap + "' is not an interface name (1..15 characters, no '/' or ':')");
            }
            if (nic != null && !(nic.startsWith(VIRTIO_PREFIX) && nic.length() > VIRTIO_PREFIX.length()
                    || nic.startsWith(PCI_PREFIX) && nic.length() > PCI_PREFIX.length())) {
                throw new ParameterException(cl, "--nic: '" + nic + "' is neither vhost-user:/path/to.sock nor pci:0000:00:06.0");
            }
            NetOptions.checkRange(cl, "--mtu", mtu, 68, 65535);
            mac = null;
            if (macText != null) {
                try {
                    mac = MacAddress.parse(macText);
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(cl, "--mac: '" + macText + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
                }
                if (mac.isMulticast()) {
                    throw new ParameterException(cl, "--mac: " + mac + " is a multicast address (bit 0 of the first octet set)");
                }
            }
            NetOptions.checkRange(cl, "--dhcp-timeout", dhcpTimeout, 1, 3600);
            NetOptions.checkRange(cl, "--slaac-timeout", slaacTimeout, 1, 3600);
            if (dhcpLeaseFile != null && !dhcp) {
                throw new ParameterException(cl, "--dhcp-lease-file goes with --dhcp");
            }
            address = null;
            v6Addresses.clear();
            for (String a : addrs) {
                parseAddr(cl, a);
            }
            gateway4 = null;
            gateway6 = null;
            for (String g : gateways) {
                parseGateway(cl, g);
            }
            if (dhcp && (address != null || gateway4 != null)) {
                throw new ParameterException(cl, "--dhcp gets the IPv4 address and gateway: give no IPv4 --addr or --gw with it");
            }
            if (addrs.isEmpty() && !dhcp && !slaac) {
                throw new ParameterException(cl, "give --addr A.B.C.D/P (or an IPv6 ADDR/P), --dhcp or --slaac");
            }
            if (gateway4 != null && address == null) {
                throw new ParameterException(cl, "--gw " + gateway4 + ": an IPv4 gateway needs an IPv4 --addr");
            }
            if (gateway6 != null && v6Addresses.isEmpty() && !slaac) {
                throw new ParameterException(cl, "--gw " + gateway6 + ": an IPv6 gateway needs an IPv6 --addr or --slaac");
            }
            if (mtu < 1280 && (slaac || !v6Addresses.isEmpty())) {
                throw new ParameterException(cl, "--mtu " + mtu + ": IPv6 needs at least 1280 (RFC 8200 section 5)");
            }
        }

        private void parseAddr(CommandLine cl, String text) {
            int slash = text.indexOf('/');
            boolean v6 = text.indexOf(':') >= 0;
            if (slash < 0) {
                throw new ParameterException(cl, "--addr needs a prefix length: " + text + (v6 ? "/64" : "/24") + ", say");
            }
            int max = v6 ? 128 : 32;
            int length;
            try {
                length = Integer.parseInt(text.substring(slash + 1));
            } catch (NumberFormatException e) {
                throw new ParameterException(cl, "--addr: " + text + ": the prefix length is not a number");
            }
            if (length < 1 || length > max) {
                throw new ParameterException(cl, "--addr: " + text + ": prefix length must be 1.." + max + ", not " + length);
            }
            String host = text.substring(0, slash);
            if (!v6) {
                if (address != null) {
                    throw new ParameterException(cl, "--addr: one IPv4 address only (" + address + "/" + prefix + " and " + text + ")");
                }
                try {
                    address = Ipv4Address.parse(host);
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(cl, "--addr: " + text + ": " + e.getMessage());
                }
                prefix = length;
                return;
            }
            Ipv6Address a;
            try {
                a = Ipv6Address.parse(host);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(cl, "--addr: " + text + ": " + e.getMessage());
            }
            if (a.isUnspecified() || a.isLoopback() || a.isMulticast() || a.isIpv4Mapped()) {
                throw new ParameterException(cl, "--addr: " + text + ": not a unicast address for an interface");
            }
            for (V6Address o : v6Addresses) {
                if (o.address().equals(a)) {
                    throw new ParameterException(cl, "--addr: " + a + " given twice");
                }
            }
            v6Addresses.add(new V6Address(a, length));
        }

        private void parseGateway(CommandLine cl, String text) {
            try {
                IpAddress g = IpAddress.parse(text);
                if (g instanceof Ipv6Address v6) {
                    if (gateway6 != null) {
                        throw new ParameterException(cl, "--gw: one IPv6 gateway only (" + gateway6 + " and " + text + ")");
                    }
                    if (v6.isUnspecified() || v6.isMulticast() || v6.isLoopback() || v6.isIpv4Mapped()) {
                        throw new ParameterException(cl, "--gw: " + text + " is not a router's unicast address");
                    }
                    gateway6 = v6;
                } else {
                    if (gateway4 != null) {
                        throw new ParameterException(cl, "--gw: one IPv4 gateway only (" + gateway4 + " and " + text + ")");
                    }
                    gateway4 = (Ipv4Address) g;
                }
            } catch (IllegalArgumentException e) {
                throw new ParameterException(cl, "--gw: " + text + ": " + e.getMessage());
            }
        }
    }

    /** How long duplicate address detection of an address given by hand may take: a 0-1 s delay, one 1 s wait, and slack. */
    static final int DAD_TIMEOUT_SECONDS = 5;
    /** After SLAAC gives an address, how long to wait for DNS servers from RDNSS or DHCPv6 if none came with it. */
    private static final long DNS_GRACE_NANOS = 2_000_000_000L;

    final RumpKernel kernel;
    final NetStack net = new NetStack();
    final String iface;
    private final PrintWriter err;
    private final LoopCalls loop;
    private FileChannel pcap;
    private DhcpSession dhcp;
    private final Options options;

    private TapKernel(Hypercalls host, Options o, DhcpLeaseFile remembered, PrintWriter err)
            throws ErrnoException, IOException {
        this.err = err;
        this.options = o;
        kernel = RumpKernel.boot(host, BootOptions.defaults().withName("rump").withComponentInstances(List.of(net)));
        loop = new LoopCalls(kernel.host().scheduler());
        iface = interfaceName(o);
        try {
            // The remembered MAC: the server knows the client by the identifier made from it.
            net.addInterface(iface, new NicOptions(o.mtu, o.mac != null ? o.mac : remembered != null ? remembered.mac() : null,
                    o.noOffload ? NicOffload.NONE : NicOffload.ALL));
            if (o.pcap != null) { // before the address, to see the gratuitous ARP
                pcap = FileChannel.open(o.pcap, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING);
                net.capture(iface, PcapWriter.open(pcap));
            }
            // Everything starts first, then each is waited for: DHCP's ARP probe, SLAAC and DAD run side by side.
            if (o.slaac) {
                net.enableIpv6(iface, Ipv6Options.slaacDefaults());
            }
            for (Options.V6Address a : o.v6Addresses) {
                net.addAddress(iface, a.address(), a.prefix());
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
            } else if (o.address != null) {
                net.addAddress(iface, o.address, o.prefix);
                if (o.gateway4 != null) {
                    net.addDefaultRoute(o.gateway4);
                }
            }
            awaitManualAddresses();
            if (o.dhcp) {
                DhcpLease lease = awaitLease(o.dhcpTimeout);
                saveLease(lease);
                err.println("rump: DHCP lease " + lease.address() + "/" + lease.prefixLength() + " from "
                        + lease.server() + (lease.routers().isEmpty() ? "" : " router " + lease.routers().get(0))
                        + (lease.mtu() == 0 ? "" : " mtu " + lease.mtu()) + " for " + lease.leaseSeconds() + " s");
                err.flush();
            }
            if (o.slaac) {
                awaitSlaac(o.slaacTimeout);
            }
            if (o.gateway6 != null) {
                net.addDefaultRoute(iface, o.gateway6);
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Our IPv6 addresses now, with their states (read on the stack's loop, which owns them). */
    List<AddressAutoconfig.Address> ipv6Addresses() throws ErrnoException {
        return loop.run(() -> {
            for (Interface i : net.interfaces()) {
                if (i.name().equals(iface)) {
                    return i.ipv6Addresses();
                }
            }
            return List.<AddressAutoconfig.Address>of();
        });
    }

    /**
     * Waits for duplicate address detection of the IPv6 addresses given by hand (and the
     * link-local one): EADDRINUSE naming a duplicate, ETIMEDOUT if one is still tentative after
     * {@link #DAD_TIMEOUT_SECONDS}.
     */
    private void awaitManualAddresses() throws ErrnoException {
        if (options.v6Addresses.isEmpty()) {
            return;
        }
        long deadline = System.nanoTime() + DAD_TIMEOUT_SECONDS * 1_000_000_000L;
        while (true) {
            boolean tentative = false;
            for (AddressAutoconfig.Address a : ipv6Addresses()) {
                boolean manual = a.origin() == AddressAutoconfig.Origin.MANUAL;
                if (a.state() == AddressAutoconfig.AddressState.DUPLICATE && manual) {
                    throw new ErrnoException(Errno.EADDRINUSE, a.address() + " is in use on the link (duplicate address"
                            + " detection on " + iface + ")");
                }
                tentative |= a.state() == AddressAutoconfig.AddressState.TENTATIVE
                        && (manual || a.origin() == AddressAutoconfig.Origin.LINK_LOCAL);
            }
            if (!tentative) {
                err.println("rump: IPv6 " + describeAddresses());
                err.flush();
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new ErrnoException(Errno.ETIMEDOUT, "duplicate address detection on " + iface + " not done after "
                        + DAD_TIMEOUT_SECONDS + " s: " + describeAddresses());
            }
            pause("duplicate address detection");
        }
    }

    /**
     * Waits until a router advertisement's prefix gave a PREFERRED address (DAD passed), then
     * briefly for DNS servers (RDNSS, or stateless DHCPv6 started by the O flag), and prints the
     * result on stderr; ETIMEDOUT after {@code seconds} without an address.
     */
    private void awaitSlaac(int seconds) throws ErrnoException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (slaacAddresses().isEmpty()) {
            if (System.nanoTime() > deadline) {
                Map<Ipv6Address, Long> routers = net.ipv6Routers(iface);
                throw new ErrnoException(Errno.ETIMEDOUT, "no IPv6 address from a router advertisement on " + iface
                        + " after " + seconds + " s (" + (routers.isEmpty() ? "no router heard" : "routers " + routers.keySet())
                        + "; " + describeAddresses() + ")");
            }
            pause("router advertisements");
        }
        long dnsDeadline = Math.min(deadline, System.nanoTime() + DNS_GRACE_NANOS);
        while (ipv6DnsServers().isEmpty() && System.nanoTime() < dnsDeadline) {
            pause("DNS servers from RDNSS or DHCPv6");
        }
        List<String> routers = net.ipv6Routers(iface).keySet().stream().map(Object::toString).sorted().toList();
        List<IpAddress> dns = ipv6DnsServers();
        err.println("rump: SLAAC " + String.join(" ", slaacAddresses()) + " link-local " + linkLocal()
                + (routers.isEmpty() ? "" : " router " + String.join(" ", routers))
                + (dns.isEmpty() ? "" : " dns " + String.join(" ", dns.stream().map(Object::toString).toList())));
        err.flush();
    }

    /** The PREFERRED addresses SLAAC made, as ADDR/P. */
    private List<String> slaacAddresses() throws ErrnoException {
        return ipv6Addresses().stream().filter(a -> a.origin() == AddressAutoconfig.Origin.SLAAC
                && a.state() == AddressAutoconfig.AddressState.PREFERRED).map(a -> a.address() + "/" + a.prefixLength()).toList();
    }

    /** Our link-local address (whatever its state), or null while IPv6 is off. */
    Ipv6Address linkLocal() throws ErrnoException {
        for (AddressAutoconfig.Address a : ipv6Addresses()) {
            if (a.origin() == AddressAutoconfig.Origin.LINK_LOCAL) {
                return a.address();
            }
        }
        return null;
    }

    private List<IpAddress> ipv6DnsServers() throws ErrnoException {
        return net.dnsServers().stream().filter(a -> a.version() == 6).toList();
    }

    /** The IPv6 addresses as {@code ip addr} would list them: ADDR/P and the state if not preferred. */
    private String describeAddresses() throws ErrnoException {
        List<String> out = new ArrayList<>();
        for (AddressAutoconfig.Address a : ipv6Addresses()) {
            out.add(a.address() + "/" + a.prefixLength() + (a.state() == AddressAutoconfig.AddressState.PREFERRED ? ""
                    : " " + a.state().name().toLowerCase(Locale.ROOT)));
        }
        return String.join(", ", out);
    }

    /** Our usable global IPv6 addresses (PREFERRED, not link-local). */
    List<Ipv6Address> globalIpv6Addresses() throws ErrnoException {
        return ipv6Addresses().stream().filter(a -> a.state() == AddressAutoconfig.AddressState.PREFERRED
                && !a.address().isLinkLocal()).map(AddressAutoconfig.Address::address).toList();
    }

    private static void pause(String what) throws ErrnoException {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ErrnoException(Errno.EINTR, "waiting for " + what);
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
    private MacAddress mac() throws ErrnoException {
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
            pause("a DHCP lease");
        }
    }

    /**
     * Boots the kernel on the Linux host and configures the TAP interface; ENODEV without that
     * host. {@code err} hears of connections the shutdown cuts off.
     */
    static TapKernel boot(Options o, PrintWriter err) throws ErrnoException, IOException {
        // A lease file that does not parse stops the command before anything is set up.
        DhcpLeaseFile remembered = o.dhcpLeaseFile != null ? DhcpLeaseFile.read(o.dhcpLeaseFile) : null;
        if (remembered != null && o.mac != null && !remembered.mac().equals(o.mac)) {
            err.println("rump: the lease in " + o.dhcpLeaseFile + " is " + remembered.mac() + "'s, not --mac " + o.mac
                    + "'s: not asked for again");
            remembered = null;
        }
        String wanted = hostFor(o);
        for (HostProvider p : ServiceLoader.load(HostProvider.class)) {
            if (!p.name().equals(wanted)) {
                continue;
            }
            if (p.unavailableReason().isPresent()) {
                throw new ErrnoException(Errno.ENODEV, "the " + wanted + " host cannot run here: " + p.unavailableReason().get());
            }
            Hypercalls host = p.createDefault("rump").orElseThrow(
                    () -> new ErrnoException(Errno.ENODEV, "the " + wanted + " host offers no default instance"));
            return new TapKernel(host, o, remembered, err);
        }
        throw new ErrnoException(Errno.ENODEV, "no " + wanted + " host on the class path (hosts/" + wanted + ")");
    }

    /** The DHCP lease, or null without --dhcp. */
    DhcpLease lease() throws ErrnoException {
        return dhcp == null ? null : dhcp.lease();
    }

    /** Our IPv4 address: the one given with --addr, or the DHCP lease's; null if we have none. */
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
