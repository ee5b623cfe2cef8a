package io.jrump.nio.internal;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import io.jrump.hypercall.HostScheduler;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * The host's scheduler and clock as the channels use them: work run on the stack's event loop in one
 * hop, waits that an interrupt does not cut short (a channel's interrupt closes the channel, a
 * selector's wakes it, and either completes the future waited on), and deadlines on the host's
 * monotonic clock. Once the kernel has shut down, new work fails with {@code ENETDOWN}, and a wait
 * that an interrupt reaches gives up with it (work the stopped loop dropped would never answer).
 * Thread-safe.
 */
public final class Loop {
    /** Work for the event loop. */
    @FunctionalInterface
    public interface Work<T> {
        T run() throws ErrnoException;
    }

    private final HostScheduler scheduler;
    private final HostClock clock;
    private final BooleanSupplier running;

    /** {@code running}: whether the kernel still runs. */
    public Loop(HostScheduler scheduler, HostClock clock, BooleanSupplier running) {
        this.scheduler = scheduler;
        this.clock = clock;
        this.running = running;
    }

    /** Whether the kernel still runs. */
    public boolean running() {
        return running.getAsBoolean();
    }

    /** ENETDOWN once the kernel has shut down: for calls that go to the stack's sockets directly. */
    public void checkRunning() throws ErrnoException {
        if (!running.getAsBoolean()) {
            throw down();
        }
    }

    private ErrnoException down() {
        return new ErrnoException(Errno.ENETDOWN, "the kernel has shut down");
    }

    public long now() {
        return clock.monotonicNanos();
    }

    /** A deadline {@code timeoutNanos} from now; 0 (no timeout) for a timeout of 0 or less. */
    public long deadline(long timeoutNanos) {
        return timeoutNanos <= 0 ? 0 : Math.max(1, now() + timeoutNanos);
    }

    /** Runs {@code work} on the event loop (inline when the loop is idle) and returns its answer. */
    public <T> T run(Work<T> work) throws ErrnoException {
        if (scheduler.inEventLoop()) {
            return work.run();
        }
        if (!running.getAsBoolean()) {
            throw down();
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        Runnable task = () -> {
            try {
                result.complete(work.run());
            } catch (ErrnoException | RuntimeException | Error e) {
                result.completeExceptionally(e);
            }
        };
        if (!scheduler.runIfIdle(task)) {
            scheduler.execute(task);
        }
        return await(result);
    }

    /**
     * Waits for the future with the thread's interrupt status cleared meanwhile and restored after:
     * whoever interrupts a thread blocked on a channel or selector also completes the future (through
     * the channel's close or the selector's wakeup), so the wait ends anyway.
     */
    public <T> T await(CompletableFuture<T> future) throws ErrnoException {
        boolean interrupted = Thread.interrupted();
        try {
            for (;;) {
                try {
                    return scheduler.await(future);
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EINTR) {
                        throw e;
                    }
                    Thread.interrupted(); // the host set it again; keep waiting, restore it after
                    interrupted = true;
                    if (!running.getAsBoolean() && !future.isDone()) {
                        throw down();
                    }
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits until {@code wake} completes or the monotonic clock reaches {@code deadline} (0: no deadline). */
    public void awaitUntil(CompletableFuture<Void> wake, long deadline) throws ErrnoException {
        HostScheduler.ScheduledTask timer = deadline == 0 ? null : scheduler.executeAt(deadline, () -> wake.complete(null));
        try {
            await(wake);
        } finally {
            if (timer != null) {
                timer.cancel();
            }
        }
    }
}
