package io.jrump.host.jvm;

import io.jrump.hypercall.BlockDevices;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.HostClock;
import io.jrump.hypercall.HostConsole;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.HostParams;
import io.jrump.hypercall.HostRandom;
import io.jrump.hypercall.HostScheduler;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces;
import io.jrump.hypercall.NicOptions;
import io.jrump.host.kit.ConsoleLogger;
import io.jrump.host.kit.OpenDevices;
import io.jrump.host.kit.SparseMemory;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.System.Logger.Level;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The portable userspace host: the real clock, one event-loop thread per kernel (or none, for a
 * kernel the application polls: {@link Builder#polled()}), block devices on
 * regular host files (a path) or in memory ({@code mem:NAME}), and NICs on in-process Ethernet
 * switches named by the NIC name.
 *
 * <p>One instance serves one kernel. Create it with {@link #create(String)} or {@link #builder()};
 * hosts built with the same {@link SwitchRegistry} (by default the JVM-wide one) share switches.
 * Thread-safe.
 */
public final class JvmHost implements Hypercalls {
    /** Prefix of memory-disk names. */
    public static final String MEMORY_PREFIX = "mem:";

    private static final AtomicInteger INSTANCES = new AtomicInteger();
    private static final long ORIGIN = System.nanoTime();

    private final String name;
    private final SwitchRegistry switches;
    private final ConsoleLogger console;
    private final HostClock clock = new RealClock();
    private final EventLoop loop;
    private final ExecutorService io;
    private final SecureRandom secureRandom = new SecureRandom();
    private final Map<String, MemoryBlockDevice.MemoryDisk> memoryDisks = new ConcurrentHashMap<>();
    private final OpenDevices open;
    private final Map<String, String> params;

    private JvmHost(Builder b) {
        this.name = b.name != null ? b.name : "jvm" + INSTANCES.incrementAndGet();
        this.switches = b.switches;
        this.open = new OpenDevices(name);
        this.console = new ConsoleLogger(name);
        this.loop = new EventLoop("jrump-loop-" + name, clock, e -> console.error("kernel task failed", e), !b.polled);
        int ioThreads = b.ioThreads > 0 ? b.ioThreads : Math.max(2, Runtime.getRuntime().availableProcessors());
        AtomicInteger ioIndex = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(ioThreads, ioThreads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "jrump-io-" + name + "-" + ioIndex.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        this.io = pool;
        this.params = Map.of(
                HostParams.NCPU, Integer.toString(Runtime.getRuntime().availableProcessors()),
                HostParams.HOSTNAME, name,
                "jvm.io-threads", Integer.toString(ioThreads),
                "java.version", System.getProperty("java.version", "unknown"));
    }

    /** A host with default settings on the JVM-wide switches. */
    public static JvmHost create(String name) {
        return builder().name(name).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Settings for a {@link JvmHost}. */
    public static final class Builder {
        private String name;
        private SwitchRegistry switches = SwitchRegistry.shared();
        private int ioThreads;
        private boolean polled;

        private Builder() {
        }

        /** The host's name: its thread names, console prefix and {@code hostname} parameter. */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /** The switches its NICs join; hosts that should see each other share one registry. */
        public Builder switches(SwitchRegistry switches) {
            this.switches = Objects.requireNonNull(switches, "switches");
            return this;
        }

        /** Threads for file I/O; the default is the CPU count, at least 2. */
        public Builder ioThreads(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("ioThreads must be at least 1: " + n);
            }
            this.ioThreads = n;
            return this;
        }

        /**
         * No event-loop thread: the kernel runs on the application's thread, when it calls
         * {@link JvmHost#poll()} (run-to-completion, as smoltcp's interfaces are polled), when a
         * socket call finds the loop idle, and while a blocking call waits (it runs the loop until
         * it can return). Timers fire only then. One thread may drive several such kernels by
         * polling each in turn; a blocking call runs only its own kernel, so two kernels on one
         * thread talk through non-blocking calls and polls.
         */
        public Builder polled() {
            this.polled = true;
            return this;
        }

        public JvmHost build() {
            return new JvmHost(this);
        }
    }

    @Override
    public int version() {
        return VERSION;
    }

    @Override
    public String name() {
        return "jvm:" + name;
    }

    /** The switches this host's NICs join. */
    public SwitchRegistry switches() {
        return switches;
    }

    @Override
    public HostParams params() {
        return key -> Optional.ofNullable(params.get(key));
    }

    @Override
    public HostClock clock() {
        return clock;
    }

    @Override
    public HostScheduler scheduler() {
        return loop;
    }

    @Override
    public HostRandom random() {
        return secureRandom::nextBytes;
    }

    @Override
    public HostConsole console() {
        return this::log;
    }

    private void log(Level level, String message) {
        console.log(level, message);
    }

    @Override
    public BlockDevices blockDevices() {
        return new BlockDevices() {
            @Override
            public HostBlockDevice open(String device, OpenMode mode) throws ErrnoException {
                return openBlock(device, mode == OpenMode.READ_ONLY);
            }

            @Override
            public HostBlockDevice create(String device, long size) throws ErrnoException {
                return createBlock(device, size);
            }
        };
    }

    @Override
    public NetworkInterfaces networkInterfaces() {
        return this::openNic;
    }

    private HostBlockDevice register(HostBlockDevice device) throws ErrnoException {
        return open.register(device, device::close);
    }

    private void unregister(Object device) {
        open.unregister(device);
    }

    private void checkOpen() throws ErrnoException {
        open.checkOpen();
    }

    private HostBlockDevice openBlock(String device, boolean readOnly) throws ErrnoException {
        checkOpen();
        if (device.startsWith(MEMORY_PREFIX)) {
            MemoryBlockDevice.MemoryDisk disk = memoryDisks.get(device);
            if (disk == null) {
                throw new ErrnoException(Errno.ENOENT, "no memory disk " + device + " on host " + name());
            }
            return register(new MemoryBlockDevice(device, disk, readOnly, loop, this::unregister));
        }
        Path path = path(device);
        if (!Files.exists(path)) {
            throw new ErrnoException(Errno.ENOENT, device);
        }
        checkRegularFile(path, device);
        try {
            RandomAccessFile file = new RandomAccessFile(path.toFile(), readOnly ? "r" : "rw");
            return register(new FileBlockDevice(device, file.getChannel(), readOnly, loop, io, this::unregister));
        } catch (IOException e) {
            throw IoErrors.wrap(e, "open " + device);
        }
    }

    private HostBlockDevice createBlock(String device, long size) throws ErrnoException {
        checkOpen();
        if (size < 0) {
            throw new ErrnoException(Errno.EINVAL, "create " + device + ": negative size " + size);
        }
        if (device.startsWith(MEMORY_PREFIX)) {
            if (device.length() == MEMORY_PREFIX.length()) {
                throw new ErrnoException(Errno.EINVAL, "memory disk name is empty");
            }
            MemoryBlockDevice.MemoryDisk disk = new MemoryBlockDevice.MemoryDisk(new SparseMemory(), size);
            if (memoryDisks.putIfAbsent(device, disk) != null) {
                throw new ErrnoException(Errno.EEXIST, "memory disk " + device + " exists on host " + name());
            }
            return register(new MemoryBlockDevice(device, disk, false, loop, this::unregister));
        }
        Path path = path(device);
        FileChannel channel = null;
        try {
            Files.createFile(path);
            RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw");
            channel = file.getChannel();
            file.setLength(size); // ftruncate(2): the file is one hole
            return register(new FileBlockDevice(device, channel, false, loop, io, this::unregister));
        } catch (IOException e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException ignored) {
                    // already failing; the first error is the one to report
                }
            }
            throw IoErrors.wrap(e, "create " + device);
        }
    }

    private static Path path(String device) throws ErrnoException {
        if (device.isEmpty() || device.indexOf('\0') >= 0) {
            throw new ErrnoException(Errno.EINVAL, "not a device name: '" + device.replace("\0", "\\0") + "'");
        }
        try {
            return Path.of(device);
        } catch (InvalidPathException e) {
            throw new ErrnoException(Errno.EINVAL, "not a path: " + device);
        }
    }

    private static void checkRegularFile(Path path, String device) throws ErrnoException {
        if (Files.isDirectory(path)) {
            throw new ErrnoException(Errno.EISDIR, device);
        }
        if (!Files.isRegularFile(path, new LinkOption[0])) {
            throw new ErrnoException(Errno.EOPNOTSUPP, device + ": the jvm host opens regular files only;"
                    + " use the linux host for block devices");
        }
    }

    private HostNic openNic(String switchName, NicOptions options, NetworkInterfaces.FrameReceiver receiver)
            throws ErrnoException {
        checkOpen();
        if (switchName.isEmpty()) {
            throw new ErrnoException(Errno.ENODEV, "empty switch name");
        }
        EthernetSwitch sw = switches.switchNamed(switchName);
        MacAddress mac = options.mac();
        if (mac == null) {
            do {
                mac = MacAddress.randomLocal(random());
            } while (sw.hasAddress(mac));
        } else if (mac.isMulticast()) {
            throw new ErrnoException(Errno.EINVAL, "MAC " + mac + " is a multicast address");
        }
        SwitchPort port = new SwitchPort(sw, name(), mac, options.mtuOrDefault(), SwitchPort.grant(options.offloads()),
                receiver, loop, this::unregister);
        sw.attach(port);
        return open.register(port, port::close);
    }

    /**
     * Runs the kernel's ready work on the calling thread: tasks, due timers, frames that arrived,
     * and what they make ready in turn. Returns whether anything ran. For a host built
     * {@link Builder#polled()}; on any host it does nothing while another thread runs the loop.
     */
    public boolean poll() {
        return loop.poll();
    }

    /**
     * How long the application may wait before it must poll again for the kernel's timers: 0 if
     * work is ready, -1 if no timer is set. Frames from other kernels or devices may make work
     * ready sooner.
     */
    public long pollDelayNanos() {
        return loop.nanosUntilWork();
    }

    /** Memory disks created on this host, by name. */
    public List<String> memoryDiskNames() {
        return new ArrayList<>(memoryDisks.keySet());
    }

    @Override
    public void close() {
        if (!open.closeAll()) {
            return;
        }
        io.shutdown();
        loop.close();
        memoryDisks.clear();
    }

    @Override
    public String toString() {
        return "JvmHost[" + name + "]";
    }

    /** {@link System#nanoTime()} from the class's load, plus one so it starts above zero. */
    private static final class RealClock implements HostClock {
        @Override
        public long monotonicNanos() {
            return System.nanoTime() - ORIGIN + 1;
        }

        @Override
        public long wallNanos() {
            Instant now = Instant.now();
            return now.getEpochSecond() * 1_000_000_000L + now.getNano();
        }
    }
}
