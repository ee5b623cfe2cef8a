package io.jrump.host.jvm;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.MacAddress;
import io.jrump.host.kit.LearningTable;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An in-process learning Ethernet switch: the ports of every NIC opened with this switch's name,
 * from any kernel in the JVM. A sent frame is copied once and handed, read-only, to each port it
 * goes to, on that port's kernel event loop.
 *
 * <p>Thread-safe; the switch's lock guards the forwarding table and is never held while a
 * receiver runs.
 */
public final class EthernetSwitch {
    /** Learned addresses per switch; beyond it the switch floods instead of learning. */
    static final int MAX_ADDRESSES = 4096;

    private final String name;
    private final LearningTable<SwitchPort> table = new LearningTable<>(MAX_ADDRESSES);
    private final Map<MacAddress, SwitchPort> portsByMac = new HashMap<>();
    private final AtomicLong forwarded = new AtomicLong();
    private final AtomicLong droppedQueueFull = new AtomicLong();
    private final AtomicLong droppedTooBig = new AtomicLong();

    EthernetSwitch(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** Ports attached now. */
    public synchronized int portCount() {
        return table.portCount();
    }

    /** Frames handed to a port. */
    public long forwardedFrames() {
        return forwarded.get();
    }

    /** Frames dropped because the receiving kernel had {@link SwitchPort#QUEUE_LIMIT} frames waiting. */
    public long droppedQueueFull() {
        return droppedQueueFull.get();
    }

    /** Frames dropped because they exceeded the receiving port's MTU. */
    public long droppedTooBig() {
        return droppedTooBig.get();
    }

    synchronized boolean hasAddress(MacAddress mac) {
        return portsByMac.containsKey(mac);
    }

    synchronized void attach(SwitchPort port) throws ErrnoException {
        SwitchPort holder = portsByMac.get(port.mac());
        if (holder != null) {
            throw new ErrnoException(Errno.EADDRINUSE, "switch " + name + ": MAC " + port.mac()
                    + " is already used by host " + holder.owner());
        }
        portsByMac.put(port.mac(), port);
        table.attach(port);
    }

    synchronized void detach(SwitchPort port) {
        portsByMac.remove(port.mac(), port);
        table.detach(port);
    }

    void send(SwitchPort from, ByteBuffer frame) {
        byte[] copy = new byte[frame.remaining()];
        frame.get(frame.position(), copy);
        List<SwitchPort> out;
        synchronized (this) {
            out = table.forward(ByteBuffer.wrap(copy), from);
        }
        for (SwitchPort p : out) {
            if (copy.length > p.maxFrameLength()) {
                droppedTooBig.incrementAndGet();
            } else if (p.deliver(copy)) {
                forwarded.incrementAndGet();
            } else {
                droppedQueueFull.incrementAndGet();
            }
        }
    }

    @Override
    public String toString() {
        return "EthernetSwitch[" + name + ", " + portCount() + " ports]";
    }
}
