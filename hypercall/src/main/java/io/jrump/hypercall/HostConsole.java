package io.jrump.hypercall;

/**
 * The kernel console. JVM hosts route it to the SLF4J logger {@code io.jrump.console}; the
 * simulation host also keeps it in its trace. Thread-safe, non-blocking.
 */
public interface HostConsole {
    /** The name of the SLF4J logger the JVM hosts write console messages to. */
    String LOGGER_NAME = "io.jrump.console";

    /** Writes one message, without a trailing newline, at the given level. */
    void log(System.Logger.Level level, String message);
}
