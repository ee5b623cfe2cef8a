package io.jrump.host.sim;

/**
 * One entry of the world's queue: an action due at a virtual time. Ordered by time, then by
 * sequence number, so that equal times run in the order they were posted.
 */
final class Event {
    enum State { PENDING, TAKEN, CANCELLED }

    final long time;
    final long seq;
    /** The host whose task this is, dropped when that host closes; null for world events. */
    final SimHost host;
    /** Who the event belongs to in the trace: a host, a disk or a link. */
    final String actor;
    final String label;
    final Runnable action;
    State state = State.PENDING;

    Event(long time, long seq, SimHost host, String actor, String label, Runnable action) {
        this.time = time;
        this.seq = seq;
        this.host = host;
        this.actor = actor;
        this.label = label;
        this.action = action;
    }

    static int compare(Event a, Event b) {
        int c = Long.compare(a.time, b.time);
        return c != 0 ? c : Long.compare(a.seq, b.seq);
    }
}
