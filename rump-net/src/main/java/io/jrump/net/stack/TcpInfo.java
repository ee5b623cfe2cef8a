package io.jrump.net.stack;

import io.jrump.net.Ipv4Address;

/**
 * A snapshot of one TCP connection, the fields {@code ss -tin} shows on Linux: the four-tuple and
 * state, the send side (unacknowledged, next, the peer's window, the congestion window, bytes
 * queued), the receive side (next expected, the window offered, bytes waiting for the reader),
 * the round-trip estimate, and which timers are armed. Taken on the event loop, so consistent.
 */
public record TcpInfo(Ipv4Address localAddress, int localPort, Ipv4Address remoteAddress, int remotePort,
        String state, long sndUna, long sndNxt, long sndWnd, long cwnd, long sendQueued, int mss,
        long rcvNxt, long rcvWnd, long receiveQueued, long srttMicros, long rtoMicros, int retransmissions,
        String timers) {

    static TcpInfo of(TcpConnection c) {
        StringBuilder timers = new StringBuilder();
        timer(timers, "rto", c.retransmitTimer.isPending());
        timer(timers, "persist", c.persistTimer.isPending());
        timer(timers, "delack", c.delayedAckTimer.isPending());
        timer(timers, "keepalive", c.keepaliveTimer.isPending());
        timer(timers, "timewait", c.timeWaitTimer.isPending());
        return new TcpInfo(c.localAddress, c.localPort, c.remoteAddress, c.remotePort, c.state.name(),
                Integer.toUnsignedLong(c.sndUna), Integer.toUnsignedLong(c.sndNxt), c.sndWnd,
                c.cc != null ? c.cc.cwnd() : 0, c.sendQueued, c.mss, Integer.toUnsignedLong(c.rcvNxt),
                c.receiveWindow(), c.received, c.rtt.srttNanos() / 1000, c.rtt.rtoNanos() / 1000, c.retransmissions,
                timers.isEmpty() ? "-" : timers.toString());
    }

    private static void timer(StringBuilder out, String name, boolean pending) {
        if (pending) {
            out.append(out.isEmpty() ? "" : ",").append(name);
        }
    }

    /** One line, in the manner of {@code ss -tin}. */
    @Override
    public String toString() {
        return String.format("%-11s %s:%d -> %s:%d snd una=%d nxt=%d wnd=%d cwnd=%d queued=%d mss=%d"
                + " rcv nxt=%d wnd=%d queued=%d rtt=%dus rto=%dus retrans=%d timers=%s", state, localAddress,
                localPort, remoteAddress, remotePort, sndUna, sndNxt, sndWnd, cwnd, sendQueued, mss, rcvNxt, rcvWnd,
                receiveQueued, srttMicros, rtoMicros, retransmissions, timers);
    }
}
