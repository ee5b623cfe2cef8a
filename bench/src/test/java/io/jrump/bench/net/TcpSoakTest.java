package io.jrump.bench.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The TCP soak ({@link TcpSoak}) at a size that fits the build: 64 connections between two kernels
 * on the JVM host, data both ways, 64 MiB in all, random application behaviour on 256 threads,
 * SHA-256 compared per direction, a watchdog that dumps the connections, counters and the last
 * frames on a stall. The long version (1 GiB) is in docs/performance.md.
 */
class TcpSoakTest {
    @Test
    void sixtyFourConnectionsBothWaysArriveByteExactWithoutAStall() throws Exception {
        TcpSoak.Result r = new TcpSoak(64, 64L << 20, 12, Path.of("target")).run();
        System.out.println(r);
        assertEquals(64L << 20, r.bytes());
    }
}
