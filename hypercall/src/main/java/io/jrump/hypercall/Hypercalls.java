package io.jrump.hypercall;

import java.util.Optional;

/**
 * The hypercall interface: everything a jrump kernel asks of the world outside it.
 *
 * <p>Modelled on NetBSD's rumpuser(3). A kernel reads time, gets threads and timers, draws random
 * bytes, writes console messages and opens block devices and network interfaces only through
 * these calls, so the same component code runs on every host: a plain JVM, a deterministic
 * simulator, native Linux devices. Each call is specified in {@code docs/hypercall.md}.
 *
 * <p>One {@code Hypercalls} instance serves one kernel; it is owned by the kernel booted on it and
 * closed by that kernel's shutdown. Several instances (several kernels) may share an outside
 * world, such as an Ethernet switch or a simulation.
 *
 * <p>Every group is safe to call from any thread unless its own documentation says otherwise.
 * Callbacks (I/O completions, received frames, scheduled tasks) always run on this instance's
 * event loop, one at a time, never nested inside the call that asked for them.
 */
public interface Hypercalls extends AutoCloseable {

    /**
     * The version of the contract this code defines. A kernel boots only on a host that reports
     * the same {@link #version()}; every change to a call's meaning increments it, and
     * {@code docs/hypercall.md} records the history.
     */
    int VERSION = 2;

    /** The contract version the host implements; must equal {@link #VERSION} to boot. */
    int version();

    /** A short name of this host instance for logs and traces, e.g. {@code "jvm:a"}. */
    String name();

    /** Named host parameters: CPU count, host name, limits. */
    HostParams params();

    /** Monotonic and wall time. */
    HostClock clock();

    /** The kernel's event loop: tasks now and at deadlines. */
    HostScheduler scheduler();

    /** Random bytes; seeded under simulation. */
    HostRandom random();

    /** Kernel console messages. */
    HostConsole console();

    /** Block devices: host files, memory disks, raw devices. */
    BlockDevices blockDevices();

    /** Network interfaces: switch ports, TAP devices. */
    NetworkInterfaces networkInterfaces();

    /**
     * An optional device group, if this host offers it, found by its interface type
     * ({@code host.optional(FuseChannels.class)}). The default offers none.
     */
    default <T> Optional<T> optional(Class<T> group) {
        return Optional.empty();
    }

    /**
     * FUSE channels, if this host can mount them (the Linux host can); empty by default. A default
     * method, so hosts that offer none need no change: the contract version stays 2. Equivalent to
     * {@code optional(FuseChannels.class)}.
     */
    default Optional<FuseChannels> fuse() {
        return optional(FuseChannels.class);
    }

    /**
     * Releases the host: closes every device opened through it, stops its event loop and drops
     * tasks not yet run. Idempotent. After it, calls fail with {@link Errno#ESHUTDOWN} (device
     * opens) or {@link IllegalStateException} (scheduling). May be called from the event loop,
     * in which case the loop ends after the current task.
     */
    @Override
    void close();
}
