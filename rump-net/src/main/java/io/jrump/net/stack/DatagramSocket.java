package io.jrump.net.stack;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.IpAddress;
import io.jrump.net.socket.Readiness;
import java.util.ArrayDeque;

/**
 * A UDP socket, or an ICMP echo ("ping") socket as Linux has them: its addresses, options,
 * bounded receive queue, a pending error (from an ICMP unreachable on a connected socket) and its
 * readiness. Owned by the event loop.
 */
final class DatagramSocket {
    static final int DEFAULT_RCVBUF = 212_992;

    /** A datagram waiting to be received; {@code from} as the socket's family names it (IPv4-mapped on AF_INET6). */
    record Datagram(IpAddress from, int port, byte[] data) {
    }

    final int protocol;
    /** 4 for AF_INET, 6 for AF_INET6. */
    final int family;
    /** IPV6_V6ONLY, as on a stream socket. */
    boolean v6Only;
    IpAddress localAddress;
    int localPort; // for ping sockets, the echo identifier
    IpAddress peer;
    int peerPort;
    boolean broadcast;
    boolean reuseAddress;
    boolean nonBlocking;
    int receiveBuffer = DEFAULT_RCVBUF;
    final ArrayDeque<Datagram> queue = new ArrayDeque<>();
    int queuedBytes;
    ErrnoException pendingError;
    final Readiness readiness = new Readiness();
    boolean closed;

    DatagramSocket(int protocol, int family) {
        this.protocol = protocol;
        this.family = family;
        this.localAddress = IpAddress.unspecified(family);
        this.peer = localAddress;
        this.v6Only = protocol == Sockets.IPPROTO_ICMPV6; // an ICMPv6 echo socket never sees IPv4
        readiness.add(Readiness.POLLOUT); // datagrams go out at once or are dropped: always writable
    }

    boolean bound() {
        return localPort != 0;
    }

    boolean connected() {
        return peerPort != 0 || !peer.isUnspecified();
    }

    /** Whether this is an ICMP or ICMPv6 echo ("ping") socket. */
    boolean isPing() {
        return protocol == Sockets.IPPROTO_ICMP || protocol == Sockets.IPPROTO_ICMPV6;
    }

    /** Queues a datagram if the receive buffer has room (Linux counts payload bytes here too). */
    boolean enqueue(Datagram d) {
        if (queuedBytes + d.data().length > receiveBuffer) {
            return false;
        }
        if (family == 6 && d.from().version() == 4) {
            d = new Datagram(d.from().mapped(), d.port(), d.data());
        }
        queue.add(d);
        queuedBytes += d.data().length;
        readiness.add(Readiness.POLLIN);
        return true;
    }

    Datagram dequeue() {
        Datagram d = queue.poll();
        if (d != null) {
            queuedBytes -= d.data().length;
        }
        if (queue.isEmpty() && pendingError == null) {
            readiness.remove(Readiness.POLLIN);
        }
        return d;
    }

    void error(ErrnoException e) {
        pendingError = e;
        readiness.add(Readiness.POLLERR);
    }

    /** Takes the pending error, as the next call on the socket reports it. */
    ErrnoException takeError() {
        ErrnoException e = pendingError;
        pendingError = null;
        if (e != null) {
            readiness.remove(Readiness.POLLERR | (queue.isEmpty() ? Readiness.POLLIN : 0));
        }
        return e;
    }
}
