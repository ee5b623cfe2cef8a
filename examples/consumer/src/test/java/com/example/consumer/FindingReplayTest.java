package com.example.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Replays a finding as docs/fuzzing.md says: the crash file's bytes are the harness's input, so
 * calling the harness method with them is what Jazzer's regression mode does with a seed. The
 * file hits the bug planted in {@link Patches}; it is kept outside the seed directory because a
 * failing seed would fail {@code mvn test} (which is the point of a seed: once the bug is fixed,
 * the file moves into ExtImageFuzzTestInputs/mountAndRead/ and guards against its return).
 */
class FindingReplayTest {
    @Test
    void theCrashFileFailsTheHarnessTheSameWayEveryTime() throws Exception {
        byte[] crash = Files.readAllBytes(Path.of("src/test/findings/crash-truncated-patch"));
        String first = assertThrows(ArrayIndexOutOfBoundsException.class,
                () -> new ExtImageFuzzTest().mountAndRead(crash)).getMessage();
        String again = assertThrows(ArrayIndexOutOfBoundsException.class,
                () -> new ExtImageFuzzTest().mountAndRead(crash)).getMessage();
        assertEquals(first, again, "a replay is exact");
    }
}
