package io.jrump.fuzz;

import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The TCP model ({@link TcpModel}) from fixed seeds, in every build: random applications on both
 * ends of one to three connections, over a link with loss, reordering, duplication, delay and
 * partitions; delivery, liveness, storm and closing invariants after every step. A failure names
 * its seed and the command that replays it: {@code -Djrump.tcp.seed=N} runs that seed alone
 * (the sim host is deterministic, so it fails the same way); {@code -Djrump.tcp.seeds=N} runs
 * seeds 1 to N.
 */
class TcpModelTest {
    static final int SEEDS = 300;

    static LongStream seeds() {
        String one = System.getProperty("jrump.tcp.seed");
        int count = Integer.getInteger("jrump.tcp.seeds", SEEDS);
        return one != null ? LongStream.of(Long.parseLong(one)) : LongStream.range(1, count + 1);
    }

    @ParameterizedTest(name = "seed {0}")
    @MethodSource("seeds")
    void applicationsAtRandomOverABadLinkDeliverEveryByteOnceAndFinish(long seed) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        try (TcpModel model = new TcpModel(seed, r::nextInt)) {
            model.run();
        }
    }
}
