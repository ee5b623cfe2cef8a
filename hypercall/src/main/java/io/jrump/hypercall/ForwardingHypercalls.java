package io.jrump.hypercall;

import java.util.Optional;

/**
 * A host that passes every call to another: the base for one that changes a few groups (adds
 * devices, tracks them, fakes a NIC's offloads) and keeps the rest. Thread-safe as the host it
 * wraps.
 */
public abstract class ForwardingHypercalls implements Hypercalls {
    /** The host the calls go to. */
    protected final Hypercalls host;

    protected ForwardingHypercalls(Hypercalls host) {
        this.host = host;
    }

    /**
     * {@code host} lent to someone who closes what it is given (a kernel closes its host at
     * shutdown): closing the view leaves {@code host} open for its owner.
     */
    public static Hypercalls lent(Hypercalls host) {
        return new ForwardingHypercalls(host) {
            @Override
            public void close() {
            }
        };
    }

    @Override
    public int version() {
        return host.version();
    }

    @Override
    public String name() {
        return host.name();
    }

    @Override
    public HostParams params() {
        return host.params();
    }

    @Override
    public HostClock clock() {
        return host.clock();
    }

    @Override
    public HostScheduler scheduler() {
        return host.scheduler();
    }

    @Override
    public HostRandom random() {
        return host.random();
    }

    @Override
    public HostConsole console() {
        return host.console();
    }

    @Override
    public BlockDevices blockDevices() {
        return host.blockDevices();
    }

    @Override
    public NetworkInterfaces networkInterfaces() {
        return host.networkInterfaces();
    }

    @Override
    public <T> Optional<T> optional(Class<T> group) {
        return host.optional(group);
    }

    @Override
    public Optional<FuseChannels> fuse() {
        return host.fuse();
    }

    @Override
    public void close() {
        host.close();
    }
}
