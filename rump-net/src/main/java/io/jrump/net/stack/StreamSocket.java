package io.jrump.net.stack;

import io.jrump.net.Ipv4Address;
import io.jrump.net.socket.Readiness;

/** A TCP socket: unconnected (maybe bound), listening, or one end of a connection. */
final class StreamSocket {
    Ipv4Address localAddress = Ipv4Address.ANY;
    int localPort;
    boolean reuseAddress;
    boolean nonBlocking;
    /** Shared with the listener, or the connection's own once connected, so setsockopt reaches them. */
    TcpSocketOptions options = new TcpSocketOptions();
    TcpListener listener;
    TcpConnection connection;
    boolean shutWrite;

    Readiness readiness() {
        return listener != null ? listener.readiness : connection != null ? connection.readiness : null;
    }
}
