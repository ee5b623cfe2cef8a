package io.jrump.nio.internal;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Closes a channel's kernel socket once no thread is inside an operation on it, as the JDK defers the
 * close of a file descriptor: the close may come from {@code Thread.interrupt} (holding the interrupted
 * thread's blocker lock, so it must not wait for that thread), and a descriptor closed under an operation
 * could be reused by another socket before the operation notices. Thread-safe, lock-free.
 */
final class DeferredClose {
    /** The kernel close. */
    @FunctionalInterface
    interface Closer {
        void close() throws IOException;
    }

    private final AtomicInteger inside = new AtomicInteger();
    private final AtomicBoolean done = new AtomicBoolean();
    private final Closer closer;
    private volatile boolean closing;

    DeferredClose(Closer closer) {
        this.closer = closer;
    }

    /** Before an operation; the caller then checks that the channel is open. */
    void enter() {
        inside.incrementAndGet();
    }

    /** After it: the last one out of a closed channel closes the socket. */
    void exit() throws IOException {
        if (inside.decrementAndGet() == 0 && closing) {
            finish();
        }
    }

    /** The channel is closed: the socket is closed now, or by the last operation to leave. */
    void close() throws IOException {
        closing = true;
        if (inside.get() == 0) {
            finish();
        }
    }

    private void finish() throws IOException {
        if (done.compareAndSet(false, true)) {
            closer.close();
        }
    }
}
