package io.jrump.net.stack;

import io.jrump.net.Ipv4Address;
import io.jrump.net.socket.Readiness;
import java.util.ArrayDeque;

/**
 * A listening socket's queues: connections still in the handshake and established ones waiting for
 * {@code accept}, together bounded by the backlog (beyond it SYNs are answered with SYN cookies,
 * and connections made from cookies wait in the accept queue up to {@link #SOMAXCONN}). Readable
 * while an established connection waits. Its options are the listening socket's, copied into each
 * new connection.
 */
final class TcpListener {
    final Ipv4Address address;
    final int port;
    static final int SOMAXCONN = 4096;
    final int backlog;
    final TcpSocketOptions options;
    int embryonic;
    final ArrayDeque<TcpConnection> acceptQueue = new ArrayDeque<>();
    final Readiness readiness = new Readiness();
    boolean closed;

    TcpListener(Ipv4Address address, int port, int backlog, TcpSocketOptions options) {
        this.address = address;
        this.options = options;
        this.port = port;
        this.backlog = Math.max(1, Math.min(backlog, SOMAXCONN));
    }

    boolean full() {
        return embryonic + acceptQueue.size() >= backlog;
    }
}
