package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The JVM options of the background serving process. */
class MountCommandTest {
    @Test
    void theServerRunsC1OnlyWithTheSerialCollectorUnlessToldOtherwise() {
        assertEquals(List.of("-Xmx1g", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"),
                MountCommand.serverJvmOptions(List.of("-Xmx1g")));
        assertEquals(List.of("-XX:-TieredCompilation", "-XX:+UseG1GC"),
                MountCommand.serverJvmOptions(List.of("-XX:-TieredCompilation", "-XX:+UseG1GC")),
                "the caller's own choices are kept and not doubled");
        assertEquals(List.of("-XX:TieredStopAtLevel=4", "-XX:+UseSerialGC"),
                MountCommand.serverJvmOptions(List.of("-XX:TieredStopAtLevel=4")));
    }
}
