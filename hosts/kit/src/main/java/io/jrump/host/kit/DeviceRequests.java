package io.jrump.host.kit;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.HostBlockDevice.IoCompletion;
import java.io.IOException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The request bookkeeping every host block device repeats: a count of operations in flight, so
 * that {@link #close()} can wait for them; the argument check, then the work, on an I/O thread or
 * on the caller's; and each completion posted to the event loop exactly once, whatever happened.
 *
 * <p>A request that is alone and not on the event loop runs on the caller's thread: handing it to
 * an I/O thread would only add a wake-up to its latency. The event loop never blocks on I/O, and
 * requests that overlap others go to the executor so that they run in parallel.
 *
 * <p>Thread-safe; the object's lock guards the count and the closed flag.
 */
public final class DeviceRequests {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceRequests.class);

    /** The I/O itself: the bytes done. */
    @FunctionalInterface
    public interface Work {
        long run() throws IOException;
    }

    private final String name;
    private final Executor io;
    private final Consumer<Runnable> loop;
    private final BooleanSupplier onEventLoop;
    private final Function<IOException, Errno> errnoOf;
    private int inFlight;
    private boolean closed;

    /**
     * @param name the device, for the log
     * @param io where overlapping requests run
     * @param loop posts a completion to the event loop (and drops it if the loop has closed)
     * @param onEventLoop whether the calling thread is the event loop
     * @param errnoOf the errno of a failed {@link Work}
     */
    public DeviceRequests(String name, Executor io, Consumer<Runnable> loop, BooleanSupplier onEventLoop,
            Function<IOException, Errno> errnoOf) {
        this.name = name;
        this.io = io;
        this.loop = loop;
        this.onEventLoop = onEventLoop;
        this.errnoOf = errnoOf;
    }

    /**
     * Runs {@code work} unless the device is closed ({@code EBADF}) or {@code check} finds the
     * request invalid (its errno), then completes. The check runs once the request is counted, so
     * a close cannot slip between it and the work.
     */
    public void submit(IoCompletion completion, Supplier<Errno> check, Work work) {
        if (!begin()) {
            complete(completion, 0, Errno.EBADF);
            return;
        }
        Errno invalid = check.get();
        if (invalid != null) {
            end();
            complete(completion, 0, invalid);
            return;
        }
        boolean alone;
        synchronized (this) {
            alone = inFlight == 1;
        }
        Runnable task = () -> {
            long n = 0;
            Errno error = null;
            try {
                n = work.run();
            } catch (IOException e) {
                error = errnoOf.apply(e);
                LOG.debug("{}: I/O failed: {}", name, e.toString());
            } catch (RuntimeException e) {
                error = Errno.EIO; // a bug, but the kernel waiting on this completion must hear of it
                LOG.error("{}: I/O failed unexpectedly", name, e);
            } finally {
                end();
            }
            complete(completion, n, error);
        };
        if (alone && !onEventLoop.getAsBoolean()) {
            task.run();
            return;
        }
        try {
            io.execute(task);
        } catch (RejectedExecutionException e) {
            end();
            complete(completion, 0, Errno.ESHUTDOWN);
        }
    }

    /** Reports a result on the event loop: {@code bytes} on success, 0 with an error. */
    public void complete(IoCompletion completion, long bytes, Errno error) {
        loop.accept(() -> completion.done(error == null ? bytes : 0, error));
    }

    /** Counts a request in; false once closed. Each true is matched by one {@link #end()}. */
    public synchronized boolean begin() {
        if (closed) {
            return false;
        }
        inFlight++;
        return true;
    }

    /** Counts a request out. */
    public synchronized void end() {
        if (--inFlight == 0) {
            notifyAll();
        }
    }

    /**
     * Refuses new requests and waits for those in flight. True for the call that closed, which
     * then releases the device; false if it was closed already. Keeps an interrupt for the caller.
     */
    public synchronized boolean close() {
        if (closed) {
            return false;
        }
        closed = true;
        boolean interrupted = false;
        while (inFlight > 0) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return true;
    }
}
