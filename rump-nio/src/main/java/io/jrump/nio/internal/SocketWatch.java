package io.jrump.nio.internal;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.socket.Readiness;
import io.jrump.net.stack.Sockets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One kernel socket's readiness as a channel sees it: the listener the stack calls on its event loop
 * when the socket's events change, which wakes the channel's blocked callers and the selectors it is
 * registered with. A TCP socket gets a new readiness once it connects or listens, so the channel
 * attaches again then. Thread-safe: the waiter list is guarded by itself; no other lock is taken
 * under it.
 */
final class SocketWatch implements Readiness.Listener {
    private final Sockets sockets;
    private final Loop loop;
    private final int fd;
    private final List<CompletableFuture<Void>> waiters = new ArrayList<>();
    private final List<RumpSelector> selectors = new CopyOnWriteArrayList<>();
    private volatile boolean detached;

    SocketWatch(Sockets sockets, Loop loop, int fd) {
        this.sockets = sockets;
        this.loop = loop;
        this.fd = fd;
    }

    /** Listens to the socket's current readiness (again after a connect or listen made a new one). */
    void attach() throws ErrnoException {
        loop.run(() -> {
            sockets.watch(fd, this);
            return null;
        });
        wakeAll(); // what changed while no listener was attached
    }

    @Override
    public void readinessChanged(int events) {
        if (!detached) {
            wakeAll();
        }
    }

    /** The socket's events now: POLLIN, POLLOUT, POLLERR, POLLHUP. */
    int poll() throws ErrnoException {
        return sockets.poll(fd, Readiness.POLLIN | Readiness.POLLOUT);
    }

    /** Wakes every caller waiting here and every selector the channel is registered with. */
    void wakeAll() {
        List<CompletableFuture<Void>> woken;
        synchronized (waiters) {
            woken = new ArrayList<>(waiters);
            waiters.clear();
        }
        for (CompletableFuture<Void> f : woken) {
            f.complete(null);
        }
        for (RumpSelector s : selectors) {
            s.signal();
        }
    }

    /** After close: wake everyone, and ignore the stack from now on. */
    void detach() {
        detached = true;
        wakeAll();
    }

    boolean detached() {
        return detached;
    }

    void addSelector(RumpSelector s) {
        selectors.add(s);
    }

    /** For a channel that replaced its kernel socket: the selectors it is registered with follow it. */
    void moveSelectorsTo(SocketWatch next) {
        next.selectors.addAll(selectors);
        selectors.clear();
    }

    void removeSelector(RumpSelector s) {
        selectors.remove(s);
    }

    /**
     * Waits until any of {@code events} (or an error or hang-up) is there, the channel is closed, the
     * deadline (0: none) passes — or any readiness change: the caller tries again and comes back.
     */
    void await(int events, long deadline) throws ErrnoException {
        CompletableFuture<Void> wake = new CompletableFuture<>();
        synchronized (waiters) {
            if (detached) {
                return;
            }
            waiters.add(wake);
        }
        try {
            if ((sockets.poll(fd, events) & (events | Readiness.POLLERR | Readiness.POLLHUP)) != 0) {
                return;
            }
            if (deadline != 0 && loop.now() >= deadline) {
                return;
            }
            loop.awaitUntil(wake, deadline);
        } catch (ErrnoException e) {
            if (!detached) {
                throw e;
            }
        } finally {
            synchronized (waiters) {
                waiters.remove(wake);
            }
        }
    }
}
