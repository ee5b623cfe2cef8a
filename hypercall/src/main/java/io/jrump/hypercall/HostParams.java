package io.jrump.hypercall;

import java.util.Optional;

/**
 * Named host parameters, as rumpuser_getparam(3) has them: strings looked up by name. Thread-safe,
 * non-blocking.
 */
public interface HostParams {
    /** Number of CPUs the kernel may use (a positive decimal integer). Always present. */
    String NCPU = "ncpu";
    /** The host's name, for the kernel's own {@code hostname}. Always present. */
    String HOSTNAME = "hostname";

    /** The parameter's value, or empty if the host does not define it. */
    Optional<String> get(String name);

    /** The {@link #NCPU} parameter as a number, at least 1. */
    default int ncpu() {
        String v = get(NCPU).orElse("1");
        try {
            return Math.max(1, Integer.parseInt(v.trim()));
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    /** The {@link #HOSTNAME} parameter. */
    default String hostname() {
        return get(HOSTNAME).orElse("rump");
    }
}
