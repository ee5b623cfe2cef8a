package io.jrump.net.stack;

import static io.jrump.net.stack.StackTcpTest.connect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * Bulk TCP over clean and lossy links (with reordering and duplication): every byte arrives, in
 * order, and the same seed gives the same trace. The data is generated and checked chunk by chunk
 * (a running digest on both sides), so 100 MiB needs no 100 MiB arrays.
 */
class StackTcpBulkTest {
    private static final int CHUNK = 256 * 1024;

    /** Streams {@code total} seeded bytes from A to B and closes; returns {sent digest, received digest} as hex. */
    private static String[] streamOn(StackSimTest.Pair p, int[] fds, long total, long seed) throws Exception {
        Sockets sa = p.a.sockets();
        Sockets sb = p.b.sockets();
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        MessageDigest got = MessageDigest.getInstance("SHA-256");
        SplittableRandom random = new SplittableRandom(seed);
        byte[] chunk = new byte[CHUNK];
        ByteBuffer buf = ByteBuffer.allocate(CHUNK);
        long received = 0;
        for (long off = 0; off < total; ) {
            int n = (int) Math.min(CHUNK, total - off);
            for (int i = 0; i < n; i += 8) {
                long r = random.nextLong();
                for (int j = 0; j < 8 && i + j < n; j++) {
                    chunk[i + j] = (byte) (r >>> (8 * j));
                }
            }
            sent.update(chunk, 0, n);
            sa.send(fds[0], ByteBuffer.wrap(chunk, 0, n), 0);
            off += n;
            while (received < off) {
                buf.clear();
                int r = sb.recv(fds[1], buf, 0).length();
                assertTrue(r > 0, "the stream ended early at " + received);
                got.update(buf.array(), 0, r);
                received += r;
            }
        }
        sa.shutdown(fds[0], Sockets.SHUT_WR);
        assertEquals(0, sb.recv(fds[1], ByteBuffer.allocate(16), 0).length(), "nothing after the last byte");
        return new String[] {hex(sent.digest()), hex(got.digest())};
    }

    private static String hex(byte[] b) {
        return java.util.HexFormat.of().formatHex(b);
    }

    @ParameterizedTest(name = "{0} MiB at {1} loss")
    @CsvSource({"100, 0.0, 41", "100, 0.01, 42", "100, 0.05, 43"})
    void bulkDataCrossesByteExact(int mib, double loss, long seed) throws Exception {
        StackSimTest.Pair p = new StackSimTest.Pair(seed, 1500);
        int[] fds = connect(p, 80);
        if (loss > 0) {
            p.world.link("lan").setLoss(loss);
            p.world.link("lan").setReorder(0.02);
            p.world.link("lan").setDuplicate(0.01);
        }
        long start = System.nanoTime();
        String[] d = streamOn(p, fds, (long) mib << 20, seed);
        long ms = (System.nanoTime() - start) / 1_000_000;
        System.out.printf("bulk %d MiB loss %.2f: %d ms wall, %d ms virtual, retransmitted %d bytes%n", mib, loss, ms,
                (p.world.now() - io.jrump.host.sim.SimWorld.START_NANOS) / 1_000_000,
                p.a.stats().get("tcp.out.retransmitted_bytes"));
        assertEquals(d[0], d[1], "byte-exact");
        if (loss > 0) {
            assertTrue(p.a.stats().get("tcp.out.retransmitted") > 0);
        }
    }

    @Test
    void theSameSeedGivesTheSameTraceOverALossyLink() throws Exception {
        String[] traces = new String[3];
        long[] seeds = {44, 44, 45};
        for (int i = 0; i < 3; i++) {
            StackSimTest.Pair p = new StackSimTest.Pair(seeds[i], 1500);
            int[] fds = connect(p, 80);
            p.world.link("lan").setLoss(0.05);
            p.world.link("lan").setReorder(0.02);
            p.world.link("lan").setDuplicate(0.01);
            String[] d = streamOn(p, fds, 4 << 20, 7);
            assertEquals(d[0], d[1]);
            traces[i] = p.world.traceHex();
        }
        assertEquals(traces[0], traces[1], "same seed, same trace");
        assertNotEquals(traces[0], traces[2]);
    }
}
