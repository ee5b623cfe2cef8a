package io.jrump.host.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** A host without a loop thread: its kernel runs when the application polls it, or waits in a call. */
class PolledHostTest {
    @Test
    void tasksAndTimersRunOnlyWhenPolledAndOnThePollingThread() throws Exception {
        try (JvmHost host = JvmHost.builder().name("polled").polled().build()) {
            assertEquals(-1, host.pollDelayNanos(), "nothing set");
            AtomicReference<Thread> ranOn = new AtomicReference<>();
            host.scheduler().execute(() -> ranOn.set(Thread.currentThread()));
            Thread.sleep(20);
            assertEquals(null, ranOn.get(), "no thread of its own runs it");
            assertEquals(0, host.pollDelayNanos(), "work is ready");
            assertTrue(host.poll());
            assertSame(Thread.currentThread(), ranOn.get());
            assertFalse(host.poll(), "nothing left");

            CompletableFuture<Void> fired = new CompletableFuture<>();
            long now = host.clock().monotonicNanos();
            host.scheduler().executeAt(now + 30_000_000L, () -> fired.complete(null));
            long delay = host.pollDelayNanos();
            assertTrue(delay > 0 && delay <= 30_000_000L, "the timer's delay: " + delay);
            assertFalse(host.poll(), "not due yet");
            assertFalse(fired.isDone());
            host.scheduler().await(fired); // a blocking call runs the loop until it can return
            assertTrue(host.clock().monotonicNanos() - now >= 30_000_000L, "and not before the deadline");
        }
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals("jrump-loop-polled")),
                "no loop thread was ever made");
    }

    @Test
    void aWaitWithNothingDueEndsInEintrWhenInterrupted() throws Exception {
        try (JvmHost host = JvmHost.builder().name("polled-intr").polled().build()) {
            Thread caller = Thread.currentThread();
            Thread interrupter = new Thread(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                caller.interrupt();
            });
            interrupter.start();
            io.jrump.hypercall.ErrnoException e = org.junit.jupiter.api.Assertions.assertThrows(
                    io.jrump.hypercall.ErrnoException.class, () -> host.scheduler().await(new CompletableFuture<Void>()));
            assertEquals(io.jrump.hypercall.Errno.EINTR, e.errno());
            assertTrue(Thread.interrupted(), "the interrupt stays set, as for a blocking call on a threaded loop");
            interrupter.join();
        }
    }

    @Test
    void aWaitEndsWhenAnotherThreadCompletesTheFuture() throws Exception {
        try (JvmHost host = JvmHost.builder().name("polled-io").polled().build()) {
            CompletableFuture<String> done = new CompletableFuture<>();
            Thread io = new Thread(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                done.complete("read");
            });
            io.start();
            assertEquals("read", host.scheduler().await(done), "woken without any timer or task");
        }
    }
}
