package io.jrump.kernel;

import io.jrump.hypercall.BlockDevices;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.HostClock;
import io.jrump.hypercall.HostConsole;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.HostParams;
import io.jrump.hypercall.HostRandom;
import io.jrump.hypercall.HostScheduler;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;

/**
 * A host for kernel-base tests that the test drives by hand: time moves only in {@link #advance},
 * tasks run only then, devices are inert handles that record whether they were closed. Not
 * thread-safe.
 */
final class ManualHost implements Hypercalls {
    int version = VERSION;
    long now = 1_000;
    boolean closed;
    final List<String> console = new ArrayList<>();
    final List<Inert> devices = new ArrayList<>();
    private final PriorityQueue<Task> tasks = new PriorityQueue<>();
    private long seq;
    private boolean running;

    private final class Task implements HostScheduler.ScheduledTask, Comparable<Task> {
        final long deadline;
        final long order = seq++;
        final Runnable r;
        boolean done;

        Task(long deadline, Runnable r) {
            this.deadline = deadline;
            this.r = r;
        }

        @Override
        public long deadlineNanos() {
            return deadline;
        }

        @Override
        public boolean cancel() {
            if (done) {
                return false;
            }
            done = true;
            return tasks.remove(this);
        }

        @Override
        public int compareTo(Task o) {
            int c = Long.compare(deadline, o.deadline);
            return c != 0 ? c : Long.compare(order, o.order);
        }
    }

    /** Moves time forward, running every task due by then. */
    void advance(long nanos) {
        long end = now + nanos;
        Task t;
        while ((t = tasks.peek()) != null && t.deadline <= end) {
            tasks.poll();
            now = Math.max(now, t.deadline);
            t.done = true;
            running = true;
            try {
                t.r.run();
            } finally {
                running = false;
            }
        }
        now = end;
    }

    int pendingTasks() {
        return tasks.size();
    }

    @Override
    public int version() {
        return version;
    }

    @Override
    public String name() {
        return "manual";
    }

    @Override
    public HostParams params() {
        return key -> Optional.empty();
    }

    @Override
    public HostClock clock() {
        return new HostClock() {
            @Override
            public long monotonicNanos() {
                return now;
            }

            @Override
            public long wallNanos() {
                return now;
            }
        };
    }

    @Override
    public HostScheduler scheduler() {
        return new HostScheduler() {
            @Override
            public void execute(Runnable task) {
                executeAt(now, task);
            }

            @Override
            public ScheduledTask executeAt(long deadlineNanos, Runnable task) {
                if (closed) {
                    throw new IllegalStateException("closed");
                }
                Task t = new Task(deadlineNanos, task);
                tasks.add(t);
                return t;
            }

            @Override
            public boolean inEventLoop() {
                return running;
            }

            @Override
            public <T> T await(java.util.concurrent.CompletableFuture<T> future) throws ErrnoException {
                while (!future.isDone() && !tasks.isEmpty()) {
                    advance(Math.max(0, tasks.peek().deadline - now));
                }
                if (!future.isDone()) {
                    throw new ErrnoException(Errno.EDEADLK, "nothing left to run");
                }
                try {
                    return future.join();
                } catch (java.util.concurrent.CompletionException e) {
                    if (e.getCause() instanceof ErrnoException ee) {
                        throw ee;
                    }
                    throw e;
                }
            }
        };
    }

    @Override
    public HostRandom random() {
        return bytes -> {
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) (i * 31 + 7);
            }
        };
    }

    @Override
    public HostConsole console() {
        return (level, message) -> console.add(level + " " + message);
    }

    /** A device that does nothing but remember being closed. */
    static final class Inert implements HostBlockDevice, HostNic {
        final String name;
        boolean closed;

        Inert(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public long size() {
            return 0;
        }

        @Override
        public int sectorSize() {
            return 512;
        }

        @Override
        public boolean isReadOnly() {
            return true;
        }

        @Override
        public boolean isGrowable() {
            return false;
        }

        @Override
        public void read(long offset, ByteBuffer dst, IoCompletion completion) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void write(long offset, ByteBuffer src, IoCompletion completion) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void flush(IoCompletion completion) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void discard(long offset, long length, IoCompletion completion) {
            throw new UnsupportedOperationException();
        }

        @Override
        public MacAddress mac() {
            return MacAddress.of(0x020000000001L);
        }

        @Override
        public int mtu() {
            return 1500;
        }

        @Override
        public void send(ByteBuffer frame) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Override
    public BlockDevices blockDevices() {
        return new BlockDevices() {
            @Override
            public HostBlockDevice open(String name, OpenMode mode) throws ErrnoException {
                return create(name, 0);
            }

            @Override
            public HostBlockDevice create(String name, long size) throws ErrnoException {
                if (closed) {
                    throw new ErrnoException(Errno.ESHUTDOWN, "closed");
                }
                Inert d = new Inert(name);
                devices.add(d);
                return d;
            }
        };
    }

    @Override
    public NetworkInterfaces networkInterfaces() {
        return (name, options, receiver) -> {
            Inert d = new Inert(name);
            devices.add(d);
            return d;
        };
    }

    @Override
    public void close() {
        closed = true;
        tasks.clear();
    }
}
