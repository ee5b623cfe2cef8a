package io.jrump.fuzz.kit;

import io.jrump.blk.HostDisk;
import io.jrump.host.sim.SimDisk;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimLink;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.stack.Ipv6Options;
import io.jrump.net.stack.NetStack;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import io.jrump.hypercall.NetworkInterfaces;

/**
 * A seeded simulation world for one fuzz input: named kernels on sim hosts, disks whose contents
 * are the input's bytes, and stacks with addresses on named links. Everything runs in virtual
 * time on one thread, so the same input gives the same run every time.
 *
 * <pre>{@code
 * try (FuzzWorld w = FuzzWorld.builder(1)
 *         .stack("a", "lan", "198.18.0.1/24")
 *         .stack("b", "lan", "198.18.0.2/24")
 *         .disk("a", "d0", input, 64 * 1024)
 *         .build()) {
 *     NetStack a = w.stack("a");
 *     HostDisk d0 = w.disk("d0");
 * }
 * }</pre>
 */
public final class FuzzWorld implements AutoCloseable {
    private final SimWorld world;
    private final Map<String, SimHost> hosts;
    private final Map<String, RumpKernel> kernels;
    private final Map<String, NetStack> stacks;
    private final Map<String, HostDisk> disks;

    private FuzzWorld(SimWorld world, Map<String, SimHost> hosts, Map<String, RumpKernel> kernels,
            Map<String, NetStack> stacks, Map<String, HostDisk> disks) {
        this.world = world;
        this.hosts = hosts;
        this.kernels = kernels;
        this.stacks = stacks;
        this.disks = disks;
    }

    /** A builder for a world whose randomness comes from {@code seed}. */
    public static Builder builder(long seed) {
        return new Builder(seed);
    }

    /**
     * A world with one host {@code "fuzz"} and one disk {@code "d"} of {@code size} bytes holding
     * {@code input}'s first bytes, zeros after: the usual start of an image harness.
     */
    public static FuzzWorld ofDisk(byte[] input, int size) throws ErrnoException {
        return builder(1).disk("fuzz", "d", input, size).build();
    }

    /** The simulation world: its clock, {@link SimWorld#runFor}, links and recorded task failures. */
    public SimWorld world() {
        return world;
    }

    /** The host named {@code name}; fails if the builder declared none. */
    public SimHost host(String name) {
        return get(hosts, "host", name);
    }

    /**
     * The kernel booted on host {@code name}. A host declared only by {@link Builder#disk} gets
     * its kernel here, on first use: image harnesses that read their disk directly do not pay
     * for a boot per input.
     */
    public RumpKernel kernel(String name) throws ErrnoException {
        RumpKernel k = kernels.get(name);
        if (k == null && hosts.containsKey(name)) {
            k = RumpKernel.boot(hosts.get(name));
            kernels.put(name, k);
        }
        return get(kernels, "kernel", name);
    }

    /** The TCP/IP stack of host {@code name}. */
    public NetStack stack(String name) {
        return get(stacks, "stack", name);
    }

    /** The disk named {@code name} (disk names are world-wide). */
    public HostDisk disk(String name) {
        return get(disks, "disk", name);
    }

    /** The first (usually only) disk. */
    public HostDisk disk() {
        return disks.values().stream().findFirst().orElseThrow(() -> new IllegalStateException("no disk declared"));
    }

    /**
     * A raw port on {@code link} from a host of its own ({@code "raw-" + link}): what it sends
     * reaches every stack on the link as if from another machine; frames it receives go to
     * {@code receiver}.
     */
    public HostNic rawPort(String link, NetworkInterfaces.FrameReceiver receiver) throws ErrnoException {
        SimHost raw = world.newHost("raw-" + link);
        return raw.networkInterfaces().open(link, NicOptions.defaults(), receiver);
    }

    /** The link named {@code name}: loss, duplication and reordering are set on it. */
    public SimLink link(String name) {
        return world.link(name);
    }

    /** Closes every disk and kernel; the world's virtual time needs no other cleanup. */
    @Override
    public void close() {
        disks.values().forEach(HostDisk::close);
        kernels.values().forEach(RumpKernel::close);
    }

    private static <T> T get(Map<String, T> map, String what, String name) {
        T t = map.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no " + what + " " + name + " in this world (have " + map.keySet() + ")");
        }
        return t;
    }

    /** Declares hosts, disks and stacks; {@link #build} makes them in declaration order. */
    public static final class Builder {
        private final long seed;
        private final Map<String, List<Address>> stackAddresses = new LinkedHashMap<>();
        /** Hosts with a kernel booted at build: true when it also has a stack. */
        private final Map<String, Boolean> kernelHosts = new LinkedHashMap<>();
        /** Hosts declared only by their disks: their kernel boots on first {@link FuzzWorld#kernel} call. */
        private final java.util.Set<String> diskHosts = new java.util.LinkedHashSet<>();
        private final List<DiskSpec> diskSpecs = new ArrayList<>();
        private Ipv6Options ipv6;

        private Builder(long seed) {
            this.seed = seed;
        }

        private record Address(String link, String cidr) {
        }

        private record DiskSpec(String host, String name, byte[] content, int size) {
        }

        /** A host {@code host} with a kernel booted on it (without a stack unless {@link #stack} adds one). */
        public Builder kernel(String host) {
            kernelHosts.putIfAbsent(host, false);
            return this;
        }

        /**
         * A stack on host {@code host} with an interface on link {@code link} holding address
         * {@code cidr} ("198.18.0.1/24" or "2001:db8::1/64"); called again for the same host it adds
         * another address (or another interface, for another link).
         */
        public Builder stack(String host, String link, String cidr) {
            kernelHosts.put(host, true);
            stackAddresses.computeIfAbsent(host, h -> new ArrayList<>()).add(new Address(link, cidr));
            return this;
        }

        /** Enables IPv6 with these options on every stack interface (IPv6 addresses need it). */
        public Builder ipv6(Ipv6Options options) {
            this.ipv6 = options;
            return this;
        }

        /**
         * A disk {@code name} on host {@code host} of {@code size} bytes holding {@code content}'s
         * first bytes, zeros after (an input longer than the disk is cut).
         */
        public Builder disk(String host, String name, byte[] content, int size) {
            diskHosts.add(host);
            diskSpecs.add(new DiskSpec(host, name, content, size));
            return this;
        }

        /** Makes the world: hosts, kernels with their stacks, interfaces, addresses, disks. */
        public FuzzWorld build() throws ErrnoException {
            SimWorld world = new SimWorld(seed);
            Map<String, SimHost> hosts = new LinkedHashMap<>();
            Map<String, RumpKernel> kernels = new LinkedHashMap<>();
            Map<String, NetStack> stacks = new LinkedHashMap<>();
            Map<String, HostDisk> disks = new LinkedHashMap<>();
            for (Map.Entry<String, Boolean> h : kernelHosts.entrySet()) {
                SimHost host = world.newHost(h.getKey());
                hosts.put(h.getKey(), host);
                if (h.getValue()) {
                    NetStack stack = new NetStack();
                    kernels.put(h.getKey(), RumpKernel.boot(host,
                            BootOptions.defaults().withComponentInstances(List.of(stack))));
                    stacks.put(h.getKey(), stack);
                    List<String> links = new ArrayList<>();
                    for (Address a : stackAddresses.get(h.getKey())) {
                        if (!links.contains(a.link())) {
                            links.add(a.link());
                            stack.addInterface(a.link(), NicOptions.defaults());
                            if (ipv6 != null) {
                                stack.enableIpv6(a.link(), ipv6);
                            }
                        }
                        addAddress(stack, a);
                    }
                } else {
                    kernels.put(h.getKey(), RumpKernel.boot(host));
                }
            }
            for (String h : diskHosts) {
                if (!hosts.containsKey(h)) {
                    hosts.put(h, world.newHost(h));
                }
            }
            for (DiskSpec d : diskSpecs) {
                if (d.size() % SimDisk.SECTOR_SIZE != 0) {
                    throw new ErrnoException(Errno.EINVAL, d.name() + ": size " + d.size() + " is not a multiple of "
                            + SimDisk.SECTOR_SIZE);
                }
                // Only the content's pages are stored; the zeros after it cost nothing.
                try {
                    world.createDisk(d.name(), SimDisk.Image.of(d.content(), d.size()));
                } catch (IllegalArgumentException e) {
                    throw new ErrnoException(Errno.EEXIST, e.getMessage());
                }
                disks.put(d.name(), HostDisk.open(hosts.get(d.host()), d.name(), OpenMode.READ_WRITE));
            }
            return new FuzzWorld(world, hosts, kernels, stacks, disks);
        }

        private static void addAddress(NetStack stack, Address a) throws ErrnoException {
            int slash = a.cidr().indexOf('/');
            if (slash < 0) {
                throw new IllegalArgumentException(a.cidr() + ": an address with a prefix length, like 198.18.0.1/24");
            }
            int prefix = Integer.parseInt(a.cidr().substring(slash + 1));
            IpAddress ip = a.cidr().contains(":") ? Ipv6Address.parse(a.cidr().substring(0, slash))
                    : Ipv4Address.parse(a.cidr().substring(0, slash));
            if (ip instanceof Ipv6Address v6) {
                stack.addAddress(a.link(), v6, prefix);
            } else {
                stack.addAddress(a.link(), (Ipv4Address) ip, prefix);
            }
        }
    }
}
