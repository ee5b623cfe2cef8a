package io.jrump.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.image.VhdImage;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/**
 * Arbitrary bytes as a VHD: see {@link ImageFuzz}. Seeds: {@code qemu-img create -f vpc} dynamic
 * (64 KiB) and fixed (64 KiB, with {@code qemu-io} writes), a dynamic disk rewritten to 4 KiB
 * blocks with one allocated, and the same made a differencing disk naming a missing parent.
 */
class VhdFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void openReadAndWriteAreTotal(byte[] input) throws Exception {
        ImageFuzz.exercise(input, (file, readOnly, host) -> VhdImage.open(file, readOnly, host.clock(),
                (name, format, depth) -> {
                    throw new ErrnoException(Errno.ENOENT, name); // no parent beside a fuzz input
                }, 0));
    }
}
