package io.jrump.net.stack;

import io.jrump.net.IpAddress;
import java.util.Map;
import java.util.TreeMap;

/**
 * A snapshot of one TCP connection, the fields {@code ss -tin} shows on Linux and what explains a
 * stall: the four-tuple and state; the send side (unacknowledged, next, the highest sent — next
 * is wound back to unacknowledged by a retransmission timeout — the peer's window, the
 * congestion window, bytes queued); the receive side (next expected, the window offered, bytes
 * waiting for the reader); the round-trip estimate; the timers armed, each with the time left and
 * its backoff ({@code rto} with the retransmissions so far, {@code persist} with the probes since
 * the window last let data out); zero-window probes sent; ACKs sent in reply to unacceptable
 * segments and those the rate limit held back; and the segments dropped, by reason. Taken on the
 * event loop, so consistent. Immutable.
 */
public record TcpInfo(IpAddress localAddress, int localPort, IpAddress remoteAddress, int remotePort,
        String state, long sndUna, long sndNxt, long sndMax, long sndWnd, long cwnd, long sendQueued, int mss,
        long rcvNxt, long rcvWnd, long receiveQueued, String congestion, long srttMicros, long rtoMicros,
        int retransmissions,
        String timers, int persistBackoff, long probesSent, long unacceptableAcks, long unacceptableAcksLimited,
        Map<String, Long> drops) {

    public TcpInfo {
        drops = Map.copyOf(drops);
    }

    static TcpInfo of(TcpConnection c) {
        long now = c.tcp.now();
        return new TcpInfo(c.localAddress, c.localPort, c.remoteAddress, c.remotePort, c.state.name(),
                Integer.toUnsignedLong(c.snd.una()), Integer.toUnsignedLong(c.snd.nxt()),
                Integer.toUnsignedLong(c.snd.max()), c.snd.wnd(), c.cc != null ? c.cc.cwnd() : 0, c.sendQueued(), c.mss,
                Integer.toUnsignedLong(c.rcv.nxt()), c.rcv.wnd(), c.received(), c.congestionName(),
                c.timers.rtt().srttNanos() / 1000, c.timers.rtt().rtoNanos() / 1000, c.timers.retransmissions(),
                c.timers.describe(now), c.timers.persistBackoff(), c.probesSent, c.unacceptableAcks,
                c.unacceptableAcksLimited, new TreeMap<>(c.drops));
    }

    /** One line, in the manner of {@code ss -tin}. */
    @Override
    public String toString() {
        return String.format("%-11s %s:%d -> %s:%d snd una=%d nxt=%d max=%d wnd=%d cwnd=%d queued=%d mss=%d"
                + " rcv nxt=%d wnd=%d queued=%d %s rtt=%dus rto=%dus retrans=%d timers=%s probes=%d"
                + " unacceptable_acks=%d(+%d limited) drops=%s", state, localAddress, localPort, remoteAddress,
                remotePort, sndUna, sndNxt, sndMax, sndWnd, cwnd, sendQueued, mss, rcvNxt, rcvWnd, receiveQueued, congestion, srttMicros,
                rtoMicros, retransmissions, timers, probesSent, unacceptableAcks, unacceptableAcksLimited,
                drops.isEmpty() ? "-" : new TreeMap<>(drops).toString());
    }
}
