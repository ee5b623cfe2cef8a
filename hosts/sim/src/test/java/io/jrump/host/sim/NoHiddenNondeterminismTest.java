package io.jrump.host.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The simulation's main code reads no real clock and no unseeded randomness: one such call and
 * runs stop replaying. A plain source scan, since this module has no forbiddenapis rule yet.
 */
class NoHiddenNondeterminismTest {
    private static final List<String> FORBIDDEN = List.of("System.nanoTime", "System.currentTimeMillis",
            "Instant.now", "new Random(", "ThreadLocalRandom", "SecureRandom", "Math.random", "new Thread(",
            "identityHashCode");

    @Test
    void mainSourcesUseNoRealTimeOrUnseededRandomness() throws IOException {
        Path main = Path.of("src/main/java");
        assertTrue(Files.isDirectory(main), "run from the module directory");
        try (Stream<Path> files = Files.walk(main)) {
            List<String> hits = files.filter(p -> p.toString().endsWith(".java"))
                    .flatMap(p -> FORBIDDEN.stream().filter(f -> read(p).contains(f)).map(f -> p + ": " + f))
                    .toList();
            assertEquals(List.of(), hits);
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
