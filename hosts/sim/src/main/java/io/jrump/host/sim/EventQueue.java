package io.jrump.host.sim;

import java.util.PriorityQueue;

/**
 * The world's pending events in (time, sequence) order. Cancelling marks an event and leaves it in
 * the heap until it reaches the head or cancelled entries make up most of the heap, so that
 * protocols that arm and cancel a timer per packet cost O(log n) per timer.
 */
final class EventQueue {
    private static final int COMPACT_AT = 1024;

    private final PriorityQueue<Event> heap = new PriorityQueue<>(Event::compare);
    private long nextSeq;
    private int cancelled;

    Event add(long time, SimHost host, String actor, String label, Runnable action) {
        Event e = new Event(time, nextSeq++, host, actor, label, action);
        heap.add(e);
        return e;
    }

    /** The next event that will run, or null if none will. */
    Event peek() {
        Event e = heap.peek();
        while (e != null && e.state == Event.State.CANCELLED) {
            heap.poll();
            cancelled--;
            e = heap.peek();
        }
        return e;
    }

    /** Takes the next event that will run, or returns null. */
    Event poll() {
        Event e = peek();
        if (e != null) {
            heap.poll();
            e.state = Event.State.TAKEN;
        }
        return e;
    }

    /** Whether the event was pending and now never runs. */
    boolean cancel(Event e) {
        if (e.state != Event.State.PENDING) {
            return false;
        }
        e.state = Event.State.CANCELLED;
        cancelled++;
        if (cancelled > COMPACT_AT && cancelled > heap.size() / 2) {
            heap.removeIf(x -> x.state == Event.State.CANCELLED);
            cancelled = 0;
        }
        return true;
    }

    /** Cancels every pending task of a host that closed. */
    void dropTasksOf(SimHost host) {
        heap.removeIf(e -> {
            if (e.host != host) {
                return false;
            }
            if (e.state == Event.State.CANCELLED) {
                cancelled--;
            }
            e.state = Event.State.CANCELLED;
            return true;
        });
    }
}
