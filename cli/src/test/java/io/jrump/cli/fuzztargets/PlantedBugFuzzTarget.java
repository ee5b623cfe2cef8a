package io.jrump.cli.fuzztargets;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Two Jazzer harnesses for FuzzCommandTest, so that `rump fuzz` is tested on targets of its own:
 * one with a bug planted on purpose (it fails on inputs starting with "BUG", which libFuzzer finds
 * in well under a second from the seed "BU"), one that no input fails. In a package of their own
 * so that the command's class path scan finds exactly these two.
 */
class PlantedBugFuzzTarget {
    @FuzzTest
    void failsOnBug(byte[] input) {
        if (input.length >= 3 && input[0] == 'B' && input[1] == 'U' && input[2] == 'G') {
            throw new IllegalStateException("planted bug: input starts with BUG");
        }
    }

    @FuzzTest
    void neverFails(byte[] input) {
        int sum = 0;
        for (byte b : input) {
            sum += b & 0xff;
        }
        if (sum < 0) {
            throw new AssertionError("a sum of bytes is never negative");
        }
    }
}
