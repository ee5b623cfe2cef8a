package io.jrump.host.jvm;

import io.jrump.hypercall.HostBlockDevice;
import io.jrump.host.kit.DeviceRequests;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * What file and memory devices share: the name, the read-only flag, and the request bookkeeping
 * ({@link DeviceRequests}: operations counted in flight so that {@link #close()} can wait for
 * them, completions delivered on the event loop). Thread-safe.
 */
abstract class JvmBlockDevice implements HostBlockDevice {
    private final String name;
    private final boolean readOnly;
    private final Consumer<JvmBlockDevice> onClose;
    /** The requests: checked, run here or on {@code io}, completed on the loop. */
    final DeviceRequests requests;

    JvmBlockDevice(String name, boolean readOnly, EventLoop loop, Executor io, Consumer<JvmBlockDevice> onClose) {
        this.name = name;
        this.readOnly = readOnly;
        this.onClose = onClose;
        // A completion for a loop that has closed is dropped (offer), as the host is gone.
        this.requests = new DeviceRequests(name, io, loop::offer, loop::inEventLoop, IoErrors::errnoOf);
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

    @Override
    public final void close() {
        if (requests.close()) {
            release();
            onClose.accept(this);
        }
    }

    /** Frees what the device holds, after the last operation has ended. */
    abstract void release();
}
