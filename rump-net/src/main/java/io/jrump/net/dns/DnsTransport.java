package io.jrump.net.dns;

import io.jrump.hypercall.ErrnoException;
import java.util.function.Consumer;

/**
 * How {@link DnsResolver} reaches name servers, so that it needs no sockets of its own: a stack's
 * UDP and TCP sockets, a test's host sockets, or a scripted fake. Every callback must run on the
 * event loop of the resolver's host ({@code host.scheduler()}), one at a time.
 */
public interface DnsTransport {

    /** A datagram received, with the address and port it came from. */
    record Datagram(DnsServer source, byte[] payload) {}

    /**
     * Opens a UDP socket on a fresh random source port (RFC 5452 §9.2: the port is half of what
     * an off-path attacker must guess). Every datagram it receives, from anyone, goes to
     * {@code receiver}; the resolver checks the source.
     */
    UdpSocket openUdp(Consumer<Datagram> receiver) throws ErrnoException;

    /**
     * Opens a TCP connection to the server. Bytes received go to {@code receiver} in order, in any
     * chunking; the end of the stream goes to {@code closed} once, with {@code null} for an orderly
     * close or the error (refused, reset, timed out).
     */
    TcpConnection openTcp(DnsServer server, Consumer<byte[]> receiver, Consumer<ErrnoException> closed)
            throws ErrnoException;

    /** A UDP socket opened by {@link #openUdp}. */
    interface UdpSocket {
        void send(DnsServer to, byte[] payload) throws ErrnoException;

        /** Closes the socket; no callback follows. Idempotent. */
        void close();
    }

    /** A TCP connection opened by {@link #openTcp}. */
    interface TcpConnection {
        void send(byte[] bytes) throws ErrnoException;

        /** Closes the connection; no callback follows. Idempotent. */
        void close();
    }
}
