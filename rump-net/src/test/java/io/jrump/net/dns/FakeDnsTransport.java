package io.jrump.net.dns;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A transport whose "servers" are a script run on the host's event loop: each query (UDP, or TCP
 * with its length prefix stripped) goes to {@link Script#replies}, whose replies are delivered
 * after their delays in virtual time. TCP replies arrive one byte per chunk, to exercise framing.
 */
final class FakeDnsTransport implements DnsTransport {

    /** A reply: from whom, what bytes (for TCP without the prefix; null: the server closes), after how long. */
    record Reply(DnsServer from, byte[] bytes, Duration delay) {}

    /** What was asked: of whom, whether over TCP, the query as parsed. */
    record Asked(DnsServer server, boolean tcp, DnsMessage query) {}

    interface Script {
        List<Reply> replies(DnsServer server, DnsMessage query, boolean tcp) throws ErrnoException;
    }

    private final Hypercalls host;
    Script script;
    final List<Asked> asked = new ArrayList<>();
    int udpSocketsOpen;
    /** Deliver UDP replies even to a closed socket, as a transport may that had them queued already. */
    boolean deliverAfterClose;
    int tcpConnectionsOpen;

    FakeDnsTransport(Hypercalls host, Script script) {
        this.host = host;
        this.script = script;
    }

    @Override
    public UdpSocket openUdp(Consumer<Datagram> receiver) {
        udpSocketsOpen++;
        return new UdpSocket() {
            boolean closed;

            @Override
            public void send(DnsServer to, byte[] payload) throws ErrnoException {
                DnsMessage query = DnsMessage.parse(payload);
                asked.add(new Asked(to, false, query));
                for (Reply r : script.replies(to, query, false)) {
                    host.scheduler().executeAt(host.clock().monotonicNanos() + r.delay().toNanos(), () -> {
                        if (!closed || deliverAfterClose) {
                            receiver.accept(new Datagram(r.from(), r.bytes()));
                        }
                    });
                }
            }

            @Override
            public void close() {
                if (!closed) {
                    closed = true;
                    udpSocketsOpen--;
                }
            }
        };
    }

    @Override
    public TcpConnection openTcp(DnsServer server, Consumer<byte[]> receiver, Consumer<ErrnoException> closedBy) {
        tcpConnectionsOpen++;
        return new TcpConnection() {
            boolean closed;

            @Override
            public void send(byte[] framed) throws ErrnoException {
                int length = (framed[0] & 0xff) << 8 | framed[1] & 0xff;
                if (length != framed.length - 2) {
                    throw new AssertionError("TCP length prefix " + length + " for " + (framed.length - 2) + " bytes");
                }
                DnsMessage query = DnsMessage.parse(java.util.Arrays.copyOfRange(framed, 2, framed.length));
                asked.add(new Asked(server, true, query));
                for (Reply r : script.replies(server, query, true)) {
                    if (r.bytes() == null) { // the server closes the connection
                        host.scheduler().executeAt(host.clock().monotonicNanos() + r.delay().toNanos(), () -> {
                            if (!closed) {
                                closedBy.accept(null);
                            }
                        });
                        continue;
                    }
                    byte[] b = r.bytes();
                    byte[] out = new byte[b.length + 2];
                    out[0] = (byte) (b.length >> 8);
                    out[1] = (byte) b.length;
                    System.arraycopy(b, 0, out, 2, b.length);
                    long at = host.clock().monotonicNanos() + r.delay().toNanos();
                    for (byte one : out) {
                        host.scheduler().executeAt(at, () -> {
                            if (!closed) {
                                receiver.accept(new byte[] {one});
                            }
                        });
                    }
                }
            }

            @Override
            public void close() {
                if (!closed) {
                    closed = true;
                    tcpConnectionsOpen--;
                }
            }
        };
    }
}
