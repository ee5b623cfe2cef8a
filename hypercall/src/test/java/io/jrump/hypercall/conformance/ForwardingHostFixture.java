package io.jrump.hypercall.conformance;

import io.jrump.hypercall.Hypercalls;
import java.io.IOException;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * A fixture that passes every call to another (usually a {@link RealTimeFixture}): the base for
 * one that adds to a few, such as settling across another process or closing back-ends it started.
 */
public abstract class ForwardingHostFixture implements HostFixture {
    /** The fixture the calls go to. */
    protected final HostFixture fixture;

    protected ForwardingHostFixture(HostFixture fixture) {
        this.fixture = fixture;
    }

    @Override
    public Hypercalls newHost(String name) throws Exception {
        return fixture.newHost(name);
    }

    @Override
    public String newDeviceName(String hint) throws Exception {
        return fixture.newDeviceName(hint);
    }

    @Override
    public String linkName() {
        return fixture.linkName();
    }

    @Override
    public void runUntil(BooleanSupplier condition, Duration limit) {
        fixture.runUntil(condition, limit);
    }

    @Override
    public void settle() {
        fixture.settle();
    }

    @Override
    public void close() throws IOException {
        fixture.close();
    }
}
