package io.jrump.net.stack;

/**
 * The options a TCP socket carries into its connection: buffer sizes (already doubled, as Linux
 * reports them), Nagle, keepalive (Linux's defaults: 7200 s idle, 75 s between probes, 9 probes)
 * SO_LINGER, and the congestion control algorithm (TCP_CONGESTION). A listener's options are copied into each connection it accepts. Owned by the
 * event loop; not thread-safe.
 */
final class TcpSocketOptions {
    static final int MIN_BUFFER = 4608; // Linux's SOCK_MIN_RCVBUF/SNDBUF, roughly, after doubling
    /** The largest receive buffer our window scale (7) can advertise: 65535 << 7. */
    static final int MAX_RECEIVE_BUFFER = 65535 << TcpConnection.WINDOW_SCALE;
    static final int MAX_SEND_BUFFER = 64 << 20;

    int sendBuffer = TcpConnection.DEFAULT_BUFFER;
    int receiveBuffer = TcpConnection.DEFAULT_BUFFER;
    /** SO_RCVBUF was set: no autotuning (Linux's SOCK_RCVBUF_LOCK). */
    boolean receiveBufferLocked;
    /** SO_SNDBUF was set: the send buffer does not grow with the window (SOCK_SNDBUF_LOCK). */
    boolean sendBufferLocked;
    boolean noDelay;
    boolean keepAlive;
    int keepIdleSeconds = 7200;
    int keepIntervalSeconds = 75;
    int keepCount = 9;
    /** SO_LINGER's seconds, or -1 when off. */
    int lingerSeconds = -1;
    /** SO_RCVLOWAT: how many bytes make the socket readable and end a blocking recv. */
    int receiveLowWater = 1;
    /** TCP_CONGESTION, or null for the stack's default (net.ipv4.tcp_congestion_control). */
    String congestion;

    TcpSocketOptions copy() {
        TcpSocketOptions o = new TcpSocketOptions();
        o.sendBuffer = sendBuffer;
        o.receiveBuffer = receiveBuffer;
        o.receiveBufferLocked = receiveBufferLocked;
        o.sendBufferLocked = sendBufferLocked;
        o.noDelay = noDelay;
        o.keepAlive = keepAlive;
        o.keepIdleSeconds = keepIdleSeconds;
        o.keepIntervalSeconds = keepIntervalSeconds;
        o.keepCount = keepCount;
        o.lingerSeconds = lingerSeconds;
        o.receiveLowWater = receiveLowWater;
        o.congestion = congestion;
        return o;
    }
}
