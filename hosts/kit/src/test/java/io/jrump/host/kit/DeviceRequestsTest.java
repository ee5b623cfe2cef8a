package io.jrump.host.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DeviceRequestsTest {
    private final ExecutorService io = Executors.newFixedThreadPool(2);
    /** Completions as the loop would run them: bytes and errno, in order. */
    private final List<String> done = new ArrayList<>();
    private volatile boolean onLoop;

    private DeviceRequests requests(java.util.concurrent.Executor executor) {
        return new DeviceRequests("d", executor, task -> {
            synchronized (done) {
                task.run();
            }
        }, () -> onLoop, e -> e instanceof ErrnoException x ? x.errno() : Errno.EIO);
    }

    private void record(long bytes, Errno error) {
        done.add(bytes + " " + error); // under the lock the test's "loop" holds
    }

    private List<String> snapshot() {
        synchronized (done) {
            return List.copyOf(done);
        }
    }

    @AfterEach
    void stop() {
        io.shutdownNow();
    }

    @Test
    void aLoneRequestOffTheLoopRunsOnTheCallersThread() {
        AtomicReference<Thread> ran = new AtomicReference<>();
        requests(io).submit(this::record, () -> null, () -> {
            ran.set(Thread.currentThread());
            return 512;
        });
        assertEquals(Thread.currentThread(), ran.get());
        assertEquals(List.of("512 null"), done);
    }

    @Test
    void onTheLoopTheWorkGoesToTheExecutor() throws Exception {
        onLoop = true;
        CountDownLatch finished = new CountDownLatch(1);
        AtomicReference<Thread> ran = new AtomicReference<>();
        requests(io).submit((n, e) -> finished.countDown(), () -> null, () -> {
            ran.set(Thread.currentThread());
            return 1;
        });
        assertTrue(finished.await(10, TimeUnit.SECONDS));
        assertNotEquals(Thread.currentThread(), ran.get());
    }

    @Test
    void aFailedCheckOrWorkCompletesWithItsErrnoAndNoBytes() {
        DeviceRequests r = requests(io);
        r.submit(this::record, () -> Errno.EINVAL, () -> {
            throw new AssertionError("the work of an invalid request ran");
        });
        r.submit(this::record, () -> null, () -> {
            throw new ErrnoException(Errno.ENOSPC, "full");
        });
        r.submit(this::record, () -> null, () -> {
            throw new IOException("other");
        });
        r.submit(this::record, () -> null, () -> {
            throw new IllegalStateException("a bug");
        });
        assertEquals(List.of("0 EINVAL", "0 ENOSPC", "0 EIO", "0 EIO"), done);
    }

    @Test
    void closeWaitsForWorkInFlightThenRefusesWithEbadf() throws Exception {
        onLoop = true; // so the work goes to the executor and can be held there
        DeviceRequests r = requests(io);
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        r.submit(this::record, () -> null, () -> {
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            return 7;
        });
        assertTrue(started.await(10, TimeUnit.SECONDS));
        Thread closer = new Thread(() -> assertTrue(r.close()));
        closer.start();
        closer.join(200);
        assertTrue(closer.isAlive(), "close returned with work in flight");
        release.countDown();
        closer.join(10_000);
        assertFalse(closer.isAlive());
        // The completion is posted once the work is counted out: it may trail close by a moment.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (snapshot().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertEquals(List.of("7 null"), snapshot());
        assertFalse(r.close(), "a second close is a no-op");
        r.submit(this::record, () -> null, () -> 1);
        assertEquals(List.of("7 null", "0 EBADF"), snapshot());
    }

    @Test
    void aRefusingExecutorGivesEshutdown() {
        onLoop = true;
        DeviceRequests r = requests(task -> {
            throw new RejectedExecutionException("stopped");
        });
        r.submit(this::record, () -> null, () -> 1);
        assertEquals(List.of("0 ESHUTDOWN"), done);
        assertTrue(r.close(), "the refused request was counted out");
    }
}
