package com.example.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Replays a finding as docs/fuzzing.md says: the crash file's bytes are the harness's input, so
 * calling the harness method with them is what Jazzer's regression mode does with a seed. The
 * file hits the bug planted in {@link Patches} — it is the one Jazzer wrote when
 * {@code JAZZER_FUZZ=1 mvn test -Dtest=ExtImageFuzzTest} found that bug in its first run
 * (bytes 04 38 e5 00 00: a record claiming 0xe5 bytes of which two follow). It is kept outside
 * the seed directory because a
 * failing seed would fail {@code mvn test} (which is the point of a seed: once the bug is fixed,
 * the file moves into ExtImageFuzzTestInputs/mountAndRead/ and guards against its return).
 */
class FindingReplayTest {
    @Test
    void theCrashFileFailsTheHarnessTheSameWayEveryTime() throws Exception {
        byte[] crash = Files.readAllBytes(Path.of("src/test/findings/crash-877e7d8fe186cd2de6d68e36039d3b3b5e587241"));
        String first = assertThrows(ArrayIndexOutOfBoundsException.class,
                () -> new ExtImageFuzzTest().mountAndRead(crash)).getMessage();
        String again = assertThrows(ArrayIndexOutOfBoundsException.class,
                () -> new ExtImageFuzzTest().mountAndRead(crash)).getMessage();
        assertEquals(first, again, "a replay is exact");
    }
}
