package io.jrump.host.jvm;

import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.hypercall.NicOffload;
import io.jrump.host.kit.FrameChecks;
import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
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
    private final Set<NicOffload> offloads;
    private final FrameReceiver receiver;
    private final EventLoop loop;
    private final Consumer<SwitchPort> onClose;
    private final AtomicInteger queued = new AtomicInteger();
    private volatile boolean closed;

    SwitchPort(EthernetSwitch sw, String owner, MacAddress mac, int mtu, Set<NicOffload> offloads, FrameReceiver receiver,
            EventLoop loop, Consumer<SwitchPort> onClose) {
        this.sw = sw;
        this.owner = owner;
        this.mac = mac;
        this.mtu = mtu;
        this.offloads = offloads;
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

    /**
     * The offloads a switch port grants of those asked for: checksums both ways, as a veth pair
     * has them by default. Inside one JVM nothing can corrupt a frame between two ports, so a
     * partial checksum is passed on for a receiver that takes one (and completed for one that
     * does not). No segmentation: a frame stays within the MTU.
     */
    static Set<NicOffload> grant(Set<NicOffload> asked) {
        Set<NicOffload> granted = EnumSet.noneOf(NicOffload.class);
        for (NicOffload o : List.of(NicOffload.TX_CHECKSUM, NicOffload.RX_CHECKSUM)) {
            if (asked.contains(o)) {
                granted.add(o);
            }
        }
        return Collections.unmodifiableSet(granted);
    }

    @Override
    public Set<NicOffload> offloads() {
        return offloads;
    }

    @Override
    public void send(ByteBuffer frame) throws ErrnoException {
        FrameChecks.checkSend(this, closed, frame);
        sw.send(this, frame, FrameOffload.NONE);
    }

    @Override
    public void send(ByteBuffer frame, FrameOffload offload) throws ErrnoException {
        FrameChecks.checkSend(this, closed, frame, offload);
        sw.send(this, frame, offload);
    }

    @Override
    public void sendLent(ByteBuffer frame, FrameOffload offload, Runnable release) throws ErrnoException {
        boolean lent = false;
        try {
            FrameChecks.checkSend(this, closed, frame, offload);
            lent = sw.sendLent(this, frame, offload, release);
        } finally {
            if (!lent) {
                release.run();
            }
        }
    }

    /** Whether this port's receiver takes frames whose checksum holds only the pseudo-header sum. */
    boolean takesPartialChecksums() {
        return offloads.contains(NicOffload.RX_CHECKSUM);
    }

    /**
     * Queues a frame for the receiver, with its receive flags; false if the queue is full or the
     * port is gone. A lent frame ({@code release} not null) is released after the receiver had it,
     * or when the loop closes without running it; one not queued (false) is still the caller's.
     */
    boolean deliver(ByteBuffer frame, int rxFlags, Runnable release) {
        if (closed || queued.incrementAndGet() > QUEUE_LIMIT) {
            queued.decrementAndGet();
            return false;
        }
        boolean accepted = loop.offer(new EventLoop.Droppable() {
            @Override
            public void run() {
                queued.decrementAndGet();
                try {
                    synchronized (SwitchPort.this) {
                        if (!closed) {
                            receiver.frameReceived(frame, rxFlags);
                        }
                    }
                } finally {
                    dropped();
                }
            }

            @Override
            public void dropped() {
                if (release != null) {
                    release.run();
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
