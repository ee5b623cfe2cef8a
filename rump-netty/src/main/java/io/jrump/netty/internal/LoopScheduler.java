package io.jrump.netty.internal;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import io.jrump.hypercall.HostConsole;
import io.jrump.hypercall.HostScheduler;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The hypercall scheduler on a Netty event loop: the kernel's tasks, timers and frames run on the
 * loop's thread, between the channels' own tasks, so a channel calls its stack directly. Deadlines
 * are on the host's monotonic clock and become delays for the loop's timer queue. A task that
 * throws is reported on the host's console at ERROR; the loop carries on. Thread-safe; {@link #await}
 * blocks a thread other than the loop's.
 */
public final class LoopScheduler implements HostScheduler {
    private final EventLoop loop;
    private final HostClock clock;
    private final HostConsole console;

    public LoopScheduler(EventLoop loop, HostClock clock, HostConsole console) {
        this.loop = loop;
        this.clock = clock;
        this.console = console;
    }

    /** The Netty loop the kernel runs on. */
    public EventLoop loop() {
        return loop;
    }

    private Runnable guarded(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                console.log(System.Logger.Level.ERROR, "kernel task failed on the Netty loop: " + e);
            }
        };
    }

    @Override
    public void execute(Runnable task) {
        try {
            loop.execute(guarded(task));
        } catch (RejectedExecutionException e) {
            throw new IllegalStateException("the Netty event loop has shut down", e);
        }
    }

    @Override
    public ScheduledTask executeAt(long deadlineNanos, Runnable task) {
        long delay = Math.max(0, deadlineNanos - clock.monotonicNanos());
        ScheduledFuture<?> f;
        try {
            f = loop.schedule(guarded(task), delay, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            throw new IllegalStateException("the Netty event loop has shut down", e);
        }
        return new ScheduledTask() {
            @Override
            public long deadlineNanos() {
                return deadlineNanos;
            }

            @Override
            public boolean cancel() {
                return f.cancel(false);
            }
        };
    }

    @Override
    public boolean inEventLoop() {
        return loop.inEventLoop();
    }

    @Override
    public <T> T await(CompletableFuture<T> future) throws ErrnoException {
        if (loop.inEventLoop() && !future.isDone()) {
            throw new ErrnoException(Errno.EDEADLK, "waiting on the Netty event loop for work that loop must do");
        }
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ErrnoException(Errno.EINTR, "interrupted while waiting for the kernel");
        } catch (CancellationException e) {
            throw new ErrnoException(Errno.ECANCELED, "the kernel's work was cancelled");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof ErrnoException x) {
                throw x;
            }
            if (cause instanceof RuntimeException x) {
                throw x;
            }
            if (cause instanceof Error x) {
                throw x;
            }
            throw new ErrnoException(Errno.EIO, String.valueOf(cause));
        }
    }
}
