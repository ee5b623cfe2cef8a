package io.jrump.host.jvm;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import io.jrump.hypercall.HostScheduler;
import io.jrump.host.kit.Futures;
import java.util.ArrayDeque;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * One kernel's event loop: a thread that runs submitted tasks in order and timed tasks at their
 * deadlines. Timers sit in a binary heap; a cancelled timer is left in place and skipped, and the
 * heap is rebuilt once cancelled timers outnumber live ones, so a timer reset on every packet
 * costs O(log n) and cannot grow the heap without bound.
 *
 * <p>The loop is a logical thread: tasks run on the loop's own thread, or — through
 * {@link #runIfIdle} — on a caller's thread while the loop has nothing running, which saves two
 * thread hand-offs for a socket call or a frame that can be handled at once. Whoever runs tasks
 * holds the runner lock, so they still run one at a time and in order.
 *
 * <p>Thread-safe. The lock guards both queues; tasks run without it, under the runner lock.
 */
final class EventLoop implements HostScheduler {
    private final HostClock clock;
    private final Consumer<Throwable> taskFailure;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    /** Held by whichever thread runs this loop's tasks: its own, or a caller running idle work inline. */
    private final ReentrantLock runner = new ReentrantLock();
    private final ArrayDeque<Runnable> batch = new ArrayDeque<>(); // used only by the runner
    private final ArrayDeque<Runnable> ready = new ArrayDeque<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();
    private final Thread thread;
    private long sequence;
    private int cancelledInHeap;
    private boolean closed;

    EventLoop(String threadName, HostClock clock, Consumer<Throwable> taskFailure) {
        this.clock = clock;
        this.taskFailure = taskFailure;
        this.thread = new Thread(this::run, threadName);
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void execute(Runnable task) {
        lock.lock();
        try {
            checkOpen();
            ready.add(task);
            wake.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Like {@link #execute} but drops the task, returning false, if the loop has closed. */
    boolean offer(Runnable task) {
        lock.lock();
        try {
            if (closed) {
                return false;
            }
            ready.add(task);
            wake.signal();
            return true;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public ScheduledTask executeAt(long deadlineNanos, Runnable task) {
        lock.lock();
        try {
            checkOpen();
            Timer t = new Timer(deadlineNanos, sequence++, task);
            timers.add(t);
            if (timers.peek() == t) {
                wake.signal();
            }
            return t;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean inEventLoop() {
        return runner.isHeldByCurrentThread();
    }

    @Override
    public boolean runIfIdle(Runnable task) {
        if (runner.isHeldByCurrentThread() || !runner.tryLock()) {
            return false;
        }
        try {
            lock.lock();
            try {
                if (closed) {
                    return false;
                }
                ready.add(task); // behind what was submitted before: order is kept
            } finally {
                lock.unlock();
            }
            drain();
            return true;
        } finally {
            runner.unlock();
        }
    }

    /**
     * Waits for the future. When the loop is idle the waiter first runs its ready tasks itself,
     * as {@link #runIfIdle} does: a blocking read whose I/O ran inline has its completion queued
     * already, and running it here saves waking the loop thread and then being woken by it.
     */
    @Override
    public <T> T await(CompletableFuture<T> future) throws ErrnoException {
        if (inEventLoop() && !future.isDone()) {
            throw new ErrnoException(Errno.EDEADLK, "blocking wait on event loop " + thread.getName()
                    + ": the awaited work could never run");
        }
        if (!future.isDone() && runner.tryLock()) {
            try {
                drain();
            } finally {
                runner.unlock();
            }
        }
        return Futures.join(future);
    }

    /** Stops the loop and drops the tasks it has not run. Waits for the running task unless called from it. */
    void close() {
        lock.lock();
        try {
            closed = true;
            ready.clear();
            timers.clear();
            wake.signal();
        } finally {
            lock.unlock();
        }
        if (!inEventLoop() && Thread.currentThread() != thread) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("event loop " + thread.getName() + " is closed");
        }
    }

    private void run() {
        while (true) {
            lock.lock();
            try {
                while (!closed && !hasWork()) {
                    Timer next = timers.peek();
                    if (next == null) {
                        wake.awaitUninterruptibly();
                    } else {
                        long wait = next.deadline - clock.monotonicNanos();
                        if (wait > 0) {
                            wake.awaitNanos(wait);
                        }
                    }
                }
                if (closed) {
                    return;
                }
            } catch (InterruptedException e) {
                continue; // spurious interrupt of a daemon thread; closing is signalled, not interrupted
            } finally {
                lock.unlock();
            }
            runner.lock(); // a caller may be running the work inline; then there is none left after
            try {
                drain();
            } finally {
                runner.unlock();
            }
        }
    }

    /** Whether a task is ready or a timer due. Called with the lock held. */
    private boolean hasWork() {
        Timer next = timers.peek();
        return !ready.isEmpty() || next != null && next.deadline <= clock.monotonicNanos();
    }

    /** Runs due timers and ready tasks until there are none. Called by the runner. */
    private void drain() {
        while (true) {
            lock.lock();
            try {
                if (closed || !collect(batch)) {
                    batch.clear();
                    return;
                }
            } finally {
                lock.unlock();
            }
            Runnable task;
            while ((task = batch.poll()) != null) {
                try {
                    task.run();
                } catch (VirtualMachineError e) {
                    throw e;
                } catch (Throwable e) {
                    taskFailure.accept(e);
                }
            }
        }
    }

    /** Moves due timers (dropping cancelled ones), then submitted tasks, into the batch. Called with the lock held. */
    private boolean collect(ArrayDeque<Runnable> batch) {
        long now = clock.monotonicNanos();
        Timer t;
        while ((t = timers.peek()) != null && t.deadline <= now) {
            timers.poll();
            if (t.state.compareAndSet(Timer.PENDING, Timer.FIRED)) {
                batch.add(t.task);
            } else {
                cancelledInHeap--;
            }
        }
        batch.addAll(ready);
        ready.clear();
        return !batch.isEmpty();
    }

    private void timerCancelled() {
        lock.lock();
        try {
            cancelledInHeap++;
            if (cancelledInHeap > 64 && cancelledInHeap > timers.size() / 2) {
                timers.removeIf(x -> x.state.get() == Timer.CANCELLED);
                cancelledInHeap = 0;
            }
        } finally {
            lock.unlock();
        }
    }

    private final class Timer implements ScheduledTask, Comparable<Timer> {
        static final int PENDING = 0;
        static final int FIRED = 1;
        static final int CANCELLED = 2;

        final long deadline;
        final long seq;
        final Runnable task;
        final AtomicInteger state = new AtomicInteger(PENDING);

        Timer(long deadline, long seq, Runnable task) {
            this.deadline = deadline;
            this.seq = seq;
            this.task = task;
        }

        @Override
        public long deadlineNanos() {
            return deadline;
        }

        @Override
        public boolean cancel() {
            if (state.compareAndSet(PENDING, CANCELLED)) {
                timerCancelled();
                return true;
            }
            return false;
        }

        @Override
        public int compareTo(Timer o) {
            int c = Long.compare(deadline, o.deadline);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }
}
