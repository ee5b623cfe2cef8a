package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.dns.DnsConfig;
import io.jrump.net.dns.DnsMessage;
import io.jrump.net.dns.DnsName;
import io.jrump.net.dns.DnsResolver;
import io.jrump.net.dns.DnsServer;
import io.jrump.net.dns.DnsTransport;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;

/**
 * A resolver whose name server answers with fuzzer-chosen bytes, over UDP and over TCP in
 * fuzzer-chosen chunks, the query's ID and question patched in or not: no task throws, the
 * resolution ends within its timeouts, and it ends with addresses or one of the errnos
 * DnsResolver documents.
 */
class DnsResolverFuzzTest {
    private static final Set<Errno> DOCUMENTED = Set.of(Errno.ENOENT, Errno.ENODATA, Errno.ETIMEDOUT, Errno.EAGAIN,
            Errno.EIO, Errno.ELOOP, Errno.EINVAL);

    @FuzzTest(maxDuration = "60s")
    void answersIntoAResolver(FuzzedDataProvider data) throws Exception {
        SimWorld world = new SimWorld(5);
        SimHost host = world.newHost("resolver");
        DnsServer server = new DnsServer(InetAddress.getByAddress(new byte[] {(byte) 198, 18, 0, 53}), 53);
        DnsTransport transport = new DnsTransport() {
            @Override
            public UdpSocket openUdp(Consumer<Datagram> receiver) {
                return new UdpSocket() {
                    @Override
                    public void send(DnsServer to, byte[] query) {
                        for (int i = data.consumeInt(0, 3); i > 0; i--) {
                            byte[] answer = answer(data, query);
                            host.scheduler().executeAt(host.clock().monotonicNanos() + data.consumeInt(0, 3000) * 1_000_000L,
                                    () -> receiver.accept(new Datagram(to, answer)));
                        }
                    }

                    @Override
                    public void close() {
                    }
                };
            }

            @Override
            public TcpConnection openTcp(DnsServer to, Consumer<byte[]> receiver, Consumer<ErrnoException> closed) {
                return new TcpConnection() {
                    @Override
                    public void send(byte[] framed) {
                        byte[] query = java.util.Arrays.copyOfRange(framed, 2, framed.length);
                        byte[] answer = answer(data, query);
                        byte[] stream = new byte[answer.length + 2];
                        int claimed = data.consumeBoolean() ? answer.length : data.consumeInt(0, 0xffff);
                        stream[0] = (byte) (claimed >> 8);
                        stream[1] = (byte) claimed;
                        System.arraycopy(answer, 0, stream, 2, answer.length);
                        long at = host.clock().monotonicNanos();
                        for (int off = 0; off < stream.length;) {
                            int n = Math.min(stream.length - off, data.consumeInt(1, 600));
                            byte[] chunk = java.util.Arrays.copyOfRange(stream, off, off + n);
                            off += n;
                            host.scheduler().executeAt(at, () -> receiver.accept(chunk));
                        }
                        if (data.consumeBoolean()) {
                            host.scheduler().executeAt(at, () -> closed.accept(null));
                        }
                    }

                    @Override
                    public void close() {
                    }
                };
            }
        };
        DnsConfig config = DnsConfig.of(List.of(server)).withTimeout(Duration.ofSeconds(1), 2)
                .withSearch(List.of(DnsName.of("test")));
        DnsResolver resolver = new DnsResolver(host, transport, config);
        CompletableFuture<List<InetAddress>> f = resolver.resolve(data.consumeBoolean() ? "name" : "name.test");
        world.runUntil(f::isDone, Duration.ofMinutes(2));
        assertEquals(List.of(), world.failures(), "a task threw");
        assertTrue(f.isDone(), "resolution still pending after 2 minutes of virtual time");
        try {
            f.join();
        } catch (CompletionException e) {
            assertTrue(e.getCause() instanceof ErrnoException ee && DOCUMENTED.contains(ee.errno()), e.toString());
        }
    }

    /** Fuzzer bytes, with the query's ID and question patched in half of the time so they get past the checks. */
    private static byte[] answer(FuzzedDataProvider data, byte[] query) {
        byte[] answer = data.consumeBytes(data.consumeInt(0, 1500));
        if (data.consumeBoolean() && answer.length >= 12) {
            answer[0] = query[0];
            answer[1] = query[1];
            answer[2] |= (byte) 0x80;
            if (data.consumeBoolean()) {
                // the query's question section, followed by the fuzzer's bytes
                int questionEnd = questionEnd(query);
                byte[] patched = new byte[Math.max(answer.length, questionEnd)];
                System.arraycopy(answer, 0, patched, 0, answer.length);
                System.arraycopy(query, 4, patched, 4, 2);
                System.arraycopy(query, 12, patched, 12, questionEnd - 12);
                answer = patched;
            }
        }
        return answer;
    }

    private static int questionEnd(byte[] query) {
        try {
            DnsMessage q = DnsMessage.parse(query);
            return 12 + q.questions().get(0).name().wireLength() + 4;
        } catch (ErrnoException e) {
            throw new AssertionError("our own query does not parse", e);
        }
    }
}
