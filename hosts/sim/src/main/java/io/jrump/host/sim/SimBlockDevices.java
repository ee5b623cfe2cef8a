package io.jrump.host.sim;

import io.jrump.hypercall.BlockDevices;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;

/**
 * A host's block-device group: names are the world's disks, plain strings ({@code EINVAL} if
 * empty). {@code create} makes a new world disk, which other hosts may then open. Confined to the
 * world's thread.
 */
final class SimBlockDevices implements BlockDevices {
    private final SimWorld world;
    private final SimHost host;

    SimBlockDevices(SimWorld world, SimHost host) {
        this.world = world;
        this.host = host;
    }

    @Override
    public HostBlockDevice open(String name, OpenMode mode) throws ErrnoException {
        world.checkThread();
        host.checkOpenForDevices("disk " + name);
        SimDisk disk = world.existingDisk(name);
        return host.track(disk.open(host, mode == OpenMode.READ_ONLY));
    }

    @Override
    public HostBlockDevice create(String name, long size) throws ErrnoException {
        world.checkThread();
        host.checkOpenForDevices("disk " + name);
        SimDisk disk = world.newDisk(name, size);
        return host.track(disk.open(host, false));
    }
}
