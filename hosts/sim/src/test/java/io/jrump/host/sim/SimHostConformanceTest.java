package io.jrump.host.sim;

import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.conformance.HostConformanceSuite;
import io.jrump.hypercall.conformance.HostFixture;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;

/** The simulation host against the conformance kit: every host of a test in one world. */
class SimHostConformanceTest extends HostConformanceSuite {

    @Override
    protected HostFixture newFixture() {
        return new SimFixture(new SimWorld(20260101L));
    }

    /** Lets virtual time pass instead of real time. */
    static final class SimFixture implements HostFixture {
        private final SimWorld world;
        private int devices;

        SimFixture(SimWorld world) {
            this.world = world;
        }

        @Override
        public Hypercalls newHost(String name) {
            return world.newHost(name);
        }

        @Override
        public String newDeviceName(String hint) {
            return hint + "-" + ++devices;
        }

        @Override
        public String linkName() {
            return "lan";
        }

        @Override
        public void runUntil(BooleanSupplier condition, Duration limit) {
            if (!world.runUntil(condition, limit)) {
                List<String> tail = world.traceTail();
                throw new AssertionError("condition not reached within " + limit + " of virtual time; last events: "
                        + tail.subList(Math.max(0, tail.size() - 10), tail.size()));
            }
        }

        @Override
        public void settle() {
            world.runUntilIdle(Duration.ofSeconds(10)); // virtual: every frame in flight lands or is dropped
        }

        @Override
        public void close() {
        }
    }
}
