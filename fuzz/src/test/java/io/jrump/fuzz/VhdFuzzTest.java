package io.jrump.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Arbitrary bytes as a VHD: see {@link ImageFuzz}. Seeds: {@code qemu-img create -f vpc} dynamic
 * (64 KiB) and fixed (64 KiB, with {@code qemu-io} writes), a dynamic disk rewritten to 4 KiB
 * blocks with one allocated, and the same made a differencing disk naming a missing parent.
 */
class VhdFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void openReadAndWriteAreTotal(byte[] input) throws Exception {
        ImageFuzz.exercise(input);
    }
}
