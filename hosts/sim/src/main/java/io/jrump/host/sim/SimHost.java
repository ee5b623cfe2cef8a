package io.jrump.host.sim;

import io.jrump.hypercall.BlockDevices;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import io.jrump.hypercall.HostConsole;
import io.jrump.hypercall.HostParams;
import io.jrump.hypercall.HostRandom;
import io.jrump.hypercall.HostScheduler;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.NetworkInterfaces;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * One simulated machine: the {@link Hypercalls} of one kernel inside a {@link SimWorld}. Its
 * clock is the world's; its event loop is the world's queue, running this host's tasks; its random
 * bytes come from a stream derived from the world seed and the host's name; its console goes to
 * the {@code io.jrump.console} logger, prefixed {@code [sim:NAME t=SECONDS]}, and to the trace.
 * Block devices are the world's {@link SimDisk disks} by name; NICs are ports on the world's
 * {@link SimLink links} by name.
 *
 * <p>Parameters: {@code ncpu} = 1, {@code hostname} = the name given to
 * {@link SimWorld#newHost}, {@code sim.seed} = the world seed.
 *
 * <p>Confined to the world's thread (see {@link SimWorld}); unlike other hosts, calls from any
 * other thread throw {@link IllegalStateException}. Nothing blocks. {@link #close()} closes the
 * devices opened through it and drops its pending tasks; afterwards scheduling throws
 * {@link IllegalStateException} and opens fail with {@link Errno#ESHUTDOWN}.
 */
public final class SimHost implements Hypercalls {
    /** The parameter holding the world seed, in decimal. */
    public static final String SEED_PARAM = "sim.seed";

    private final SimWorld world;
    private final String name;
    private final HostParams params;
    private final HostClock clock;
    private final HostScheduler scheduler;
    private final HostRandom random;
    private final SimConsole console;
    private final BlockDevices blockDevices;
    private final NetworkInterfaces networkInterfaces;
    private final Set<SimBlockDevice> openDevices = new LinkedHashSet<>();
    private final Set<SimNic> openNics = new LinkedHashSet<>();
    private boolean closed;

    SimHost(SimWorld world, String name, SplittableRandom stream) {
        this.world = world;
        this.name = name;
        Map<String, String> values = Map.of(HostParams.NCPU, "1", HostParams.HOSTNAME, name, SEED_PARAM,
                Long.toString(world.seed()));
        this.params = key -> {
            world.checkThread();
            return Optional.ofNullable(values.get(key));
        };
        this.clock = new SimClock(world);
        this.scheduler = new SimScheduler(world, this);
        this.random = bytes -> {
            world.checkThread();
            stream.nextBytes(bytes);
        };
        this.console = new SimConsole(world, this);
        this.blockDevices = new SimBlockDevices(world, this);
        this.networkInterfaces = new SimNetworkInterfaces(world, this);
    }

    /** The world it lives in. */
    public SimWorld world() {
        return world;
    }

    /** Whether {@link #close()} has run. */
    public boolean isClosed() {
        world.checkThread();
        return closed;
    }

    @Override
    public int version() {
        return Hypercalls.VERSION;
    }

    /** {@code "sim:" + name}. */
    @Override
    public String name() {
        return "sim:" + name;
    }

    @Override
    public HostParams params() {
        return params;
    }

    @Override
    public HostClock clock() {
        return clock;
    }

    @Override
    public HostScheduler scheduler() {
        return scheduler;
    }

    @Override
    public HostRandom random() {
        return random;
    }

    @Override
    public HostConsole console() {
        return console;
    }

    /**
     * Stops echoing this host's console lines to the {@code io.jrump.console} logger; they still go
     * to the world trace. For a host whose last words are expected noise, e.g. a kernel shut down
     * after its disk lost power, whose unmount can only report the writes it lost.
     */
    public void muteConsole() {
        world.checkThread();
        console.mute();
    }

    @Override
    public BlockDevices blockDevices() {
        return blockDevices;
    }

    @Override
    public NetworkInterfaces networkInterfaces() {
        return networkInterfaces;
    }

    /** Closes its devices and drops its pending tasks. Idempotent; may run from its own loop. */
    @Override
    public void close() {
        world.checkThread();
        if (closed) {
            return;
        }
        closed = true;
        for (SimBlockDevice d : List.copyOf(openDevices)) {
            d.close();
        }
        for (SimNic n : List.copyOf(openNics)) {
            n.close();
        }
        world.hostClosed(this);
    }

    // ---- for its device groups -----------------------------------------------------------------

    /** The name given to {@link SimWorld#newHost}, as partitions name hosts. */
    String shortName() {
        return name;
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("host " + name() + " is closed");
        }
    }

    void checkOpenForDevices(String what) throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.ESHUTDOWN, "host " + name() + " is closed: cannot open " + what);
        }
    }

    SimBlockDevice track(SimBlockDevice device) {
        openDevices.add(device);
        return device;
    }

    void untrack(SimBlockDevice device) {
        openDevices.remove(device);
    }

    SimNic track(SimNic nic) {
        openNics.add(nic);
        return nic;
    }

    void untrack(SimNic nic) {
        openNics.remove(nic);
    }
}
