package io.jrump.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * The ext4 model test driven by Jazzer: the fuzzer chooses the syscalls, their arguments and
 * the block size; any disagreement with the model, after the operations or after the power cut
 * that ends each input, is a finding; so is an image after the cut that e2fsck, the outside
 * oracle, does not find clean.
 */
class ExtModelFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void syscallSequences(FuzzedDataProvider data) throws Exception {
        ExtModel.Choices choices = new ExtModel.Choices() {
            @Override
            public int pick(int bound) {
                return data.consumeInt(0, bound - 1);
            }

            @Override
            public byte[] bytes(int max) {
                return data.consumeBytes(data.consumeInt(0, max));
            }
        };
        ExtModel m = new ExtModel(data.consumeLong(), choices);
        m.run(data.consumeInt(1, 80));
        ExtModel.assertE2fsckClean(m.powerCutAndCheck(), "fuzz input");
    }
}
