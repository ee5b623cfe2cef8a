package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The JVM options of the background serving process. */
class MountCommandTest {
    @Test
    void theServerRunsC1OnlyEarlyWithTheSerialCollectorUnlessToldOtherwise() {
        assertEquals(List.of("-Xmx1g", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:CompileThresholdScaling=0.05"),
                MountCommand.serverJvmOptions(List.of("-Xmx1g")));
        assertEquals(List.of("-XX:-TieredCompilation", "-XX:+UseG1GC", "-XX:CompileThresholdScaling=1"),
                MountCommand.serverJvmOptions(List.of("-XX:-TieredCompilation", "-XX:+UseG1GC",
                        "-XX:CompileThresholdScaling=1")),
                "the caller's own choices are kept and not doubled");
        assertEquals(List.of("-XX:TieredStopAtLevel=4", "-XX:+UseSerialGC", "-XX:CompileThresholdScaling=0.05"),
                MountCommand.serverJvmOptions(List.of("-XX:TieredStopAtLevel=4")));
    }
}
