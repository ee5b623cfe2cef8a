package io.jrump.host.sim;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostScheduler;
import io.jrump.host.kit.Futures;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A host's event loop: its tasks in the world's queue. {@code execute} queues at the current time,
 * behind everything already due; {@code executeAt} queues at the deadline itself, so that past
 * deadlines still run in deadline order. Confined to the world's thread.
 */
final class SimScheduler implements HostScheduler {
    private final SimWorld world;
    private final SimHost host;

    SimScheduler(SimWorld world, SimHost host) {
        this.world = world;
        this.host = host;
    }

    @Override
    public void execute(Runnable task) {
        world.checkThread();
        Objects.requireNonNull(task, "task");
        host.checkOpen();
        world.post(host, world.now(), host.name(), "task", task);
    }

    @Override
    public ScheduledTask executeAt(long deadlineNanos, Runnable task) {
        world.checkThread();
        Objects.requireNonNull(task, "task");
        host.checkOpen();
        Event event = world.post(host, deadlineNanos, host.name(), "timer", task);
        return new ScheduledTask() {
            @Override
            public long deadlineNanos() {
                return deadlineNanos;
            }

            @Override
            public boolean cancel() {
                world.checkThread();
                return world.cancel(event);
            }
        };
    }

    @Override
    public boolean inEventLoop() {
        world.checkThread();
        return world.currentHost() == host;
    }

    @Override
    public <T> T await(CompletableFuture<T> future) throws ErrnoException {
        world.awaitDone(future);
        return Futures.join(future);
    }
}
