package io.jrump.host.jvm;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import io.jrump.hypercall.HostScheduler;
import io.jrump.host.kit.Futures;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
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
 * holds the runner lock, so they still run one at a time and in order. A polled loop has no
 * thread at all: the application runs it ({@link #poll}), as smoltcp's interface is polled, and
 * a blocking call runs it until the call can return.
 *
 * <p>Thread-safe. The lock guards both queues; tasks run without it, under the runner lock.
 */
final class EventLoop implements HostScheduler {
    /** A task that holds something to give back (a lent frame) if the loop closes before it runs. */
    interface Droppable extends Runnable {
        void dropped();
    }

    private final HostClock clock;
    private final Consumer<Throwable> taskFailure;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    /** Held by whichever thread runs this loop's tasks: its own, or a caller running idle work inline. */
    private final ReentrantLock runner = new ReentrantLock();
    private final ArrayDeque<Runnable> batch = new ArrayDeque<>(); // used only by the runner
    private final ArrayDeque<Runnable> ready = new ArrayDeque<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();
    private final Thread thread; // null for a polled loop
    private final String name;
    private long sequence;
    private int cancelledInHeap;
    private boolean closed;

    EventLoop(String threadName, HostClock clock, Consumer<Throwable> taskFailure) {
        this(threadName, clock, taskFailure, true);
    }

    /**
     * @param ownThread false for a polled loop: no thread of its own; its tasks run only in
     *     {@link #poll}, in {@link #runIfIdle}, and in {@link #await}, which polls until the future is done
     */
    EventLoop(String threadName, HostClock clock, Consumer<Throwable> taskFailure, boolean ownThread) {
        this.clock = clock;
        this.taskFailure = taskFailure;
        this.name = threadName;
        this.thread = ownThread ? new Thread(this::run, threadName) : null;
        if (thread != null) {
            thread.setDaemon(true);
            thread.start();
        }
    }

    /**
     * Runs, on the calling thread, every task that is ready and every timer that is due, and
     * those they make ready in turn; returns whether anything ran. False at once if another
     * thread is running the loop's tasks.
     */
    boolean poll() {
        if (runner.isHeldByCurrentThread() || !runner.tryLock()) {
            return false;
        }
        try {
            return drain();
        } finally {
            runner.unlock();
        }
    }

    /** Nanoseconds until the next timer is due (0 if one is due or a task is ready), or -1 with none set. */
    long nanosUntilWork() {
        lock.lock();
        try {
            if (!ready.isEmpty()) {
                return 0;
            }
            Timer next = timers.peek();
            return next == null ? -1 : Math.max(0, next.deadline - clock.monotonicNanos());
        } finally {
            lock.unlock();
        }
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
            throw new ErrnoException(Errno.EDEADLK, "blocking wait on event loop " + name
                    + ": the awaited work could never run");
        }
        if (thread == null) {
            return pollUntil(future);
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

    /** A polled loop's wait: the waiter runs the loop, sleeping only while nothing is due. */
    private <T> T pollUntil(CompletableFuture<T> future) throws ErrnoException {
        future.whenComplete((v, e) -> signal()); // completed elsewhere (an I/O thread): stop sleeping
        while (!future.isDone()) {
            poll();
            lock.lock();
            try {
                while (!future.isDone() && !closed && !hasWork()) {
                    Timer next = timers.peek();
                    if (next == null) {
                        wake.await(); // interruptible: an interrupted call ends with EINTR, as on the threaded loop
                    } else if (next.deadline > clock.monotonicNanos()) {
                        wake.awaitNanos(next.deadline - clock.monotonicNanos());
                    }
                }
                if (closed && !future.isDone()) {
                    throw new ErrnoException(Errno.ESHUTDOWN, "event loop " + name + " closed while a call waited");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ErrnoException(Errno.EINTR, "interrupted while waiting on event loop " + name);
            } finally {
                lock.unlock();
            }
        }
        return Futures.join(future);
    }

    private void signal() {
        lock.lock();
        try {
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Stops the loop and drops the tasks it has not run. Waits for the running task unless called from it. */
    void close() {
        List<Runnable> dropped;
        lock.lock();
        try {
            closed = true;
            dropped = new ArrayList<>(ready);
            ready.clear();
            timers.clear();
            wake.signal();
        } finally {
            lock.unlock();
        }
        for (Runnable task : dropped) {
            if (task instanceof Droppable d) {
                d.dropped();
            }
        }
        if (thread != null && !inEventLoop() && Thread.currentThread() != thread) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("event loop " + name + " is closed");
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

    /** Runs due timers and ready tasks until there are none; whether any ran. Called by the runner. */
    private boolean drain() {
        boolean ran = false;
        while (true) {
            lock.lock();
            try {
                if (closed || !collect(batch)) {
                    batch.clear();
                    return ran;
                }
            } finally {
                lock.unlock();
            }
            ran = true;
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
