package io.jrump.hypercall;

/**
 * Time. Components read time only here, never from {@code System}, so that a simulation host can
 * run them on virtual time. Thread-safe, non-blocking.
 */
public interface HostClock {
    /**
     * Monotonic time in nanoseconds from an arbitrary origin fixed when the host starts. Never
     * decreases, on any thread. Deadlines given to {@link HostScheduler#executeAt} are on this
     * scale.
     */
    long monotonicNanos();

    /** Wall-clock time in nanoseconds since 1970-01-01T00:00:00Z. May jump; never use it for intervals. */
    long wallNanos();
}
