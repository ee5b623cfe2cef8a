package io.jrump.hypercall;

import java.nio.ByteBuffer;
import java.util.Set;

/**
 * A NIC that passes every call to another: the base for one that changes a few (its name, what
 * closing it does) and keeps the rest. Every method forwards, the offload and lending sends too,
 * so a wrapper cannot lose them by leaving them to the interface's defaults. Thread-safe as the
 * NIC it wraps.
 */
public abstract class ForwardingHostNic implements HostNic {
    /** The NIC the calls go to. */
    protected final HostNic nic;

    protected ForwardingHostNic(HostNic nic) {
        this.nic = nic;
    }

    @Override
    public String name() {
        return nic.name();
    }

    @Override
    public MacAddress mac() {
        return nic.mac();
    }

    @Override
    public int mtu() {
        return nic.mtu();
    }

    @Override
    public int maxFrameLength() {
        return nic.maxFrameLength();
    }

    @Override
    public Set<NicOffload> offloads() {
        return nic.offloads();
    }

    @Override
    public void send(ByteBuffer frame) throws ErrnoException {
        nic.send(frame);
    }

    @Override
    public void send(ByteBuffer frame, FrameOffload offload) throws ErrnoException {
        nic.send(frame, offload);
    }

    @Override
    public void sendLent(ByteBuffer frame, FrameOffload offload, Runnable release) throws ErrnoException {
        nic.sendLent(frame, offload, release);
    }

    @Override
    public void close() {
        nic.close();
    }
}
