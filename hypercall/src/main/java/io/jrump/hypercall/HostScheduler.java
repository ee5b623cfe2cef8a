package io.jrump.hypercall;

/**
 * The kernel's event loop: one logical thread on which tasks, timers, I/O completions and received
 * frames run one at a time. Components get threads and timers only here, so the simulation host
 * can run a whole kernel, or many, on one thread from one seed.
 *
 * <p>All methods may be called from any thread. Tasks submitted with {@link #execute} run in
 * submission order. Tasks with deadlines run in deadline order, tasks with the same deadline in
 * submission order, none before its deadline on {@link HostClock#monotonicNanos()}. A task that
 * throws is a kernel bug: the host reports it on the console at ERROR and carries on (the
 * simulation host also fails its run).
 */
public interface HostScheduler {

    /**
     * Runs the task on the event loop as soon as possible, after tasks already submitted. Never
     * runs it inside this call, even from the event loop.
     *
     * @throws IllegalStateException if the host has been closed
     */
    void execute(Runnable task);

    /**
     * Runs the task on the event loop once the monotonic clock reaches {@code deadlineNanos}. A
     * deadline in the past means as soon as possible.
     *
     * @return a handle that can cancel the task while it is pending
     * @throws IllegalStateException if the host has been closed
     */
    ScheduledTask executeAt(long deadlineNanos, Runnable task);

    /** Whether the calling thread is this event loop, running one of its tasks right now. */
    boolean inEventLoop();

    /** A task waiting for its deadline. */
    interface ScheduledTask {
        /** The monotonic deadline it was scheduled for. */
        long deadlineNanos();

        /**
         * Stops the task from running. Returns {@code true} if it was pending and now will never
         * run; {@code false} if it already ran, is running, or was cancelled before.
         */
        boolean cancel();
    }
}
