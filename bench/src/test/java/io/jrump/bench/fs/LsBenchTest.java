package io.jrump.bench.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ls benchmark ({@link LsBench}) at a size that fits the build: 2,000 files in an indexed
 * directory, listed by both sides. Fails, not skips, without e2fsprogs. The 100,000-entry run is
 * in docs/performance.md.
 */
class LsBenchTest {
    @TempDir
    Path dir;

    @Test
    void bothSidesListEveryEntry() throws Exception {
        Path img = dir.resolve("ls.img");
        LsBench.make(img, 2000);
        LsBench.Round r = LsBench.round(img);
        System.out.println(r);
        assertEquals(2001, r.oursLines(), "'/d:' and one line per file");
        assertTrue(r.debugfsLines() >= 2000, r.toString());
    }
}
