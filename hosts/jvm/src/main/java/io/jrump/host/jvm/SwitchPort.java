package io.jrump.host.jvm;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.host.kit.FrameChecks;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A NIC on an {@link EthernetSwitch}: one kernel's port. Frames for it wait on its kernel's event
 * loop; at most {@link #QUEUE_LIMIT} may wait, beyond which the switch drops them as a full NIC
 * ring would, so a fast sender cannot exhaust the receiver's memory.
 *
 * <p>Thread-safe. Delivery and {@link #close()} share the port's lock, so once close returns no
 * frame reaches the receiver.
 */
final class SwitchPort implements HostNic {
    static final int QUEUE_LIMIT = 4096;

    private final EthernetSwitch sw;
    private final String owner;
    private final MacAddress mac;
    private final int mtu;
    private final FrameReceiver receiver;
    private final EventLoop loop;
    private final Consumer<SwitchPort> onClose;
    private final AtomicInteger queued = new AtomicInteger();
    private volatile boolean closed;

    SwitchPort(EthernetSwitch sw, String owner, MacAddress mac, int mtu, FrameReceiver receiver, EventLoop loop,
            Consumer<SwitchPort> onClose) {
        this.sw = sw;
        this.owner = owner;
        this.mac = mac;
        this.mtu = mtu;
        this.receiver = receiver;
        this.loop = loop;
        this.onClose = onClose;
    }

    @Override
    public String name() {
        return sw.name();
    }

    @Override
    public MacAddress mac() {
        return mac;
    }

    @Override
    public int mtu() {
        return mtu;
    }

    /** The host that opened the port, for messages. */
    String owner() {
        return owner;
    }

    @Override
    public void send(ByteBuffer frame) throws ErrnoException {
        FrameChecks.checkSend(this, closed, frame);
        sw.send(this, frame);
    }

    /** Queues a frame for the receiver; false if the queue is full or the port is gone. */
    boolean deliver(byte[] frame) {
        if (closed || queued.incrementAndGet() > QUEUE_LIMIT) {
            queued.decrementAndGet();
            return false;
        }
        boolean accepted = loop.offer(() -> {
            queued.decrementAndGet();
            synchronized (this) {
                if (!closed) {
                    receiver.frameReceived(ByteBuffer.wrap(frame).asReadOnlyBuffer());
                }
            }
        });
        if (!accepted) {
            queued.decrementAndGet();
        }
        return accepted;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        sw.detach(this);
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "SwitchPort[" + sw.name() + " " + mac + " of " + owner + "]";
    }
}
