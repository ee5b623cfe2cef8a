package io.jrump.host.sim;

import io.jrump.host.sim.internal.Seeds;
import io.jrump.host.sim.internal.Trace;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostConsole;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A deterministic simulated world, in the manner of FoundationDB's simulation testing: one virtual
 * clock, one event queue and one seed shared by any number of {@link SimHost hosts},
 * {@link SimDisk disks} and {@link SimLink links}. Nothing happens between calls to the driving
 * methods ({@link #step}, {@link #runFor}, {@link #runUntil}, {@link #runUntilIdle}); they run
 * queued events one at a time, in (time, submission) order, moving the clock to each event's
 * time. The same seed and the same driving give the same run, and {@link #traceHex()} proves it.
 *
 * <p>Time: monotonic time starts at {@link #START_NANOS}; wall time is
 * {@link #WALL_ORIGIN_NANOS} (2026-01-01T00:00:00Z) plus monotonic time.
 *
 * <p>Threads: confined to the thread that created it. Every method of the world and of its hosts,
 * disks, links and devices that reads or changes simulated state throws
 * {@link IllegalStateException} ("simulation driven from two threads") when called from any other
 * thread, since a second thread is a source of nondeterminism. Nothing blocks.
 *
 * <p>Failures: a task that throws is a bug in the code under test. The world logs it at ERROR to
 * the {@code io.jrump.console} logger, records it in {@link #failures()} and the trace, and the
 * driving method that ran it throws {@link IllegalStateException} ("simulated task failed at
 * t=…") with the task's exception as the cause. Later events stay queued, so a test may look
 * around and even drive on.
 */
public final class SimWorld {
    /** Monotonic time at creation: one second, so that a zero timestamp stands out as a bug. */
    public static final long START_NANOS = 1_000_000_000L;
    /** Wall time of monotonic zero: 2026-01-01T00:00:00Z in nanoseconds since the epoch. */
    public static final long WALL_ORIGIN_NANOS = 1_767_225_600L * 1_000_000_000L;

    private static final Logger CONSOLE = LoggerFactory.getLogger(HostConsole.LOGGER_NAME);

    private final long seed;
    private final Thread owner = Thread.currentThread();
    private final EventQueue queue = new EventQueue();
    private final Trace trace = new Trace();
    private final Map<String, SimHost> hosts = new LinkedHashMap<>();
    private final Map<String, Integer> incarnations = new HashMap<>();
    private final Map<String, SimDisk> disks = new LinkedHashMap<>();
    private final Map<String, SimLink> links = new LinkedHashMap<>();
    private final List<Throwable> failures = new ArrayList<>();
    private long now = START_NANOS;
    private long eventCount;
    private boolean running;
    private SimHost current;

    /** A world whose every random choice derives from {@code seed}. */
    public SimWorld(long seed) {
        this.seed = seed;
        trace("world", "seed " + seed);
    }

    public long seed() {
        return seed;
    }

    /** The virtual monotonic time in nanoseconds. */
    public long now() {
        checkThread();
        return now;
    }

    // ---- hosts, disks, links -------------------------------------------------------------------

    /**
     * A new host named {@code "sim:" + name}. Its random stream derives from the seed and the
     * name, so hosts keep their streams when others are added. A name may be reused once the
     * host that had it has closed (a reboot); the new incarnation gets a fresh stream.
     *
     * @throws IllegalArgumentException for an empty name or one an open host has
     */
    public SimHost newHost(String name) {
        checkThread();
        requireName(name, "host");
        SimHost old = hosts.get(name);
        if (old != null && !old.isClosed()) {
            throw new IllegalArgumentException("host sim:" + name + " is already running");
        }
        int incarnation = incarnations.merge(name, 1, Integer::sum) - 1;
        String purpose = "host:" + name + (incarnation == 0 ? "" : "#" + incarnation);
        SimHost host = new SimHost(this, name, Seeds.stream(seed, purpose));
        hosts.put(name, host);
        trace("world", "boot " + host.name() + (incarnation == 0 ? "" : " incarnation " + incarnation));
        return host;
    }

    /**
     * Creates a disk of {@code size} bytes reading as zeros, which any host may then open by name.
     *
     * @throws IllegalArgumentException for an empty name, a negative size or a name in use
     */
    public SimDisk createDisk(String name, long size) {
        checkThread();
        try {
            return newDisk(name, size);
        } catch (ErrnoException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * Creates a disk with {@code image}'s size and contents (durable, as if flushed), which any
     * host may then open by name. The disk shares the image's pages copy-on-write: creating it
     * copies no data, and its writes stay its own.
     *
     * @throws IllegalArgumentException for an empty name or a name in use
     */
    public SimDisk createDisk(String name, SimDisk.Image image) {
        checkThread();
        java.util.Objects.requireNonNull(image, "image");
        try {
            return newDisk(name, image.size(), image);
        } catch (ErrnoException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** The disk of that name, if one was created. */
    public Optional<SimDisk> disk(String name) {
        checkThread();
        return Optional.ofNullable(disks.get(name));
    }

    /** The link of that name, created on first use. Hosts' NICs opened by that name attach to it. */
    public SimLink link(String name) {
        checkThread();
        requireName(name, "link");
        return links.computeIfAbsent(name, n -> {
            trace("world", "new link " + n);
            return new SimLink(this, n, Seeds.stream(seed, "link:" + n));
        });
    }

    // ---- driving -------------------------------------------------------------------------------

    /**
     * Runs the next event, moving the clock to its time.
     *
     * @return false if no event was queued
     * @throws IllegalStateException if the event's task threw, or if called from inside a task
     */
    public boolean step() {
        checkDriver();
        Event e = queue.poll();
        if (e == null) {
            return false;
        }
        run(e);
        return true;
    }

    /** Runs every event due within {@code time} from now, then sets the clock to now + time. */
    public void runFor(Duration time) {
        runFor(time.toNanos());
    }

    /** Runs every event due within {@code nanos} from now, then sets the clock to now + nanos. */
    public void runFor(long nanos) {
        checkDriver();
        if (nanos < 0) {
            throw new IllegalArgumentException("cannot run for negative time: " + nanos);
        }
        long end = plus(now, nanos);
        for (Event e = queue.peek(); e != null && e.time <= end; e = queue.peek()) {
            run(queue.poll());
        }
        now = Math.max(now, end);
    }

    /**
     * Runs events until {@code condition} holds, checking it before each event.
     *
     * @return true once it holds; false if no event is left (the clock stays where the last event
     *     left it) or the next event lies beyond {@code maxVirtual} from now (the clock is then set
     *     to that limit)
     */
    public boolean runUntil(BooleanSupplier condition, Duration maxVirtual) {
        checkDriver();
        long limit = plus(now, maxVirtual.toNanos());
        while (!condition.getAsBoolean()) {
            Event e = queue.peek();
            if (e == null) {
                return false;
            }
            if (e.time > limit) {
                now = Math.max(now, limit);
                return false;
            }
            run(queue.poll());
        }
        return true;
    }

    /**
     * Runs events until none is left.
     *
     * @throws IllegalStateException if events are still due beyond {@code maxVirtual} from now (a
     *     timer that re-arms forever, say); the clock is then at that limit
     */
    public void runUntilIdle(Duration maxVirtual) {
        checkDriver();
        long limit = plus(now, maxVirtual.toNanos());
        for (Event e = queue.peek(); e != null; e = queue.peek()) {
            if (e.time > limit) {
                now = Math.max(now, limit);
                throw new IllegalStateException("not idle after " + maxVirtual + " of virtual time: next is "
                        + e.actor + " " + e.label + " at t=" + format(e.time));
            }
            run(queue.poll());
        }
    }

    // ---- trace ---------------------------------------------------------------------------------

    /** Hex SHA-256 of the trace so far: every event, frame, disk operation and fault. */
    public String traceHex() {
        checkThread();
        return trace.hex();
    }

    /** Events run so far. */
    public long eventCount() {
        checkThread();
        return eventCount;
    }

    /** The last {@value Trace#TAIL_LINES} trace lines, oldest first, for debugging. */
    public List<String> traceTail() {
        checkThread();
        return trace.tail();
    }

    /** The exceptions tasks have thrown, in order. */
    public List<Throwable> failures() {
        checkThread();
        return List.copyOf(failures);
    }

    // ---- for hosts, disks and links ------------------------------------------------------------

    void checkThread() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("simulation driven from two threads: created on \""
                    + owner.getName() + "\", called on \"" + Thread.currentThread().getName() + "\"");
        }
    }

    /** Queues an action at {@code time} (which may be past: it then runs before later ones). */
    Event post(SimHost host, long time, String actor, String label, Runnable action) {
        return queue.add(time, host, actor, label, Objects.requireNonNull(action, "task"));
    }

    boolean cancel(Event e) {
        return queue.cancel(e);
    }

    /** Runs a callback as {@code host}'s event loop, unless the host has closed. */
    void callOnHost(SimHost host, Runnable callback) {
        if (host.isClosed()) {
            return;
        }
        SimHost outer = current;
        current = host;
        try {
            callback.run();
        } finally {
            current = outer;
        }
    }

    /** The host whose event loop is running right now, or null. */
    SimHost currentHost() {
        return current;
    }

    void hostClosed(SimHost host) {
        queue.dropTasksOf(host);
        trace("world", "halt " + host.name());
    }

    /** A trace line that is not an event: a frame dropped, a fault injected, a console message. */
    void trace(String actor, String text) {
        trace.add("t=" + format(now) + " " + actor + " " + text);
    }

    SplittableRandom stream(String purpose) {
        return Seeds.stream(seed, purpose);
    }

    SimDisk newDisk(String name, long size) throws ErrnoException {
        return newDisk(name, size, null);
    }

    private SimDisk newDisk(String name, long size, SimDisk.Image image) throws ErrnoException {
        if (name.isEmpty()) {
            throw new ErrnoException(Errno.EINVAL, "simulated disk with an empty name");
        }
        if (size < 0) {
            throw new ErrnoException(Errno.EINVAL, "simulated disk " + name + " of negative size " + size);
        }
        if (disks.containsKey(name)) {
            throw new ErrnoException(Errno.EEXIST, "simulated disk " + name);
        }
        SimDisk disk = new SimDisk(this, name, size, stream("disk:" + name), image);
        disks.put(name, disk);
        trace("world", "new disk " + name + " of " + size + " bytes" + (image == null ? "" : " from an image"));
        return disk;
    }

    SimDisk existingDisk(String name) throws ErrnoException {
        if (name.isEmpty()) {
            throw new ErrnoException(Errno.EINVAL, "simulated disk with an empty name");
        }
        SimDisk disk = disks.get(name);
        if (disk == null) {
            throw new ErrnoException(Errno.ENOENT, "simulated disk " + name);
        }
        return disk;
    }

    /** Seconds with nanosecond digits, as trace lines and console prefixes show time. */
    static String format(long nanos) {
        String frac = Long.toString(1_000_000_000L + Math.floorMod(nanos, 1_000_000_000L)).substring(1);
        return Math.floorDiv(nanos, 1_000_000_000L) + "." + frac;
    }

    /** How much virtual time {@link io.jrump.hypercall.HostScheduler#await} lets pass before ETIMEDOUT. */
    public static final Duration AWAIT_LIMIT = Duration.ofHours(1);

    /**
     * Runs the simulation until the future is done: the simulated form of a thread blocking on
     * it. Refused from inside a task, where the world could not make progress.
     */
    void awaitDone(java.util.concurrent.Future<?> future) throws ErrnoException {
        checkThread();
        if (future.isDone()) {
            return;
        }
        if (running) {
            throw new ErrnoException(Errno.EDEADLK, "blocking wait inside a simulated task at t=" + format(now)
                    + ": the awaited work could never run");
        }
        long limit = plus(now, AWAIT_LIMIT.toNanos());
        while (!future.isDone()) {
            Event e = queue.peek();
            if (e == null) {
                throw new ErrnoException(Errno.EDEADLK, "the simulation ran out of events at t=" + format(now)
                        + " while waiting");
            }
            if (e.time > limit) {
                throw new ErrnoException(Errno.ETIMEDOUT, "still waiting after " + AWAIT_LIMIT
                        + " of simulated time, at t=" + format(now));
            }
            run(queue.poll());
        }
    }

    // ---- internals -----------------------------------------------------------------------------

    private void run(Event e) {
        now = Math.max(now, e.time);
        eventCount++;
        trace.add("t=" + format(now) + " #" + e.seq + " " + e.actor + " " + e.label);
        running = true;
        current = e.host;
        try {
            e.action.run();
        } catch (VirtualMachineError fatal) {
            throw fatal;
        } catch (Throwable t) {
            failed(e, t);
        } finally {
            running = false;
            current = null;
        }
    }

    private void failed(Event e, Throwable t) {
        failures.add(t);
        // Only the class name goes into the trace: messages may hold identity hash codes.
        trace(e.actor, "task failed: " + t.getClass().getName());
        CONSOLE.error("[{} t={}] task failed: {}", e.actor, format(now), e.label, t);
        throw new IllegalStateException("simulated task failed at t=" + format(now) + " in " + e.actor
                + " " + e.label, t);
    }

    private void checkDriver() {
        checkThread();
        if (running) {
            throw new IllegalStateException("the simulation is driven from inside one of its own tasks");
        }
    }

    private static void requireName(String name, String what) {
        if (name.isEmpty()) {
            throw new IllegalArgumentException("a " + what + " needs a name");
        }
    }

    private static long plus(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }
}
