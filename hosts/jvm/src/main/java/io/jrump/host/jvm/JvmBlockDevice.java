package io.jrump.host.jvm;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.HostBlockDevice;
import java.util.function.Consumer;

/**
 * What file and memory devices share: the open/closed state, a count of operations in flight so
 * that {@link #close()} can wait for them, and delivery of completions on the event loop.
 *
 * <p>Thread-safe; the object's lock guards the state and the in-flight count.
 */
abstract class JvmBlockDevice implements HostBlockDevice {
    private final String name;
    private final boolean readOnly;
    private final EventLoop loop;
    private final Consumer<JvmBlockDevice> onClose;
    private int inFlight;
    private boolean closed;

    JvmBlockDevice(String name, boolean readOnly, EventLoop loop, Consumer<JvmBlockDevice> onClose) {
        this.name = name;
        this.readOnly = readOnly;
        this.loop = loop;
        this.onClose = onClose;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public int sectorSize() {
        return 512;
    }

    /** Registers an operation; false once closed. */
    final synchronized boolean begin() {
        if (closed) {
            return false;
        }
        inFlight++;
        return true;
    }

    /** Whether only the caller's own operation is in flight. */
    final synchronized boolean alone() {
        return inFlight == 1;
    }

    /** Whether the calling thread is the event loop, which must never block on host I/O. */
    final boolean onEventLoop() {
        return loop.inEventLoop();
    }

    final synchronized void end() {
        if (--inFlight == 0) {
            notifyAll();
        }
    }

    /** Reports on the event loop; dropped if the host has closed its loop meanwhile. */
    final void complete(IoCompletion completion, long bytes, Errno error) {
        loop.offer(() -> completion.done(error == null ? bytes : 0, error));
    }

    @Override
    public final void close() {
        synchronized (this) {
            if (closed) {
                return;
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
        }
        release();
        onClose.accept(this);
    }

    /** Frees what the device holds, after the last operation has ended. */
    abstract void release();
}
