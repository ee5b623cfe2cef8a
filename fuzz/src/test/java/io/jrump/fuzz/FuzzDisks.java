package io.jrump.fuzz;

import io.jrump.blk.HostDisk;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;

/** A fuzz input as the contents of a disk on a fresh sim host: the input's first bytes, zeros after. */
final class FuzzDisks {
    private FuzzDisks() {
    }

    record Disk(SimHost host, HostDisk disk) {
    }

    static Disk of(byte[] input, int size) throws ErrnoException {
        SimWorld world = new SimWorld(1);
        SimHost host = world.newHost("fuzz");
        HostDisk disk = HostDisk.create(host, "d", size);
        byte[] image = new byte[size];
        System.arraycopy(input, 0, image, 0, Math.min(input.length, size));
        disk.write(0, ByteBuffer.wrap(image));
        return new Disk(host, disk);
    }
}
