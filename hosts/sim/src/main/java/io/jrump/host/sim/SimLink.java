package io.jrump.host.sim;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.host.kit.LearningTable;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.zip.CRC32;

/**
 * A simulated Ethernet segment: a learning switch (at most {@value #MAX_LEARNED} addresses) whose
 * ports are the NICs hosts open by the link's name, with faults on the wire.
 *
 * <p>Each frame reaches each port it is forwarded to after a fixed delay (by default
 * {@value #DEFAULT_DELAY_NANOS} ns, about one switch hop between two NICs) plus a jitter drawn
 * from {@code [0, jitter]} (0 by default, so that frames between two ports arrive in the order
 * sent), plus, at a rate limit, the time to serialize it behind the frames already queued for that
 * port. At most {@value #MAX_QUEUED_FRAMES} frames may be on their way to one port; more are
 * dropped. Faults: {@link #setLoss}, {@link #setDuplicate}, {@link #setReorder} (a reordered frame
 * is held back by an extra delay drawn from 1 ns to {@value #REORDER_MAX_EXTRA_NANOS} ns),
 * {@link #setDelay}, {@link #setRate}, {@link #partition} and {@link #heal}. Every random choice
 * comes from a stream derived from the world seed and the link's name; every frame delivered or
 * dropped goes into the world trace with its CRC-32.
 *
 * <p>Confined to the world's thread (see {@link SimWorld}). Nothing blocks.
 */
public final class SimLink {
    public static final long DEFAULT_DELAY_NANOS = 10_000;
    public static final int MAX_QUEUED_FRAMES = 4096;
    public static final int MAX_LEARNED = 4096;
    public static final long REORDER_MAX_EXTRA_NANOS = 1_000_000;

    /** Why a frame did not reach a port. */
    public enum Drop {
        /** Lost on the wire ({@link #setLoss}). */
        LOSS,
        /** Sender and receiver are on different sides of a {@link #partition}. */
        PARTITION,
        /** {@value #MAX_QUEUED_FRAMES} frames were already on their way to the port. */
        QUEUE_FULL,
        /** Longer than the receiving port's largest frame. */
        TOO_LONG,
        /** The receiving NIC closed while the frame was on its way. */
        CLOSED
    }

    private final SimWorld world;
    private final String name;
    private final SplittableRandom random;
    private final LearningTable<SimNic> table = new LearningTable<>(MAX_LEARNED);
    private final Map<MacAddress, SimNic> ports = new LinkedHashMap<>();
    private double loss;
    private double duplicate;
    private double reorder;
    private long delay = DEFAULT_DELAY_NANOS;
    private long jitter;
    private long rate;
    private Set<String> side;
    private long delivered;
    private long duplicated;
    private final long[] dropped = new long[Drop.values().length];

    SimLink(SimWorld world, String name, SplittableRandom random) {
        this.world = world;
        this.name = name;
        this.random = random;
    }

    public String name() {
        return name;
    }

    /** The probability that a frame is lost on its way to a port, 0 to 1. */
    public void setLoss(double probability) {
        world.checkThread();
        loss = probability(probability);
        fault("loss " + probability);
    }

    /** The probability that a frame reaches a port twice, 0 to 1. */
    public void setDuplicate(double probability) {
        world.checkThread();
        duplicate = probability(probability);
        fault("duplicate " + probability);
    }

    /** The probability that a frame is held back long enough to arrive after later ones, 0 to 1. */
    public void setReorder(double probability) {
        world.checkThread();
        reorder = probability(probability);
        fault("reorder " + probability);
    }

    /** Every frame takes {@code baseNanos} plus a jitter drawn from {@code [0, jitterNanos]}. */
    public void setDelay(long baseNanos, long jitterNanos) {
        world.checkThread();
        if (baseNanos < 0 || jitterNanos < 0 || jitterNanos == Long.MAX_VALUE) {
            throw new IllegalArgumentException("delay " + baseNanos + " jitter " + jitterNanos);
        }
        delay = baseNanos;
        jitter = jitterNanos;
        fault("delay " + baseNanos + " ns, jitter " + jitterNanos + " ns");
    }

    /** Serializes frames to each port at this many bytes per second; 0 for no limit. */
    public void setRate(long bytesPerSecond) {
        world.checkThread();
        if (bytesPerSecond < 0) {
            throw new IllegalArgumentException("rate " + bytesPerSecond);
        }
        rate = bytesPerSecond;
        fault("rate " + bytesPerSecond + " B/s");
    }

    /**
     * Splits the link in two: frames between a host named in {@code hostNamesOnOneSide} (the
     * names given to {@link SimWorld#newHost}) and a host not named there are dropped, also
     * those already on their way. Replaces any earlier partition.
     */
    public void partition(Set<String> hostNamesOnOneSide) {
        world.checkThread();
        side = new TreeSet<>(hostNamesOnOneSide);
        fault("partition " + side + " from the rest");
    }

    /** Ends a partition. */
    public void heal() {
        world.checkThread();
        side = null;
        fault("heal");
    }

    /** Frames handed to a receiver so far. */
    public long delivered() {
        world.checkThread();
        return delivered;
    }

    /** Extra copies made by {@link #setDuplicate} so far. */
    public long duplicated() {
        world.checkThread();
        return duplicated;
    }

    /** Frames dropped for that reason so far, counted once per port they missed. */
    public long dropped(Drop reason) {
        world.checkThread();
        return dropped[reason.ordinal()];
    }

    /** Frames dropped for any reason so far. */
    public long dropped() {
        world.checkThread();
        long sum = 0;
        for (long d : dropped) {
            sum += d;
        }
        return sum;
    }

    /** NICs attached now. */
    public int portCount() {
        world.checkThread();
        return ports.size();
    }

    @Override
    public String toString() {
        return actor();
    }

    // ---- for NICs ------------------------------------------------------------------------------

    boolean hasMac(MacAddress mac) {
        return ports.containsKey(mac);
    }

    void attach(SimNic nic) throws ErrnoException {
        if (ports.containsKey(nic.mac())) {
            throw new ErrnoException(Errno.EADDRINUSE, "MAC " + nic.mac() + " on simulated link " + name);
        }
        ports.put(nic.mac(), nic);
        table.attach(nic);
        world.trace(actor(), "attach " + nic.host().name() + " " + nic.mac());
    }

    void detach(SimNic nic) {
        ports.remove(nic.mac());
        table.detach(nic);
        world.trace(actor(), "detach " + nic.host().name() + " " + nic.mac());
    }

    /** Forwards a frame the link now owns to every port the switch sends it to. */
    void transmit(SimNic from, byte[] frame) {
        String crc = crc(frame);
        for (SimNic to : table.forward(ByteBuffer.wrap(frame), from)) {
            Drop verdict = verdict(from, to, frame.length);
            if (verdict != null) {
                drop(verdict, from, to, frame.length, crc);
                continue;
            }
            boolean twice = chance(duplicate);
            schedule(from, to, frame, crc);
            if (twice) {
                duplicated++;
                world.trace(actor(), "duplicate " + path(from, to) + " crc=" + crc);
                schedule(from, to, frame, crc);
            }
        }
    }

    // ---- internals -----------------------------------------------------------------------------

    private Drop verdict(SimNic from, SimNic to, int length) {
        if (separated(from, to)) {
            return Drop.PARTITION;
        }
        if (length > to.maxFrameLength()) {
            return Drop.TOO_LONG;
        }
        return chance(loss) ? Drop.LOSS : null;
    }

    private void schedule(SimNic from, SimNic to, byte[] frame, String crc) {
        if (to.queued >= MAX_QUEUED_FRAMES) {
            drop(Drop.QUEUE_FULL, from, to, frame.length, crc);
            return;
        }
        long now = world.now();
        long start = now;
        if (rate > 0) {
            to.busyUntil = Math.max(now, to.busyUntil) + serialization(frame.length);
            start = to.busyUntil;
        }
        long at = start + delay + (jitter > 0 ? random.nextLong(jitter + 1) : 0);
        if (chance(reorder)) {
            at += 1 + random.nextLong(REORDER_MAX_EXTRA_NANOS);
        }
        to.queued++;
        String what = "frame " + path(from, to) + " len=" + frame.length + " crc=" + crc;
        world.post(null, at, actor(), what, () -> arrive(from, to, frame, crc));
    }

    private void arrive(SimNic from, SimNic to, byte[] frame, String crc) {
        to.queued--;
        if (to.isClosed()) {
            drop(Drop.CLOSED, from, to, frame.length, crc);
        } else if (separated(from, to)) {
            drop(Drop.PARTITION, from, to, frame.length, crc);
        } else {
            delivered++;
            to.deliver(frame);
        }
    }

    private boolean separated(SimNic a, SimNic b) {
        return side != null && side.contains(a.host().shortName()) != side.contains(b.host().shortName());
    }

    private long serialization(int length) {
        long bits = length * 1_000_000_000L;
        long nanos = bits / rate;
        return nanos * rate < bits ? nanos + 1 : nanos;
    }

    private boolean chance(double probability) {
        // No draw while a fault is off, so a fault left off never shifts the draws of the others.
        return probability > 0 && random.nextDouble() < probability;
    }

    private void drop(Drop reason, SimNic from, SimNic to, int length, String crc) {
        dropped[reason.ordinal()]++;
        world.trace(actor(), "drop " + reason + " " + path(from, to) + " len=" + length + " crc=" + crc);
    }

    private void fault(String what) {
        world.trace(actor(), "fault: " + what);
    }

    private String actor() {
        return "link:" + name;
    }

    private static String path(SimNic from, SimNic to) {
        return from.host().name() + " > " + to.host().name();
    }

    private static double probability(double p) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("not a probability: " + p);
        }
        return p;
    }

    private static String crc(byte[] frame) {
        CRC32 crc = new CRC32();
        crc.update(frame);
        return String.format("%08x", crc.getValue());
    }
}
