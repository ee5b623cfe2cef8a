package io.jrump.host.sim;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.host.kit.FrameChecks;
import java.nio.ByteBuffer;

/**
 * A host's port on a {@link SimLink}. {@code send} copies the frame and hands it to the link;
 * frames arrive on the host's event loop as read-only buffers. Confined to the world's thread.
 */
final class SimNic implements HostNic {
    private final SimWorld world;
    private final SimLink link;
    private final SimHost host;
    private final MacAddress mac;
    private final int mtu;
    private final FrameReceiver receiver;
    private boolean closed;
    /** Frames on their way to this port, bounded by {@link SimLink#MAX_QUEUED_FRAMES}. */
    int queued;
    /** When the link finishes serializing the frames queued for this port, at a rate limit. */
    long busyUntil;

    SimNic(SimWorld world, SimLink link, SimHost host, MacAddress mac, int mtu, FrameReceiver receiver) {
        this.world = world;
        this.link = link;
        this.host = host;
        this.mac = mac;
        this.mtu = mtu;
        this.receiver = receiver;
    }

    @Override
    public String name() {
        return link.name();
    }

    @Override
    public MacAddress mac() {
        return mac;
    }

    @Override
    public int mtu() {
        return mtu;
    }

    @Override
    public void send(ByteBuffer frame) throws ErrnoException {
        world.checkThread();
        FrameChecks.checkSend(this, closed, frame);
        int length = frame.remaining();
        byte[] copy = new byte[length];
        frame.get(frame.position(), copy);
        link.transmit(this, copy);
    }

    @Override
    public void close() {
        world.checkThread();
        if (!closed) {
            closed = true;
            link.detach(this);
            host.untrack(this);
        }
    }

    SimHost host() {
        return host;
    }

    boolean isClosed() {
        return closed;
    }

    /** Hands a frame to the receiver on the host's loop; the byte array may be shared. */
    void deliver(byte[] frame) {
        world.callOnHost(host, () -> receiver.frameReceived(ByteBuffer.wrap(frame).asReadOnlyBuffer()));
    }
}
