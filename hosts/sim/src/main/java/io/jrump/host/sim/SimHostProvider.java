package io.jrump.host.sim;

import io.jrump.hypercall.HostProvider;
import java.util.List;

/** Lists the simulation host for {@code rump hosts}. Runs anywhere. Thread-safe. */
public final class SimHostProvider implements HostProvider {
    @Override
    public String name() {
        return "sim";
    }

    @Override
    public String description() {
        return "deterministic simulation: virtual time, one seeded thread, fault-injecting disks and links";
    }

    @Override
    public List<String> deviceNames() {
        return List.of(
                "block NAME  a disk of the simulated world, made by create(name, size) or SimWorld.createDisk",
                "nic   NAME  a port on the simulated link NAME: a learning switch with injectable faults");
    }
}
