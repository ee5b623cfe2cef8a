package io.jrump.cli;

import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** The options every two-kernel network command shares: the host, its seed, the MTU and a capture file. */
final class NetOptions {
    @Option(names = "--host", defaultValue = "jvm",
            description = "jvm, sim or virtio (default: ${DEFAULT-VALUE}); virtio needs --nic-a and --nic-b.")
    String host;

    @Option(names = "--nic-a", paramLabel = "DEVICE",
            description = "With --host virtio: kernel a's virtio-net device, vhost-user:/path.sock or pci:ADDRESS.")
    String nicA;

    @Option(names = "--nic-b", paramLabel = "DEVICE",
            description = "With --host virtio: kernel b's virtio-net device, on the same segment as a's.")
    String nicB;

    @Option(names = "--seed", description = "Seed of the simulation (--host sim only; default 1).")
    Long seed;

    @Option(names = "--mtu", defaultValue = "1500", description = "MTU of both interfaces, 68..65535 (default: ${DEFAULT-VALUE}).")
    int mtu;

    @Option(names = "--pcap", paramLabel = "FILE", description = "Capture kernel a's interface into FILE (pcap, nanosecond timestamps).")
    Path pcap;

    @Option(names = {"-6", "--ipv6"},
            description = "Talk IPv6: a is 2001:db8::1/64 and b 2001:db8::2/64 (after duplicate address detection).")
    boolean ipv6;

    /** Checks the options; usage errors as {@link ParameterException}. */
    void validate(CommandLine cl) {
        if (!host.equals("jvm") && !host.equals("sim") && !host.equals("virtio")) {
            throw new ParameterException(cl, "unknown host '" + host + "' (choose jvm, sim or virtio)");
        }
        if (host.equals("virtio") != (nicA != null && nicB != null) || (nicA == null) != (nicB == null)) {
            throw new ParameterException(cl, host.equals("virtio")
                    ? "--host virtio needs --nic-a and --nic-b (vhost-user:/path.sock or pci:ADDRESS each)"
                    : "--nic-a and --nic-b go with --host virtio");
        }
        for (String nic : new String[] {nicA, nicB}) {
            if (nic != null && !nic.startsWith(TapKernel.VIRTIO_PREFIX) && !nic.startsWith(TapKernel.PCI_PREFIX)) {
                throw new ParameterException(cl, "'" + nic + "' is neither vhost-user:/path.sock nor pci:ADDRESS");
            }
        }
        if (seed != null && !host.equals("sim")) {
            throw new ParameterException(cl, "--seed needs --host sim");
        }
        checkRange(cl, "--mtu", mtu, 68, 65535);
    }

    /** A ParameterException unless {@code min <= value <= max}: "--port must be 1..65535, not 0". */
    static void checkRange(CommandLine cl, String option, int value, int min, int max) {
        if (value < min || value > max) {
            throw new ParameterException(cl, option + " must be " + min + ".." + max + ", not " + value);
        }
    }

    boolean sim() {
        return host.equals("sim");
    }

    /** Boots the pair, starts the capture if asked, and gives the kernels their addresses. */
    NetPair boot() throws Exception {
        NetPair p = host.equals("virtio") ? NetPair.bootVirtio(nicA, nicB, mtu) : NetPair.boot(host, seed == null ? 1 : seed, mtu);
        try {
            if (pcap != null) {
                p.capture(pcap);
            }
            p.configure();
            if (ipv6) {
                p.configureIpv6();
            }
            return p;
        } catch (Exception | Error e) {
            p.close();
            throw e;
        }
    }

    static long size(CommandLine cl, String option, String text, long min, long max) {
        long v;
        try {
            v = Sizes.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cl, option + ": " + e.getMessage());
        }
        if (v < min || v > max) {
            throw new ParameterException(cl, option + " must be " + Sizes.human(min) + ".." + Sizes.human(max)
                    + ", not " + text);
        }
        return v;
    }
}
