package io.jrump.net.stack;

import io.jrump.net.Ipv4Address;
import io.jrump.net.socket.Readiness;
import java.util.ArrayDeque;

/**
 * A listening socket's queues: connections still in the handshake (bounded by the backlog, so a
 * SYN flood cannot grow it) and established ones waiting for {@code accept} (bounded too).
 * Readable while an established connection waits.
 */
final class TcpListener {
    final Ipv4Address address;
    final int port;
    final int backlog;
    int embryonic;
    final ArrayDeque<TcpConnection> acceptQueue = new ArrayDeque<>();
    final Readiness readiness = new Readiness();
    boolean closed;

    TcpListener(Ipv4Address address, int port, int backlog) {
        this.address = address;
        this.port = port;
        this.backlog = Math.max(1, Math.min(backlog, 4096));
    }

    boolean full() {
        return embryonic + acceptQueue.size() >= backlog;
    }
}
