package io.jrump.blk;

import io.jrump.hypercall.HostClock;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-device statistics: for each kind of operation, how many, how many bytes, how many failed,
 * and a latency histogram in power-of-two nanosecond buckets. Time comes from the host clock, so
 * under simulation latencies are virtual. Thread-safe; recording never blocks.
 */
public final class BlockStats {

    /** The kinds of operation counted. */
    public enum Op {
        READ, WRITE, FLUSH, DISCARD
    }

    private final HostClock clock;
    private final Map<Op, Counter> counters = new EnumMap<>(Op.class);

    public BlockStats(HostClock clock) {
        this.clock = clock;
        for (Op op : Op.values()) {
            counters.put(op, new Counter());
        }
    }

    /** The clock's time now, to pass back to {@link #record}. */
    public long start() {
        return clock.monotonicNanos();
    }

    /** Records one finished operation that started at {@code startNanos}. */
    public void record(Op op, long bytes, long startNanos, boolean failed) {
        counters.get(op).add(bytes, clock.monotonicNanos() - startNanos, failed);
    }

    /** The body of a timed operation. */
    @FunctionalInterface
    public interface IoBody {
        void run() throws io.jrump.hypercall.ErrnoException;
    }

    /** Runs {@code body} and records it as one operation of {@code bytes}, failed if it throws. */
    public void time(Op op, long bytes, IoBody body) throws io.jrump.hypercall.ErrnoException {
        long t0 = start();
        boolean failed = true;
        try {
            body.run();
            failed = false;
        } finally {
            record(op, bytes, t0, failed);
        }
    }

    /** A consistent-enough copy of one operation's figures (each field is read atomically). */
    public OpStats get(Op op) {
        return counters.get(op).snapshot(op);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Op op : Op.values()) {
            OpStats s = get(op);
            if (s.count() > 0) {
                sb.append(sb.length() == 0 ? "" : ", ").append(s);
            }
        }
        return sb.length() == 0 ? "no I/O" : sb.toString();
    }

    /**
     * One operation's figures.
     *
     * @param buckets {@code buckets[i]} counts operations whose latency in nanoseconds had its
     *     highest set bit at {@code i} (bucket 0 also holds zero)
     */
    public record OpStats(Op op, long count, long bytes, long errors, long totalNanos, long[] buckets) {
        /** Mean latency in nanoseconds, 0 if none. */
        public long meanNanos() {
            return count == 0 ? 0 : totalNanos / count;
        }

        /**
         * An upper bound of the latency below which {@code fraction} of the operations fell (the
         * top of the bucket holding that quantile), 0 if none.
         */
        public long quantileNanos(double fraction) {
            long rank = (long) Math.ceil(fraction * count);
            long seen = 0;
            for (int i = 0; i < buckets.length; i++) {
                seen += buckets[i];
                if (seen >= rank && seen > 0) {
                    return i == 63 ? Long.MAX_VALUE : (1L << (i + 1)) - 1;
                }
            }
            return 0;
        }

        @Override
        public String toString() {
            return String.format("%s %d ops %d bytes %d errors mean %.1f us p99 < %.1f us", op.name().toLowerCase(),
                    count, bytes, errors, meanNanos() / 1e3, quantileNanos(0.99) / 1e3);
        }
    }

    private static final class Counter {
        final LongAdder count = new LongAdder();
        final LongAdder bytes = new LongAdder();
        final LongAdder errors = new LongAdder();
        final LongAdder nanos = new LongAdder();
        final AtomicLongArray buckets = new AtomicLongArray(64);

        void add(long b, long latency, boolean failed) {
            count.increment();
            if (failed) {
                errors.increment();
            } else {
                bytes.add(b);
            }
            long l = Math.max(0, latency);
            nanos.add(l);
            buckets.incrementAndGet(l == 0 ? 0 : 63 - Long.numberOfLeadingZeros(l));
        }

        OpStats snapshot(Op op) {
            long[] b = new long[64];
            for (int i = 0; i < b.length; i++) {
                b[i] = buckets.get(i);
            }
            return new OpStats(op, count.sum(), bytes.sum(), errors.sum(), nanos.sum(), b);
        }
    }
}
