package io.jrump.hypercall;

import java.util.concurrent.CompletableFuture;

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

    /**
     * Runs the task as the event loop on the calling thread, if the loop is idle now: after the
     * tasks already submitted (which the caller then runs too, in order), with {@link #inEventLoop}
     * true meanwhile. Returns false, running nothing, when the loop is busy on another thread, the
     * caller is already this loop, or the host does not offer it; the caller then submits the task
     * with {@link #execute}. Saves the hand-off to the loop's thread and back for a call that
     * answers at once (hypercall version 2, optional: the default never runs inline, and neither
     * does the simulation host, whose one thread is the whole world).
     */
    default boolean runIfIdle(Runnable task) {
        return false;
    }

    /**
     * Waits until the future is done, letting the kernel run meanwhile, and returns its value: how
     * an application thread calls a component's blocking API. On the JVM host the calling thread
     * blocks; on the simulation host the call runs the simulation until the future completes.
     *
     * @throws ErrnoException {@link Errno#EDEADLK} if called on the event loop, where the future
     *     could never complete, or if a simulation runs out of events first;
     *     {@link Errno#ETIMEDOUT} if a simulation passes its time limit first; {@link Errno#EINTR}
     *     if the thread is interrupted; the future's own {@code ErrnoException} if it failed with
     *     one. Other failures of the future are rethrown as they are if unchecked, else as
     *     {@link Errno#EIO}.
     * @since hypercall version 2
     */
    <T> T await(CompletableFuture<T> future) throws ErrnoException;

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
