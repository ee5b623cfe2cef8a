package io.jrump.hypercall;

import java.util.Optional;

/**
 * Describes a host implementation to tools such as {@code rump hosts}. Hosts register one through
 * {@link java.util.ServiceLoader} ({@code META-INF/services/io.jrump.hypercall.HostProvider}).
 * Creating host instances stays with each host's own API, since each needs different settings.
 */
public interface HostProvider {
    /** Short name, as used on the command line: {@code jvm}, {@code sim}, {@code linux}. */
    String name();

    /** One line saying what the host is for. */
    String description();

    /** The hypercall version it implements; by default the one this code defines. */
    default int hypercallVersion() {
        return Hypercalls.VERSION;
    }

    /**
     * Why this host cannot run here (a missing native library, not Linux, no permission), or empty
     * if it can. Probing never throws. By default the host runs anywhere.
     */
    default Optional<String> unavailableReason() {
        return Optional.empty();
    }

    /**
     * A new instance of this host with its default settings, for code that finds hosts through
     * {@link java.util.ServiceLoader} rather than naming one (a {@code java.nio.file} provider, say);
     * empty if the host needs settings only its own API can give. The caller closes it.
     */
    default Optional<Hypercalls> createDefault(String instanceName) {
        return Optional.empty();
    }

    /** The kinds of device names the host opens, one line each, for help output. */
    java.util.List<String> deviceNames();
}
