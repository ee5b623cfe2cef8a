package io.jrump.host.sim;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces;
import io.jrump.hypercall.NicOptions;
import java.util.Objects;

/**
 * A host's network-interface group: a name is a world {@link SimLink}, created on first use
 * ({@code ENODEV} if empty). Addresses not asked for come from the host's seeded random.
 * Confined to the world's thread.
 */
final class SimNetworkInterfaces implements NetworkInterfaces {
    private final SimWorld world;
    private final SimHost host;

    SimNetworkInterfaces(SimWorld world, SimHost host) {
        this.world = world;
        this.host = host;
    }

    @Override
    public HostNic open(String name, NicOptions options, FrameReceiver receiver) throws ErrnoException {
        world.checkThread();
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(receiver, "receiver");
        host.checkOpenForDevices("NIC on " + name);
        if (name.isEmpty()) {
            throw new ErrnoException(Errno.ENODEV, "simulated link with an empty name");
        }
        SimLink link = world.link(name);
        MacAddress mac = options.mac();
        if (mac == null) {
            do {
                mac = MacAddress.randomLocal(host.random());
            } while (link.hasMac(mac));
        } else if (mac.isMulticast()) {
            throw new ErrnoException(Errno.EINVAL, "multicast MAC " + mac + " for a NIC on " + link);
        }
        SimNic nic = new SimNic(world, link, host, mac, options.mtuOrDefault(), receiver);
        link.attach(nic);
        return host.track(nic);
    }
}
