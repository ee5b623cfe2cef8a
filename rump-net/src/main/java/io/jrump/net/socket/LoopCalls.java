package io.jrump.net.socket;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostScheduler;
import java.util.concurrent.CompletableFuture;

/**
 * Runs socket calls on the stack's event loop, where all protocol state lives, from whatever
 * thread the application calls on — and waits for the answer. A blocking call that must wait for
 * the network (recv with no data, accept with no connection) returns a future that the loop
 * completes later; the calling thread waits on it through {@link HostScheduler#await}, so on the
 * simulation host the wait runs the simulation instead of blocking.
 */
public final class LoopCalls {
    /** Work for the loop that answers at once or later. */
    @FunctionalInterface
    public interface Call<T> {
        CompletableFuture<T> start() throws ErrnoException;
    }

    /** Work for the loop that answers at once. */
    @FunctionalInterface
    public interface Immediate<T> {
        T run() throws ErrnoException;
    }

    private final HostScheduler loop;

    public LoopCalls(HostScheduler loop) {
        this.loop = loop;
    }

    /** Runs {@code call} on the loop and waits for the future it returns. */
    public <T> T call(Call<T> call) throws ErrnoException {
        if (loop.inEventLoop()) {
            CompletableFuture<T> f = call.start();
            if (!f.isDone()) {
                // A blocking call from the loop itself would wait for ever: callbacks must not block.
                throw new ErrnoException(io.jrump.hypercall.Errno.EDEADLK, "a blocking socket call on the event loop");
            }
            return loop.await(f);
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        Runnable task = () -> {
            try {
                call.start().whenComplete((v, e) -> {
                    if (e != null) {
                        result.completeExceptionally(e);
                    } else {
                        result.complete(v);
                    }
                });
            } catch (ErrnoException | RuntimeException e) {
                result.completeExceptionally(e);
            }
        };
        if (!loop.runIfIdle(task)) { // on the caller's thread when the loop is idle: no hand-off
            loop.execute(task);
        }
        return loop.await(result);
    }

    /** Runs {@code work} on the loop and returns its answer. */
    public <T> T run(Immediate<T> work) throws ErrnoException {
        return call(() -> CompletableFuture.completedFuture(work.run()));
    }
}
