package io.jrump.net.stack;

import io.jrump.net.IpAddress;
import io.jrump.net.socket.Readiness;

/** A TCP socket: unconnected (maybe bound), listening, or one end of a connection. */
final class StreamSocket {
    /** 4 for AF_INET, 6 for AF_INET6: the family its addresses are given and reported in. */
    final int family;
    /** IPV6_V6ONLY: an AF_INET6 socket that takes no IPv4 (off by default, as Linux's bindv6only=0). */
    boolean v6Only;
    /** The bound address; an IPv4 one (unmapped) when an AF_INET6 socket was bound to a mapped address. */
    IpAddress localAddress;
    int localPort;
    boolean reuseAddress;
    boolean nonBlocking;
    /** Shared with the listener, or the connection's own once connected, so setsockopt reaches them. */
    TcpSocketOptions options = new TcpSocketOptions();
    TcpListener listener;
    TcpConnection connection;
    boolean shutWrite;

    StreamSocket(int family) {
        this.family = family;
        this.localAddress = IpAddress.unspecified(family);
    }

    Readiness readiness() {
        return listener != null ? listener.readiness : connection != null ? connection.readiness : null;
    }
}
