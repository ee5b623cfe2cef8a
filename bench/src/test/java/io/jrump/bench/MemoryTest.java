package io.jrump.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/** The peak is one moment's heap total: at least what was held at once, never more than the heap. */
class MemoryTest {
    @Test
    void thePeakCoversWhatWasHeldAtOnceAndStaysWithinTheHeap() {
        Memory.watch();
        byte[][] held = new byte[64][];
        for (int i = 0; i < held.length; i++) {
            held[i] = new byte[1 << 20]; // 64 MiB at once
        }
        System.gc();
        double peak = Memory.peakHeapMib();
        long max = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getMax();
        assertTrue(peak >= 64, peak + " MiB");
        assertTrue(max < 0 || peak <= max / 1048576.0, peak + " MiB in a heap of " + max / 1048576 + " MiB");
        assertTrue(held[63].length > 0);
    }
}
