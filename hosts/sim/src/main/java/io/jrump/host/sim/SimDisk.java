package io.jrump.host.sim;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.HostBlockDevice.IoCompletion;
import io.jrump.host.kit.BlockRequests;
import io.jrump.host.kit.SparseMemory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A simulated disk of fixed size with 512-byte sectors, shared by the hosts of a world, that
 * loses data the way real disks do.
 *
 * <p>It keeps three layers: the data reads see; the writes (and discards) that have completed but
 * are not yet flushed, in completion order; and the durable data. Every operation completes at
 * its issue time plus a latency drawn from {@code [min, max]} (by default
 * {@value #DEFAULT_MIN_LATENCY_NANOS} to {@value #DEFAULT_MAX_LATENCY_NANOS} ns), so operations
 * overtake each other; reads copy and writes take their bytes at completion. A flush issued while
 * k writes are completed but unflushed makes exactly those k durable when it completes.
 *
 * <p>Faults: {@link #failOperation}, {@link #setLatency}, {@link #setTornWrites} and
 * {@link #powerCut}. Every random choice comes from a stream derived from the world seed and the
 * disk's name; every operation and fault goes into the world trace.
 *
 * <p>Confined to the world's thread (see {@link SimWorld}). Nothing blocks.
 */
public final class SimDisk {
    public static final int SECTOR_SIZE = 512;
    public static final long DEFAULT_MIN_LATENCY_NANOS = 10_000;
    public static final long DEFAULT_MAX_LATENCY_NANOS = 100_000;
    /** A torn write of more sectors than this tears into this many sector-aligned pieces. */
    public static final int MAX_TORN_PIECES = 1024;

    /** Operation counts since creation. Operations that fail their argument checks are not counted. */
    public record Stats(long reads, long writes, long flushes, long discards, long injectedFailures,
                        long lostInFlight) {
    }

    enum Op { READ, WRITE, FLUSH, DISCARD }

    private final SimWorld world;
    private final String name;
    private final long size;
    private final SplittableRandom random;
    private final SparseMemory durable;
    private SparseMemory visible;
    private final List<PendingWrite> unflushed = new ArrayList<>();
    private final Set<Event> inFlight = new LinkedHashSet<>();
    private final Map<Long, Errno> failAt = new HashMap<>();
    private long issued;
    private int powerCycles;
    private long minLatency = DEFAULT_MIN_LATENCY_NANOS;
    private long maxLatency = DEFAULT_MAX_LATENCY_NANOS;
    private boolean tornWrites;
    private final long[] counts = new long[Op.values().length];
    private long injected;
    private long lost;

    SimDisk(SimWorld world, String name, long size, SplittableRandom random, Image base) {
        this.world = world;
        this.name = name;
        this.size = size;
        this.random = random;
        this.durable = base == null ? new SparseMemory() : base.data.copy();
        this.visible = durable.copy();
    }

    /**
     * Fixed disk contents to start disks from ({@link SimWorld#createDisk(String, Image)}): every
     * disk made from one image shares its pages copy-on-write, so a harness makes its image once
     * and each run starts from it without copying it. Immutable; usable from any world.
     */
    public static final class Image {
        private final long size;
        private final SparseMemory data;

        private Image(long size, SparseMemory data) {
            this.size = size;
            this.data = data;
        }

        /**
         * An image of {@code size} bytes holding {@code content}'s first bytes and zeros after
         * (content longer than {@code size} is cut).
         */
        public static Image of(byte[] content, long size) {
            if (size < 0) {
                throw new IllegalArgumentException("image of negative size " + size);
            }
            SparseMemory data = new SparseMemory();
            data.write(0, ByteBuffer.wrap(content, 0, (int) Math.min(content.length, size)));
            return new Image(size, data);
        }

        /** Size in bytes of the disks made from it. */
        public long size() {
            return size;
        }
    }

    /**
     * This disk's durable contents as an {@link Image}, shared copy-on-write (this disk keeps
     * working and its later writes do not reach the image).
     *
     * @throws IllegalStateException while writes are unflushed or operations in flight: the
     *     image would depend on a power cut's draw
     */
    public Image image() {
        world.checkThread();
        if (!unflushed.isEmpty() || !inFlight.isEmpty()) {
            throw new IllegalStateException("disk " + name + " has " + unflushed.size() + " unflushed writes and "
                    + inFlight.size() + " operations in flight: flush and wait first");
        }
        return new Image(size, durable.copy());
    }

    public String name() {
        return name;
    }

    /** Size in bytes; disks do not grow. */
    public long size() {
        return size;
    }

    /**
     * Makes the {@code nth} operation from now (1 = the next one issued on any handle) complete
     * with {@code errno} and change nothing. Only operations that pass their argument checks
     * count.
     */
    public void failOperation(long nth, Errno errno) {
        world.checkThread();
        Objects.requireNonNull(errno, "errno");
        if (nth < 1) {
            throw new IllegalArgumentException("operations are counted from 1: " + nth);
        }
        failAt.put(issued + nth, errno);
        world.trace(actor(), "fault: operation #" + (issued + nth) + " will fail with " + errno.name());
    }

    /** Sets the range each operation's latency is drawn from, in virtual nanoseconds. */
    public void setLatency(long minNanos, long maxNanos) {
        world.checkThread();
        if (minNanos < 0 || maxNanos < minNanos || maxNanos == Long.MAX_VALUE) {
            throw new IllegalArgumentException("latency range " + minNanos + ".." + maxNanos);
        }
        minLatency = minNanos;
        maxLatency = maxNanos;
        world.trace(actor(), "fault: latency " + minNanos + ".." + maxNanos + " ns");
    }

    /** Whether a power cut may persist only some sectors of an unflushed multi-sector write. */
    public void setTornWrites(boolean enabled) {
        world.checkThread();
        tornWrites = enabled;
        world.trace(actor(), "fault: torn writes " + (enabled ? "on" : "off"));
    }

    /**
     * Cuts the power. Each completed but unflushed write is, by the disk's seeded random, lost,
     * kept whole, or (with torn writes on, if it spans more than one sector) torn: a random subset
     * of its sectors persisted. Reads then see the durable data; operations in flight never
     * complete; handles opened before the cut fail every later operation with {@link Errno#EIO};
     * handles opened afterwards work.
     */
    public void powerCut() {
        world.checkThread();
        world.trace(actor(), "fault: power cut with " + unflushed.size() + " unflushed writes and "
                + inFlight.size() + " operations in flight");
        for (Event e : inFlight) {
            world.cancel(e);
        }
        lost += inFlight.size();
        inFlight.clear();
        for (PendingWrite w : unflushed) {
            settle(w);
        }
        unflushed.clear();
        visible = durable.copy();
        powerCycles++;
    }

    /** Writes and discards that have completed but are not yet durable. */
    public int unflushedWrites() {
        world.checkThread();
        return unflushed.size();
    }

    public Stats stats() {
        world.checkThread();
        return new Stats(counts[Op.READ.ordinal()], counts[Op.WRITE.ordinal()], counts[Op.FLUSH.ordinal()],
                counts[Op.DISCARD.ordinal()], injected, lost);
    }

    @Override
    public String toString() {
        return actor();
    }

    // ---- for handles ---------------------------------------------------------------------------

    SimBlockDevice open(SimHost host, boolean readOnly) {
        world.trace(actor(), "opened by " + host.name() + (readOnly ? " read-only" : " read-write"));
        return new SimBlockDevice(world, this, host, readOnly, powerCycles);
    }

    int powerCycles() {
        return powerCycles;
    }

    /** Starts an operation that passed its checks; it completes after the drawn latency. */
    void submit(SimBlockDevice handle, Op op, long offset, long length, ByteBuffer buffer, IoCompletion done) {
        counts[op.ordinal()]++;
        Errno fault = failAt.remove(++issued);
        List<PendingWrite> barrier = op == Op.FLUSH ? List.copyOf(unflushed) : null;
        long at = world.now() + minLatency + random.nextLong(maxLatency - minLatency + 1);
        String what = describe(op, offset, length) + " for " + handle.host().name();
        Event[] self = new Event[1];
        self[0] = world.post(null, at, actor(), what, () -> {
            inFlight.remove(self[0]);
            if (fault != null) {
                injected++;
            } else {
                perform(op, offset, buffer, barrier, length);
            }
            world.trace(actor(), what + " -> " + (fault == null ? "ok" : fault.name() + " (injected)"));
            handle.complete(done, fault == null ? length : 0, fault);
        });
        inFlight.add(self[0]);
    }

    /** Reports an operation refused before it reached the medium, on the next turn of the loop. */
    void refuse(SimBlockDevice handle, Op op, long offset, long length, Errno error, IoCompletion done) {
        world.post(null, world.now(), actor(),
                describe(op, offset, length) + " for " + handle.host().name() + " -> " + error.name(),
                () -> handle.complete(done, 0, error));
    }

    // ---- internals -----------------------------------------------------------------------------

    private void perform(Op op, long offset, ByteBuffer buffer, List<PendingWrite> barrier, long length) {
        switch (op) {
            case READ -> visible.read(offset, buffer);
            case WRITE -> {
                byte[] data = new byte[(int) length];
                buffer.get(buffer.position(), data);
                PendingWrite w = PendingWrite.write(offset, data);
                w.applyTo(visible);
                unflushed.add(w);
            }
            case DISCARD -> {
                PendingWrite w = PendingWrite.discard(offset, length);
                w.applyTo(visible);
                unflushed.add(w);
            }
            case FLUSH -> {
                for (PendingWrite w : barrier) {
                    if (!w.persisted) {
                        w.applyTo(durable);
                        w.persisted = true;
                    }
                }
                unflushed.removeIf(w -> w.persisted);
            }
            default -> throw new AssertionError(op);
        }
    }

    /** Decides what a power cut leaves of one unflushed write, in completion order. */
    private void settle(PendingWrite w) {
        boolean tearable = tornWrites && w.sectors(SECTOR_SIZE) > 1;
        String what = BlockRequests.describe(w.op, w.offset, w.length);
        switch (random.nextInt(tearable ? 3 : 2)) {
            case 0 -> world.trace(actor(), "power cut: " + what + " lost");
            case 1 -> {
                w.applyTo(durable);
                world.trace(actor(), "power cut: " + what + " kept");
            }
            default -> tear(w, what);
        }
    }

    private void tear(PendingWrite w, String what) {
        long first = w.offset / SECTOR_SIZE;
        long sectors = w.sectors(SECTOR_SIZE);
        long pieces = Math.min(sectors, MAX_TORN_PIECES);
        long perPiece = (sectors + pieces - 1) / pieces;
        int kept = 0;
        for (long p = 0; p < pieces; p++) {
            long from = Math.max(w.offset, (first + p * perPiece) * SECTOR_SIZE);
            long to = Math.min(w.end(), (first + (p + 1) * perPiece) * SECTOR_SIZE);
            if (from >= to) {
                break;
            }
            if (random.nextBoolean()) {
                w.applyTo(durable, from, to);
                kept++;
            }
        }
        world.trace(actor(), "power cut: " + what + " torn, " + kept + " of " + pieces + " pieces kept");
    }

    private String actor() {
        return "disk:" + name;
    }

    private static String describe(Op op, long offset, long length) {
        return op == Op.FLUSH ? "flush" : BlockRequests.describe(op.name().toLowerCase(Locale.ROOT), offset, length);
    }
}
