package io.jrump.host.virtio;

import io.jrump.host.kit.OpenDevices;
import io.jrump.host.linux.LinuxHost;
import io.jrump.host.virtio.blk.VirtioBlockDevice;
import io.jrump.host.virtio.blk.VirtioBlockDevice.Completions;
import io.jrump.host.virtio.net.VirtioNic;
import io.jrump.host.virtio.pci.PciTransport;
import io.jrump.host.virtio.ring.VirtioFeatures;
import io.jrump.host.virtio.ring.VirtioTransport;
import io.jrump.host.virtio.vhost.VhostUserTransport;
import io.jrump.hypercall.BlockDevices;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.ForwardingHypercalls;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.NetworkInterfaces;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The virtio host: a {@link LinuxHost} (clock, event loop, host files, TAP, FUSE) whose block
 * devices and NICs named {@code vhost-user:PATH} or {@code pci:ADDRESS} are virtio devices driven
 * by jrump's own driver: over vhost-user the back-end process listening on the unix socket
 * {@code PATH} is the device; {@code pci:0000:00:05.0} is a virtio-pci function bound to vfio-pci
 * (in a VM, or on a machine with virtio hardware). Any other name goes to the Linux host.
 *
 * <p>One instance serves one kernel. Thread-safe.
 */
public final class VirtioHost extends ForwardingHypercalls {
    /** Prefix of device names served over vhost-user. */
    public static final String VHOST_USER_PREFIX = VhostUserTransport.PREFIX;
    /** Prefix of virtio-pci functions driven through VFIO: {@code pci:0000:00:05.0}. */
    public static final String PCI_PREFIX = PciTransport.PREFIX;

    private final LinuxHost linux;
    private final OpenDevices open;
    private final Completions completions;

    private VirtioHost(LinuxHost linux, Completions completions) {
        super(linux);
        this.linux = linux;
        this.open = new OpenDevices(linux.name());
        this.completions = completions;
    }

    /** A virtio host over a Linux host of default settings; its devices interrupt. */
    public static VirtioHost create(String name) {
        return over(LinuxHost.create(name));
    }

    /** A virtio host over {@code linux}, which it then owns and closes; its devices interrupt. */
    public static VirtioHost over(LinuxHost linux) {
        return over(linux, Completions.INTERRUPTS);
    }

    /**
     * A virtio host over {@code linux} whose devices report completions as {@code completions}
     * says: {@link Completions#BUSY_POLL} trades a CPU per device for latency.
     * {@link Completions#CALLER_POLLS} is not offered here: nothing would call poll.
     */
    public static VirtioHost over(LinuxHost linux, Completions completions) {
        if (completions == Completions.CALLER_POLLS) {
            throw new IllegalArgumentException("a host's devices need a thread of their own: INTERRUPTS or BUSY_POLL");
        }
        return new VirtioHost(linux, completions);
    }

    /** Why vhost-user devices cannot be opened here, or empty if they can. */
    public static Optional<String> unavailableReason() {
        return LinuxHost.unavailableReason();
    }

    @Override
    public String name() {
        return "virtio:" + linux.name().substring(linux.name().indexOf(':') + 1);
    }

    @Override
    public BlockDevices blockDevices() {
        BlockDevices fallback = linux.blockDevices();
        return new BlockDevices() {
            @Override
            public HostBlockDevice open(String device, OpenMode mode) throws ErrnoException {
                open.checkOpen();
                VirtioTransport transport = openTransport(device, VirtioFeatures.DEVICE_BLOCK);
                if (transport == null) {
                    return fallback.open(device, mode);
                }
                VirtioBlockDevice d = VirtioBlockDevice.open(device, transport, scheduler(),
                        mode == OpenMode.READ_ONLY, completions, open::unregister);
                return open.register(d, d::close);
            }

            @Override
            public HostBlockDevice create(String device, long size) throws ErrnoException {
                open.checkOpen();
                String socket = vhostUserPath(device);
                if (socket == null && !device.startsWith(PCI_PREFIX)) {
                    return fallback.create(device, size);
                }
                if (size < 0) {
                    throw new ErrnoException(Errno.EINVAL, "create " + device + ": negative size " + size);
                }
                if (socket == null || Files.exists(Path.of(socket))) {
                    throw new ErrnoException(Errno.EEXIST, "create " + device + ": a virtio device exists as its"
                            + " back-end or its hardware made it; open it instead");
                }
                throw new ErrnoException(Errno.EOPNOTSUPP, "create " + device + ": vhost-user devices are made by"
                        + " their back-end (qemu-storage-daemon --export type=vhost-user-blk), not by the front-end");
            }
        };
    }

    @Override
    public NetworkInterfaces networkInterfaces() {
        NetworkInterfaces fallback = linux.networkInterfaces();
        return (name, options, receiver) -> {
            open.checkOpen();
            VirtioTransport transport = openTransport(name, VirtioFeatures.DEVICE_NET);
            if (transport == null) {
                return fallback.open(name, options, receiver);
            }
            VirtioNic nic = VirtioNic.open(name, transport, options, receiver, scheduler(), random(), open::unregister);
            return open.register(nic, nic::close);
        };
    }

    /**
     * The transport to the virtio device {@code name} names ({@code vhost-user:PATH} or
     * {@code pci:ADDRESS}), connected; null for a name of the Linux host's. A PCI function must be
     * a device of {@code type}; over vhost-user the opener's group says what the device is.
     */
    private static VirtioTransport openTransport(String name, int type) throws ErrnoException {
        String socket = vhostUserPath(name);
        if (socket != null) {
            return VhostUserTransport.connect(socket);
        }
        if (!name.startsWith(PCI_PREFIX)) {
            return null;
        }
        PciTransport pci = PciTransport.open(name.substring(PCI_PREFIX.length()));
        if (pci.deviceType() != type) {
            pci.close();
            throw new ErrnoException(Errno.ENODEV, name + " is virtio device type " + pci.deviceType() + ", not "
                    + (type == VirtioFeatures.DEVICE_BLOCK ? "a block device (2)" : "a network device (1)"));
        }
        return pci;
    }

    /** The socket path of a {@code vhost-user:PATH} name; null for any other name. */
    static String vhostUserPath(String device) throws ErrnoException {
        if (!device.startsWith(VHOST_USER_PREFIX)) {
            return null;
        }
        String p = device.substring(VHOST_USER_PREFIX.length());
        if (p.isEmpty() || p.indexOf('\0') >= 0) {
            throw new ErrnoException(Errno.EINVAL, "not a vhost-user device name: '" + device.replace("\0", "\\0")
                    + "' (vhost-user:/path/to.sock)");
        }
        try {
            Path.of(p);
        } catch (InvalidPathException e) {
            throw new ErrnoException(Errno.EINVAL, "not a socket path: " + device);
        }
        return p;
    }

    @Override
    public void close() {
        if (!open.closeAll()) {
            return;
        }
        linux.close();
    }

    @Override
    public String toString() {
        return "VirtioHost[" + linux.name() + "]";
    }
}
