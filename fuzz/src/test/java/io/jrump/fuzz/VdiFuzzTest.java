package io.jrump.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.image.VdiImage;

/**
 * Arbitrary bytes as a VDI: see {@link ImageFuzz}. Seeds: {@code qemu-img create -f vdi 4K}, and
 * the same rewritten to 512-byte blocks with a data block, a zero block and unallocated ones.
 */
class VdiFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void openReadAndWriteAreTotal(byte[] input) throws Exception {
        ImageFuzz.exercise(input, (file, readOnly, host) -> VdiImage.open(file, readOnly, host.clock()));
    }
}
