package io.jrump.net.stack;

import io.jrump.net.IpAddress;
import io.jrump.net.socket.PortTable;
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
    final IpAddress address;
    /** IPV6_V6ONLY of an IPv6 wildcard listener: without it, IPv4 connections reach it too. */
    final boolean v6Only;
    final int port;
    static final int SOMAXCONN = 4096;
    final int backlog;
    final TcpSocketOptions options;
    int embryonic;
    final ArrayDeque<TcpConnection> acceptQueue = new ArrayDeque<>();
    final Readiness readiness = new Readiness();
    boolean closed;

    TcpListener(IpAddress address, boolean v6Only, int port, int backlog, TcpSocketOptions options) {
        this.address = address;
        this.v6Only = v6Only;
        this.options = options;
        this.port = port;
        this.backlog = Math.max(1, Math.min(backlog, SOMAXCONN));
    }

    /** Whether a SYN to {@code destination} reaches this listener. */
    boolean reaches(IpAddress destination) {
        return address.equals(destination) || PortTable.covers(address, v6Only, destination);
    }

    boolean full() {
        return embryonic + acceptQueue.size() >= backlog;
    }
}
