package io.jrump.host.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.slf4j.helpers.NOPLogger;

class ConsoleLoggerTest {
    @Test
    void withoutAnSlf4jProviderWarningsAndErrorsReachStderrAfterOneLineSayingWhy() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        ConsoleLogger c = new ConsoleLogger("demo", NOPLogger.NOP_LOGGER, true, () -> err);
        c.log(Level.INFO, "booting");
        c.log(Level.DEBUG, "detail");
        c.log(Level.WARNING, "d0: vfat: volume was not properly unmounted");
        c.error("kernel task failed", new IllegalStateException("boom"));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(!text.contains("booting") && !text.contains("detail"), "INFO and below need a provider:\n" + text);
        assertTrue(text.contains("WARN [demo] d0: vfat: volume was not properly unmounted\n"), text);
        assertTrue(text.contains("ERROR [demo] kernel task failed\njava.lang.IllegalStateException: boom"), text);
        // The explanation comes once per JVM (another test may have had it said already).
        assertTrue(text.indexOf(ConsoleLogger.NO_PROVIDER) == text.lastIndexOf(ConsoleLogger.NO_PROVIDER), text);
    }

    @Test
    void withAProviderNothingGoesToStderrDirectly() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        ConsoleLogger c = new ConsoleLogger("demo", NOPLogger.NOP_LOGGER, false, () -> err);
        c.log(Level.ERROR, "through SLF4J only");
        assertEquals("", bytes.toString(StandardCharsets.UTF_8));
    }
}
