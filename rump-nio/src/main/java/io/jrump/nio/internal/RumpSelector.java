package io.jrump.nio.internal;

import io.jrump.hypercall.ErrnoException;
import java.io.IOException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.IllegalSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.spi.AbstractSelectableChannel;
import java.nio.channels.spi.AbstractSelector;
import java.nio.channels.spi.SelectorProvider;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link Selector} over channels of one stack, with the JDK's semantics: the key set, the selected-key
 * set (keys may be removed from it, never added), cancelled keys deregistered at the start and end of
 * every selection, ready sets added to for a key already selected, {@link #wakeup} before a selection
 * making the next one return at once ({@link #selectNow} clears it), an interrupt waking a blocked
 * selection with the interrupt status kept.
 *
 * <p>A selection polls the registered sockets in one hop to the stack's event loop and, when none is
 * ready, waits on a future that any readiness change of a registered socket, a wakeup, the time-out
 * (a host timer) or the selector's close completes. Selections serialize on the selector, as the
 * JDK's do; registration and {@link #wakeup} never wait for a selection. Lock order: the selector,
 * then {@code waitLock}; a channel's readiness listener takes only {@code waitLock}.
 */
public final class RumpSelector extends AbstractSelector {
    private final Loop loop;
    private final Set<RumpSelectionKey> keys = ConcurrentHashMap.newKeySet();
    private final Set<SelectionKey> publicKeys = Collections.unmodifiableSet(keys);
    private final Set<SelectionKey> selected = new HashSet<>();
    private final Set<SelectionKey> publicSelected = new Ungrowable(selected);
    private final Object waitLock = new Object();
    private CompletableFuture<Void> armed;
    private boolean wakeupPending;

    public RumpSelector(SelectorProvider provider, Loop loop) {
        super(provider);
        this.loop = loop;
    }

    private void ensureOpen() {
        if (!isOpen()) {
            throw new ClosedSelectorException();
        }
    }

    @Override
    public Set<SelectionKey> keys() {
        ensureOpen();
        return publicKeys;
    }

    @Override
    public Set<SelectionKey> selectedKeys() {
        ensureOpen();
        return publicSelected;
    }

    @Override
    public int selectNow() throws IOException {
        return select(-1L, true);
    }

    @Override
    public int select(long timeout) throws IOException {
        if (timeout < 0) {
            throw new IllegalArgumentException("Negative timeout");
        }
        return select(timeout, false);
    }

    @Override
    public int select() throws IOException {
        return select(0L, false);
    }

    /** {@code timeoutMillis}: -1 do not wait, 0 wait for ever, else wait that long at most. */
    private int select(long timeoutMillis, boolean now) throws IOException {
        synchronized (this) {
            ensureOpen();
            boolean blocking = !now;
            long deadline = timeoutMillis > 0 ? loop.deadline(timeoutMillis * 1_000_000L) : 0;
            if (blocking) {
                begin(); // an interrupt wakes us up
            }
            try {
                processCancelled();
                CompletableFuture<Void> wake;
                synchronized (waitLock) {
                    if (now) {
                        wakeupPending = false;
                    }
                    wake = armed = new CompletableFuture<>();
                }
                int n = updateSelected();
                while (n == 0 && blocking) {
                    synchronized (waitLock) {
                        if (wakeupPending) {
                            wakeupPending = false;
                            break;
                        }
                    }
                    if (Thread.currentThread().isInterrupted() || !isOpen()) {
                        break;
                    }
                    if (deadline != 0 && loop.now() >= deadline) {
                        break;
                    }
                    loop.awaitUntil(wake, deadline);
                    synchronized (waitLock) {
                        wake = armed = new CompletableFuture<>();
                    }
                    processCancelled();
                    n = updateSelected();
                }
                synchronized (waitLock) {
                    armed = null;
                }
                processCancelled();
                return n;
            } catch (ErrnoException e) {
                throw Errors.of(e);
            } finally {
                if (blocking) {
                    end();
                }
            }
        }
    }

    /** Polls every key with interests, in one hop to the loop, and updates the selected-key set; returns how many keys changed. */
    private int updateSelected() throws ErrnoException {
        List<RumpSelectionKey> ks = new ArrayList<>(keys.size());
        for (RumpSelectionKey k : keys) {
            if (k.isValid() && k.interestOpsUnchecked() != 0) {
                ks.add(k);
            }
        }
        if (ks.isEmpty()) {
            return 0;
        }
        int[] events = loop.run(() -> {
            int[] ev = new int[ks.size()];
            for (int i = 0; i < ev.length; i++) {
                RumpChannel c = ks.get(i).rumpChannel();
                ev[i] = -1;
                if (c.isOpen() && !c.watch().detached()) {
                    try {
                        ev[i] = c.watch().poll();
                    } catch (ErrnoException e) {
                        ev[i] = -1; // closed under us: its key is cancelled by the close
                    }
                }
            }
            return ev;
        });
        int n = 0;
        for (int i = 0; i < events.length; i++) {
            RumpSelectionKey k = ks.get(i);
            if (events[i] < 0 || !k.isValid()) {
                continue;
            }
            int interest = k.interestOpsUnchecked();
            int ready = k.rumpChannel().translateReadyOps(events[i], interest) & interest;
            if (ready == 0) {
                continue;
            }
            if (selected.contains(k)) {
                int before = k.readyOpsUnchecked();
                if ((ready & ~before) != 0) {
                    k.readyOps(before | ready);
                    n++;
                }
            } else {
                k.readyOps(ready);
                selected.add(k);
                n++;
            }
        }
        return n;
    }

    /** Deregisters the cancelled keys, as a selection operation's first and last steps do. */
    private void processCancelled() {
        Set<SelectionKey> cancelled = cancelledKeys();
        List<SelectionKey> gone;
        synchronized (cancelled) {
            if (cancelled.isEmpty()) {
                return;
            }
            gone = new ArrayList<>(cancelled);
            cancelled.clear();
        }
        for (SelectionKey k : gone) {
            RumpSelectionKey rk = (RumpSelectionKey) k;
            keys.remove(rk);
            selected.remove(rk);
            deregister(rk);
            if (rk.rumpChannel().watch() != null && !hasOtherKey(rk)) {
                rk.rumpChannel().watch().removeSelector(this);
            }
        }
    }

    private boolean hasOtherKey(RumpSelectionKey gone) {
        for (RumpSelectionKey k : keys) {
            if (k.channel() == gone.channel()) {
                return true;
            }
        }
        return false;
    }

    /** A registered socket's readiness changed, or an interest set did: a waiting selection looks again. */
    void signal() {
        synchronized (waitLock) {
            if (armed != null) {
                armed.complete(null);
            }
        }
    }

    @Override
    public Selector wakeup() {
        synchronized (waitLock) {
            wakeupPending = true;
            if (armed != null) {
                armed.complete(null);
            }
        }
        return this;
    }

    @Override
    protected void implCloseSelector() throws IOException {
        wakeup();
        synchronized (this) {
            for (RumpSelectionKey k : List.copyOf(keys)) {
                k.cancel();
            }
            processCancelled();
            selected.clear();
        }
    }

    @Override
    protected SelectionKey register(AbstractSelectableChannel ch, int ops, Object att) {
        if (!(ch instanceof RumpChannel rc)) {
            throw new IllegalSelectorException();
        }
        ensureOpen();
        RumpSelectionKey k = new RumpSelectionKey(ch, this);
        k.attach(att);
        k.interestOps(ops);
        rc.watch().addSelector(this);
        keys.add(k);
        signal();
        return k;
    }

    /** A set that elements may be removed from but never added to, as the JDK's selected-key set. */
    private static final class Ungrowable extends AbstractSet<SelectionKey> {
        private final Set<SelectionKey> s;

        Ungrowable(Set<SelectionKey> s) {
            this.s = s;
        }

        @Override
        public int size() {
            return s.size();
        }

        @Override
        public boolean contains(Object o) {
            return s.contains(o);
        }

        @Override
        public boolean remove(Object o) {
            return s.remove(o);
        }

        @Override
        public void clear() {
            s.clear();
        }

        @Override
        public Iterator<SelectionKey> iterator() {
            return s.iterator();
        }

        @Override
        public boolean add(SelectionKey k) {
            throw new UnsupportedOperationException();
        }
    }
}
