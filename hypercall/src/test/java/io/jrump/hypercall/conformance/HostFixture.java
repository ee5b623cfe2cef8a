package io.jrump.hypercall.conformance;

import io.jrump.hypercall.Hypercalls;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * What a host gives the conformance kit: hosts that share one outside world, fresh device names,
 * and a way to let time pass until something has happened.
 */
public interface HostFixture extends AutoCloseable {

    /** A new host instance. Hosts from one fixture share their Ethernet segments. */
    Hypercalls newHost(String name) throws Exception;

    /** A block-device name no device has yet, for {@code create}. */
    String newDeviceName(String hint) throws Exception;

    /** A segment name on which NICs opened by this fixture's hosts can reach each other. */
    String linkName();

    /**
     * Lets the hosts run until {@code condition} holds: waits on a real host, runs the simulation
     * on a simulated one. Throws {@link AssertionError} if it does not hold within {@code limit}
     * (of real or virtual time).
     */
    void runUntil(BooleanSupplier condition, Duration limit);

    /**
     * Returns once every frame sent so far has been handed to its receiver (or dropped), so that a
     * test can then assert that something did <em>not</em> arrive without sleeping and hoping.
     */
    void settle();

    @Override
    void close() throws java.io.IOException;
}
