package io.jrump.host.linux;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.linux.nat.Sys;
import io.jrump.hypercall.BlockDevices;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FuseChannels;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces;
import io.jrump.hypercall.NicOptions;
import io.jrump.hypercall.ForwardingHypercalls;
import io.jrump.host.kit.OpenDevices;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The native Linux host: a {@link JvmHost} (clock, event loop, random, console, host files, memory
 * disks, in-process switches) with native devices added in front of it.
 *
 * <ul>
 *   <li>NIC {@code tap:IFNAME}: the Linux TAP interface {@code IFNAME}, created if there is none
 *       ({@link TapNic}), with {@code IFF_VNET_HDR} offloads when {@code NicOptions.offloads()} asks
 *       for any; any other NIC name is an in-process switch of the JVM host.
 *   <li>Block {@code direct:PATH}: the regular file or block device {@code PATH} opened with
 *       {@code O_DIRECT}; a {@code PATH} that is a block device, without the prefix: that device
 *       through the page cache ({@link LinuxBlockDevice}). Any other name goes to the JVM host.
 *   <li>FUSE channels ({@link #fuse()}): {@code /dev/fuse} mounted with {@code mount(2)} as root,
 *       else through {@code fusermount3} ({@link LinuxFuseChannel}).
 * </ul>
 *
 * <p>One instance serves one kernel. Thread-safe.
 */
public final class LinuxHost extends ForwardingHypercalls {
    /** Prefix of NIC names that are TAP interfaces. */
    public static final String TAP_PREFIX = "tap:";
    /** Prefix of block-device names opened with {@code O_DIRECT}. */
    public static final String DIRECT_PREFIX = "direct:";

    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;

    private final JvmHost jvm;
    private final ExecutorService io;
    private final OpenDevices open;

    private LinuxHost(JvmHost jvm) {
        super(jvm);
        this.jvm = jvm;
        this.open = new OpenDevices(jvm.name());
        int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
        AtomicInteger index = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "jrump-linux-io-" + jvm.name() + "-" + index.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        this.io = pool;
    }

    /** A Linux host over a JVM host of default settings on the JVM-wide switches. */
    public static LinuxHost create(String name) {
        return over(JvmHost.create(name));
    }

    /** A Linux host over {@code jvm}, which it then owns and closes. */
    public static LinuxHost over(JvmHost jvm) {
        return new LinuxHost(jvm);
    }

    /** Why the native devices cannot work here, or empty if they can. */
    public static Optional<String> unavailableReason() {
        return Sys.unavailableReason();
    }

    @Override
    public String name() {
        return "linux:" + jvm.name().substring(jvm.name().indexOf(':') + 1);
    }

    @Override
    public BlockDevices blockDevices() {
        BlockDevices fallback = jvm.blockDevices();
        return new BlockDevices() {
            @Override
            public HostBlockDevice open(String device, OpenMode mode) throws ErrnoException {
                checkOpen();
                Native target = nativeTarget(device, false);
                if (target == null) {
                    return fallback.open(device, mode);
                }
                LinuxBlockDevice d = LinuxBlockDevice.open(device, target.path, target.blockDevice,
                        mode == OpenMode.READ_ONLY, target.direct, -1, jvm.scheduler(), io, open::unregister);
                return open.register(d, d::close);
            }

            @Override
            public HostBlockDevice create(String device, long size) throws ErrnoException {
                checkOpen();
                Native target = nativeTarget(device, true);
                if (target == null) {
                    return fallback.create(device, size);
                }
                if (size < 0) {
                    throw new ErrnoException(Errno.EINVAL, "create " + device + ": negative size " + size);
                }
                LinuxBlockDevice d = LinuxBlockDevice.open(device, target.path, target.blockDevice, false,
                        target.direct, size, jvm.scheduler(), io, open::unregister);
                return open.register(d, d::close);
            }
        };
    }

    private record Native(String path, boolean blockDevice, boolean direct) {
    }

    /** What a block name means on this host; null for a name the JVM host handles. */
    private static Native nativeTarget(String device, boolean creating) throws ErrnoException {
        boolean direct = device.startsWith(DIRECT_PREFIX);
        String p = direct ? device.substring(DIRECT_PREFIX.length()) : device;
        if (p.isEmpty() || p.indexOf('\0') >= 0) {
            if (!direct) {
                return null; // the JVM host reports the malformed name
            }
            throw new ErrnoException(Errno.EINVAL, "not a device name: '" + device.replace("\0", "\\0") + "'");
        }
        Path path;
        try {
            path = Path.of(p);
        } catch (InvalidPathException e) {
            if (!direct) {
                return null;
            }
            throw new ErrnoException(Errno.EINVAL, "not a path: " + device);
        }
        boolean block = false;
        if (Files.exists(path)) {
            if (Files.isDirectory(path)) {
                throw new ErrnoException(Errno.EISDIR, device);
            }
            if (!Files.isRegularFile(path, new LinkOption[0])) {
                try {
                    int mode = (Integer) Files.getAttribute(path, "unix:mode");
                    block = (mode & S_IFMT) == S_IFBLK;
                } catch (IOException | UnsupportedOperationException e) {
                    block = false;
                }
                if (!block) {
                    throw new ErrnoException(Errno.EOPNOTSUPP, device + ": neither a regular file nor a block device");
                }
                if (creating) {
                    throw new ErrnoException(Errno.EEXIST, "create " + device);
                }
            }
        }
        if (!direct && !block) {
            return null;
        }
        return new Native(p, block, direct);
    }

    @Override
    public NetworkInterfaces networkInterfaces() {
        NetworkInterfaces fallback = jvm.networkInterfaces();
        return (name, options, receiver) -> {
            checkOpen();
            if (!name.startsWith(TAP_PREFIX)) {
                return fallback.open(name, options, receiver);
            }
            String ifname = name.substring(TAP_PREFIX.length());
            if (ifname.isEmpty()) {
                throw new ErrnoException(Errno.ENODEV, "empty TAP interface name in " + name);
            }
            MacAddress mac = options.mac();
            if (mac == null) {
                mac = MacAddress.randomLocal(random());
            } else if (mac.isMulticast()) {
                throw new ErrnoException(Errno.EINVAL, "MAC " + mac + " is a multicast address");
            }
            TapNic nic = TapNic.open(name, ifname, mac, options.mtu(), options.offloads(), receiver, jvm.scheduler(),
                    open::unregister);
            return open.register(nic, nic::close);
        };
    }

    /**
     * FUSE channels ({@link LinuxFuseChannel}): {@code /dev/fuse} mounted with {@code mount(2)},
     * which needs root.
     */
    @Override
    public Optional<FuseChannels> fuse() {
        return Optional.of((mountpoint, fsName, readOnly, allowOther) -> {
            checkOpen();
            LinuxFuseChannel ch = LinuxFuseChannel.open(mountpoint, fsName, readOnly, allowOther, open::unregister);
            return open.register(ch, ch::close);
        });
    }

    @Override
    public <T> Optional<T> optional(Class<T> group) {
        if (group == FuseChannels.class) {
            return fuse().map(group::cast);
        }
        return Optional.empty();
    }

    private void checkOpen() throws ErrnoException {
        open.checkOpen();
    }

    @Override
    public void close() {
        if (!open.closeAll()) {
            return;
        }
        io.shutdown();
        jvm.close();
    }

    @Override
    public String toString() {
        return "LinuxHost[" + jvm.name() + "]";
    }
}
