package io.jrump.host.kit;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a host has open, so that closing the host closes them all: devices register as they open
 * and unregister as they close; once the host is closing, opening fails with {@code ESHUTDOWN}
 * and a device that lost that race is closed at once rather than leaked. Thread-safe.
 */
public final class OpenDevices {
    private final String host;
    private final Map<Object, Runnable> open = new LinkedHashMap<>();
    private boolean closed;

    /** @param host the host's name, for messages */
    public OpenDevices(String host) {
        this.host = host;
    }

    /** {@code ESHUTDOWN} once the host has closed. */
    public synchronized void checkOpen() throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.ESHUTDOWN, "host " + host + " is closed");
        }
    }

    /**
     * Keeps {@code device}, to be closed by {@code close} with the host; returns it. If the host
     * has closed meanwhile, closes it and fails with {@code ESHUTDOWN}.
     */
    public <T> T register(T device, Runnable close) throws ErrnoException {
        synchronized (this) {
            if (!closed) {
                open.put(device, close);
                return device;
            }
        }
        close.run();
        throw new ErrnoException(Errno.ESHUTDOWN, "host " + host + " is closed");
    }

    /** Forgets a device that closed by itself. */
    public synchronized void unregister(Object device) {
        open.remove(device);
    }

    /**
     * Marks the host closed and closes every device still open, oldest first, outside the lock
     * (a device's close unregisters it). True for the call that closed; false if closed already.
     */
    public boolean closeAll() {
        List<Runnable> closers;
        synchronized (this) {
            if (closed) {
                return false;
            }
            closed = true;
            closers = new ArrayList<>(open.values());
        }
        for (Runnable c : closers) {
            c.run();
        }
        return true;
    }
}
