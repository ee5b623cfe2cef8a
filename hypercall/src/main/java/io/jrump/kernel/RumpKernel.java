package io.jrump.kernel;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;
import io.jrump.kernel.internal.ComponentGraph;
import io.jrump.kernel.internal.TrackingHypercalls;
import io.jrump.kernel.sys.DescriptorTable;
import io.jrump.kernel.sys.Syscalls;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * One booted kernel: a host, the components started on it, and the callouts they set.
 *
 * <p>{@link #boot} takes ownership of the host: {@link #close()}, or a failed boot, stops the
 * components in reverse start order, cancels pending callouts, closes every device the components
 * opened and closes the host. Kernels share nothing, so several can run in one JVM.
 *
 * <p>Thread-safe. {@code boot} and {@code close} block while components start and stop.
 */
public final class RumpKernel implements AutoCloseable {

    /** Where a kernel is in its life. */
    public enum State {
        BOOTING, RUNNING, SHUTTING_DOWN, SHUT_DOWN
    }

    private final String name;
    private final Hypercalls realHost;
    private final TrackingHypercalls host;
    private final BootOptions options;
    private final List<Component> started = new ArrayList<>();
    private final Set<Callout> pendingCallouts = ConcurrentHashMap.newKeySet();
    private final Syscalls sys = new Syscalls(new DescriptorTable());
    private volatile State state = State.BOOTING;

    private RumpKernel(Hypercalls realHost, BootOptions options) {
        this.name = options.name();
        this.realHost = realHost;
        this.host = new TrackingHypercalls(realHost);
        this.options = options;
    }

    /** Boots with {@link BootOptions#defaults()}. */
    public static RumpKernel boot(Hypercalls host) throws ErrnoException {
        return boot(host, BootOptions.defaults());
    }

    /**
     * Boots a kernel on the host: checks the hypercall version, finds the components, starts them
     * in dependency order.
     *
     * @throws ErrnoException {@code ENOSYS} if the host implements another hypercall version;
     *     {@code ENOENT} or {@code EINVAL} if the components cannot be resolved; whatever a
     *     component's start throws. The host is closed in every case.
     */
    public static RumpKernel boot(Hypercalls host, BootOptions options) throws ErrnoException {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(options, "options");
        RumpKernel kernel = new RumpKernel(host, options);
        try {
            kernel.start();
            return kernel;
        } catch (ErrnoException | RuntimeException | Error e) {
            kernel.close();
            throw e;
        }
    }

    private void start() throws ErrnoException {
        if (realHost.version() != Hypercalls.VERSION) {
            throw new ErrnoException(Errno.ENOSYS, "host " + realHost.name() + " implements hypercall version "
                    + realHost.version() + ", this kernel needs version " + Hypercalls.VERSION);
        }
        List<Component> order = ComponentGraph.startOrder(findComponents(), options.componentNames());
        log(Level.INFO, "jrump kernel " + name + " booting on host " + realHost.name() + " (hypercall version "
                + Hypercalls.VERSION + ", " + order.size() + " components)");
        for (Component c : order) {
            c.start(this);
            synchronized (started) {
                started.add(c);
            }
            log(Level.DEBUG, "component " + c.name() + " started");
        }
        state = State.RUNNING;
        log(Level.INFO, "jrump kernel " + name + " running: "
                + order.stream().map(Component::name).collect(Collectors.joining(" ")));
    }

    private List<Component> findComponents() {
        Optional<List<Component>> explicit = options.componentInstances();
        if (explicit.isPresent()) {
            return explicit.get();
        }
        ClassLoader loader = options.classLoader().orElse(Thread.currentThread().getContextClassLoader());
        List<Component> found = new ArrayList<>();
        ServiceLoader.load(Component.class, loader).forEach(found::add);
        return found;
    }

    /** The kernel's name from its boot options. */
    public String name() {
        return name;
    }

    public State state() {
        return state;
    }

    /**
     * The host as components use it. Devices opened through it are closed by the kernel's
     * shutdown; closing this view closes only those devices, never the host.
     */
    public Hypercalls host() {
        return host;
    }

    /**
     * The kernel's system calls: files, mounts and sockets on one descriptor table, served by the
     * components that booted (a call whose component is missing fails with {@code ENOSYS}).
     */
    public Syscalls sys() {
        return sys;
    }

    /** A property from the boot options. */
    public Optional<String> property(String key) {
        return Optional.ofNullable(options.properties().get(key));
    }

    /** The running components, in start order. */
    public List<Component> components() {
        synchronized (started) {
            return Collections.unmodifiableList(new ArrayList<>(started));
        }
    }

    /** The started component of this type, if any. */
    public <T> Optional<T> component(Class<T> type) {
        for (Component c : components()) {
            if (type.isInstance(c)) {
                return Optional.of(type.cast(c));
            }
        }
        return Optional.empty();
    }

    /** A new, idle timer on this kernel's event loop. */
    public Callout newCallout(String calloutName) {
        return new Callout(this, calloutName);
    }

    /** How many devices the components hold open; zero after {@link #close()}. */
    public int openDeviceCount() {
        return host.openDeviceCount();
    }

    /** How many callouts are waiting to fire. */
    public int pendingCalloutCount() {
        return pendingCallouts.size();
    }

    void calloutPending(Callout c, boolean pending) {
        if (pending) {
            pendingCallouts.add(c);
        } else {
            pendingCallouts.remove(c);
        }
    }

    boolean isShuttingDown() {
        State s = state;
        return s == State.SHUTTING_DOWN || s == State.SHUT_DOWN;
    }

    private void log(Level level, String message) {
        realHost.console().log(level, message);
    }

    /**
     * Shuts the kernel down: stops the components in reverse start order, cancels pending
     * callouts, closes the devices they left open, then closes the host. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (isShuttingDown()) {
                return;
            }
            state = State.SHUTTING_DOWN;
        }
        List<Component> toStop = components();
        for (int i = toStop.size() - 1; i >= 0; i--) {
            Component c = toStop.get(i);
            try {
                c.stop();
            } catch (RuntimeException e) {
                log(Level.ERROR, "component " + c.name() + " failed to stop: " + e);
            }
        }
        synchronized (started) {
            started.clear();
        }
        for (Callout c : new ArrayList<>(pendingCallouts)) {
            c.stop();
        }
        host.closeDevices();
        log(Level.INFO, "jrump kernel " + name + " halted");
        realHost.close();
        state = State.SHUT_DOWN;
    }

    @Override
    public String toString() {
        return "RumpKernel[" + name + " on " + realHost.name() + ", " + state + "]";
    }
}
