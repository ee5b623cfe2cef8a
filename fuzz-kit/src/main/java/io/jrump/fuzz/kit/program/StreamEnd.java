package io.jrump.fuzz.kit.program;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * One end of a TCP connection as the program sees it: what it sent, how much of its peer's bytes
 * it received, and what happened to it; {@link #received} checks each read against the peer.
 */
final class StreamEnd {
    final String host;
    final ByteArrayOutputStream sent = new ByteArrayOutputStream();
    long delivered;
    /** "address:port" once connect started; matched against an accepted connection's peer. */
    String local;
    StreamEnd peer;
    boolean shutWr;
    boolean shutRd;
    boolean closed;
    /** Its host lost power. */
    boolean dead;
    /** A call on it failed with an error that ends a connection. */
    boolean failed;
    boolean eof;

    StreamEnd(String host) {
        this.host = host;
    }

    /** Whether the liveness check at the end should wait for the bytes the peer sent this end. */
    boolean awaitsBytes() {
        StreamEnd tx = peer;
        return tx != null && !closed && !dead && !failed && !shutRd && !eof && !tx.closed && !tx.dead && !tx.failed;
    }

    /** Checks {@code n} bytes {@code got} arrived here: the next its peer sent, or a justified end of stream. */
    void received(byte[] got, int n, int asked) throws Finding {
        if (n < 0 || n > asked) {
            throw new Finding("recv of " + asked + " returned " + n);
        }
        StreamEnd p = peer;
        if (n == 0 && asked > 0) {
            if (p != null && !p.shutWr && !p.closed && !p.dead) {
                throw new Finding("end of stream, but the peer neither shut down nor closed");
            }
            if (p != null && !p.dead && !p.failed && delivered < p.sent.size()) {
                throw new Finding("end of stream after " + delivered + " of the " + p.sent.size() + " bytes the peer sent");
            }
            eof = true;
            return;
        }
        if (n == 0) {
            return;
        }
        if (shutRd) {
            return; // Linux may still hand over bytes that were queued; not modelled further
        }
        if (p == null) {
            throw new Finding(n + " bytes arrived on a socket with no accepted peer");
        }
        byte[] all = p.sent.toByteArray();
        if (delivered + n > all.length) {
            throw new Finding("received " + (delivered + n) + " bytes in all, but the peer sent only " + all.length);
        }
        byte[] want = Arrays.copyOfRange(all, (int) delivered, (int) delivered + n);
        if (!Arrays.equals(want, Arrays.copyOf(got, n))) {
            throw new Finding("bytes " + delivered + ".." + (delivered + n) + " of the stream are not what the peer sent: "
                    + Finding.firstDifference(want, got, n));
        }
        delivered += n;
    }
}
