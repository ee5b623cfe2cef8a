package io.jrump.net.socket;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A socket's readiness — readable, writable, error, hang-up, as {@code poll(2)} names them —
 * and who waits for it: blocking calls (a future completed when the wanted events come) and
 * listeners (for a selector or Netty integration). Changed and read on the event loop only.
 */
public final class Readiness {
    public static final int POLLIN = 0x1;
    public static final int POLLOUT = 0x4;
    public static final int POLLERR = 0x8;
    public static final int POLLHUP = 0x10;
    /** The peer has shut down its sending side (a FIN arrived), as Linux's POLLRDHUP; reported only when asked for. */
    public static final int POLLRDHUP = 0x2000;

    /** Told of every change, on the event loop. */
    @FunctionalInterface
    public interface Listener {
        void readinessChanged(int events);
    }

    private record Waiter(int wanted, CompletableFuture<Integer> future) {
    }

    private int events;
    private final List<Waiter> waiters = new ArrayList<>();
    private final List<Listener> listeners = new ArrayList<>();

    public int events() {
        return events;
    }

    /** Sets the current events; wakes the waiters whose wanted events (or an error or hang-up) are now there. */
    public void set(int now) {
        if (now == events) {
            return;
        }
        events = now;
        int always = POLLERR | POLLHUP;
        // Take the woken waiters out first, then complete them: a completion may run a blocked
        // call's next step at once, and that step may wait again, adding to the list.
        List<Waiter> woken = new ArrayList<>();
        waiters.removeIf(w -> {
            if ((events & (w.wanted() | always)) != 0) {
                woken.add(w);
                return true;
            }
            return false;
        });
        for (Waiter w : woken) {
            w.future().complete(events & (w.wanted() | always));
        }
        for (Listener l : List.copyOf(listeners)) {
            l.readinessChanged(events);
        }
    }

    public void add(int bits) {
        set(events | bits);
    }

    public void remove(int bits) {
        set(events & ~bits);
    }

    /** A future completed with the events present once any of {@code wanted} (or an error or hang-up) is. */
    public CompletableFuture<Integer> when(int wanted) {
        int hit = events & (wanted | POLLERR | POLLHUP);
        if (hit != 0) {
            return CompletableFuture.completedFuture(hit);
        }
        CompletableFuture<Integer> f = new CompletableFuture<>();
        waiters.add(new Waiter(wanted, f));
        return f;
    }

    /** Fails every waiter (the socket was closed under them). */
    public void failWaiters(Throwable cause) {
        List<Waiter> all = new ArrayList<>(waiters);
        waiters.clear();
        for (Waiter w : all) {
            w.future().completeExceptionally(cause);
        }
    }

    public void addListener(Listener l) {
        listeners.add(l);
    }

    public void removeListener(Listener l) {
        listeners.remove(l);
    }
}
