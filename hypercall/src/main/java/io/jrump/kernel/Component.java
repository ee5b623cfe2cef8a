package io.jrump.kernel;

import io.jrump.hypercall.ErrnoException;
import java.util.Set;

/**
 * A kernel component (a driver, a filesystem, a protocol family), found by {@link RumpKernel#boot}
 * through {@link java.util.ServiceLoader} ({@code META-INF/services/io.jrump.kernel.Component}).
 *
 * <p>Each boot creates fresh instances, so kernels in one JVM share nothing. A kernel starts its
 * components in dependency order, on the thread that called {@code boot}, and stops them in reverse
 * order on the thread that calls {@link RumpKernel#close()}.
 */
public interface Component {

    /** Unique short name, such as {@code "blk"}, {@code "net"}. */
    String name();

    /** Names of the components that must be started before this one. */
    default Set<String> dependencies() {
        return Set.of();
    }

    /**
     * Starts the component. Resources opened through {@code kernel.host()} are released by the
     * kernel on shutdown even if {@link #stop()} forgets them.
     *
     * @throws ErrnoException if it cannot start; the boot then fails and components already
     *     started are stopped
     */
    void start(RumpKernel kernel) throws ErrnoException;

    /** Stops the component. Must not throw; called once, only after a successful {@link #start}. */
    void stop();
}
