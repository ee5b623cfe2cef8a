package io.jrump.host.kit;

import io.jrump.hypercall.HostConsole;
import java.io.PrintStream;
import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.helpers.NOPLoggerFactory;

/**
 * A JVM host's kernel console: the SLF4J logger {@value HostConsole#LOGGER_NAME}, each line
 * prefixed with the host's name. Without an SLF4J provider on the class path SLF4J drops every
 * line (after its own "No SLF4J providers were found" warning); then this writes the WARNING and
 * ERROR lines to stderr itself, after one line saying why, so that a kernel's warnings (data it
 * could not write back, a volume that was not cleanly unmounted) are never lost silently. INFO
 * and below need a provider. Thread-safe.
 */
public final class ConsoleLogger {
    /** Said once per JVM, before the first line written without a provider. */
    static final String NO_PROVIDER = "jrump: no SLF4J provider on the class path: kernel console lines at WARNING "
            + "and ERROR go to stderr; add one (slf4j-simple, logback, ...) to see and configure them (logger "
            + HostConsole.LOGGER_NAME + ")";
    private static final AtomicBoolean EXPLAINED = new AtomicBoolean();

    private final String host;
    private final Logger logger;
    private final boolean noProvider;
    private final Supplier<PrintStream> stderr;

    /** The console of host {@code host}. */
    public ConsoleLogger(String host) {
        this(host, LoggerFactory.getLogger(HostConsole.LOGGER_NAME), LoggerFactory.getILoggerFactory() instanceof NOPLoggerFactory,
                () -> System.err);
    }

    ConsoleLogger(String host, Logger logger, boolean noProvider, Supplier<PrintStream> stderr) {
        this.host = host;
        this.logger = logger;
        this.noProvider = noProvider;
        this.stderr = stderr;
    }

    /** One kernel message at {@code level}. */
    public void log(Level level, String message) {
        if (noProvider) {
            if (level == Level.ERROR || level == Level.WARNING) {
                fallback(level, message, null);
            }
            return;
        }
        switch (level) {
            case ERROR -> logger.error("[{}] {}", host, message);
            case WARNING -> logger.warn("[{}] {}", host, message);
            case INFO -> logger.info("[{}] {}", host, message);
            case DEBUG -> logger.debug("[{}] {}", host, message);
            default -> logger.trace("[{}] {}", host, message);
        }
    }

    /** An error with its exception (a kernel task that threw). */
    public void error(String message, Throwable failure) {
        if (noProvider) {
            fallback(Level.ERROR, message, failure);
        } else {
            logger.error("[{}] {}", host, message, failure);
        }
    }

    private void fallback(Level level, String message, Throwable failure) {
        PrintStream err = stderr.get();
        synchronized (err) {
            if (EXPLAINED.compareAndSet(false, true)) {
                err.println(NO_PROVIDER);
            }
            err.println((level == Level.ERROR ? "ERROR" : "WARN") + " [" + host + "] " + message);
            if (failure != null) {
                failure.printStackTrace(err);
            }
        }
    }
}
