package io.jrump.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * The TCP model ({@link TcpModel}) driven by Jazzer: the fuzzer chooses the link's faults, the
 * buffer sizes and every application step; a broken delivery, liveness, storm or closing
 * invariant is a finding. Once the input is used up every choice is 0, which lets the
 * applications run to their end.
 */
class TcpModelFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void applicationsChosenByTheFuzzer(FuzzedDataProvider data) throws Exception {
        long seed = data.consumeLong();
        try (TcpModel model = new TcpModel(seed, bound -> data.remainingBytes() > 0 ? data.consumeInt(0, bound - 1) : 0)) {
            model.run();
        }
    }
}
