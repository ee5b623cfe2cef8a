package io.jrump.kernel;

import io.jrump.hypercall.HostScheduler.ScheduledTask;
import java.util.Objects;

/**
 * A timer on the kernel's event loop, after BSD's callout(9): reset it to fire a function at a
 * time, stop it, reset it again. At most one firing is pending at a time; a reset replaces it.
 * A reset to a later time keeps the host's timer and re-arms it for the rest when it fires, so
 * frequent resets (TCP's retransmission timer, on every ACK) cost the host nothing each.
 *
 * <p>Thread-safe. A stop or reset that races with the firing wins if it gets the lock first: the
 * function then does not run. The function runs without the lock held.
 */
public final class Callout {
    private final RumpKernel kernel;
    private final String name;
    private ScheduledTask pending;
    private Runnable function;
    private long generation;
    private long deadline;
    /** When the host timer behind {@link #pending} fires: at or before {@link #deadline}. */
    private long hostDeadline;

    Callout(RumpKernel kernel, String name) {
        this.kernel = kernel;
        this.name = Objects.requireNonNull(name, "name");
    }

    public String name() {
        return name;
    }

    /** Fires {@code fn} after {@code delayNanos} of monotonic time, replacing any pending firing. */
    public void schedule(long delayNanos, Runnable fn) {
        if (delayNanos < 0) {
            throw new IllegalArgumentException("negative delay " + delayNanos + " for callout " + name);
        }
        long now = kernel.host().clock().monotonicNanos();
        scheduleAt(now + delayNanos, fn);
    }

    /**
     * Fires {@code fn} at a monotonic deadline, replacing any pending firing. While the kernel shuts
     * down, the callout is not set: work already queued (a FIN taking a connection to TIME_WAIT,
     * say) may still arm timers, which could never fire.
     *
     * @throws IllegalStateException once the kernel has shut down: nothing may use it any more
     */
    public synchronized void scheduleAt(long deadlineNanos, Runnable fn) {
        Objects.requireNonNull(fn, "fn");
        if (kernel.state() == RumpKernel.State.SHUT_DOWN) {
            throw new IllegalStateException("callout " + name + " set on kernel " + kernel.name()
                    + " after shutdown");
        }
        if (kernel.isShuttingDown()) {
            cancelPending();
            generation++;
            function = null;
            kernel.calloutPending(this, false);
            return;
        }
        function = fn;
        deadline = deadlineNanos;
        if (pending != null && hostDeadline <= deadlineNanos) {
            // The host timer set fires no later: leave it, and go on from there for the rest
            // (fire). A retransmission timer reset by every ACK then costs the host one timer
            // per period, not one per ACK.
            return;
        }
        cancelPending();
        arm(deadlineNanos);
        kernel.calloutPending(this, true);
    }

    private void arm(long at) {
        long gen = ++generation;
        hostDeadline = at;
        pending = kernel.host().scheduler().executeAt(at, () -> fire(gen));
    }

    /** Cancels the pending firing. Returns whether one was pending. */
    public synchronized boolean stop() {
        boolean was = pending != null;
        cancelPending();
        generation++;
        function = null;
        kernel.calloutPending(this, false);
        return was;
    }

    /** Whether a firing is pending. */
    public synchronized boolean isPending() {
        return pending != null;
    }

    /** The deadline of the pending firing; meaningful only while {@link #isPending()}. */
    public synchronized long deadlineNanos() {
        return deadline;
    }

    private void cancelPending() {
        if (pending != null) {
            pending.cancel();
            pending = null;
        }
    }

    private void fire(long gen) {
        Runnable fn;
        synchronized (this) {
            if (gen != generation || pending == null) {
                return; // reset or stopped after the host had already begun to run us
            }
            if (kernel.host().clock().monotonicNanos() < deadline) {
                arm(deadline); // moved later since this host timer was set
                return;
            }
            pending = null;
            fn = function;
            function = null;
            kernel.calloutPending(this, false);
        }
        fn.run();
    }

    @Override
    public String toString() {
        return "Callout[" + name + (isPending() ? " at " + deadlineNanos() : " idle") + "]";
    }
}
