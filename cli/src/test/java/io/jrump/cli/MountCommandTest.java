package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The JVM options of the background serving process. */
class MountCommandTest {
    @Test
    void theServerRunsC1OnlyEarlyWithTheSerialCollectorUnlessToldOtherwise() {
        String console = "-Dorg.slf4j.simpleLogger.log.io.jrump.console=";
        assertEquals(List.of("-Xmx1g", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:CompileThresholdScaling=0.05",
                console + "info"), MountCommand.serverJvmOptions(List.of("-Xmx1g")), "the log gets the kernel's INFO lines");
        assertEquals(List.of("-XX:-TieredCompilation", "-XX:+UseG1GC", "-XX:CompileThresholdScaling=1", console + "warn"),
                MountCommand.serverJvmOptions(List.of("-XX:-TieredCompilation", "-XX:+UseG1GC",
                        "-XX:CompileThresholdScaling=1", console + "warn")),
                "the caller's own choices are kept and not doubled");
        assertEquals(List.of("-XX:TieredStopAtLevel=4", "-XX:+UseSerialGC", "-XX:CompileThresholdScaling=0.05", console + "info"),
                MountCommand.serverJvmOptions(List.of("-XX:TieredStopAtLevel=4")));
    }
}
