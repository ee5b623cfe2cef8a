package io.jrump.host.sim;

import io.jrump.hypercall.HostClock;

/** The world's virtual clock as a host sees it. Confined to the world's thread. */
final class SimClock implements HostClock {
    private final SimWorld world;

    SimClock(SimWorld world) {
        this.world = world;
    }

    @Override
    public long monotonicNanos() {
        return world.now();
    }

    @Override
    public long wallNanos() {
        return SimWorld.WALL_ORIGIN_NANOS + world.now();
    }
}
