package io.jrump.host.jvm;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
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

    /**
     * The largest frame lent on rather than copied. Measured (TcpBench bulk): lending MTU-sized
     * frames saves a copy and a task's garbage (+20 %), but lending 64 KiB ones costs more than it
     * saves (-40 %): the sender's pooled buffers then come back from another thread, to a shared
     * arena instead of its thread's cache.
     */
    static final int LEND_MAX = 16 * 1024;

    /**
     * Forwards a frame; with {@code offload} asking for a checksum, a receiver that takes partial
     * checksums gets it as it is (flagged {@code RX_CHECKSUM_PARTIAL}), any other gets it completed.
     */
    void send(SwitchPort from, ByteBuffer frame, FrameOffload offload) {
        sendLent(from, frame, offload, null);
    }

    /**
     * Forwards a frame as {@link #send} does; with {@code release} not null the frame is lent: if
     * it goes to one port as it is and is at most {@link #LEND_MAX} bytes, that port's receiver
     * gets the sender's buffer and the release runs after it (no copy); else it is copied and the
     * caller releases it. Returns whether it was lent on.
     */
    boolean sendLent(SwitchPort from, ByteBuffer frame, FrameOffload offload, Runnable release) {
        List<SwitchPort> out;
        synchronized (this) {
            out = table.forward(frame, from);
        }
        if (release != null && out.size() == 1 && frame.remaining() <= LEND_MAX) {
            SwitchPort p = out.get(0);
            if (!offload.needsChecksum() || p.takesPartialChecksums()) {
                int rxFlags = offload.needsChecksum() ? FrameReceiver.RX_CHECKSUM_PARTIAL : 0;
                if (frame.remaining() > p.maxFrameLength()) {
                    droppedTooBig.incrementAndGet();
                } else if (p.deliver(frame, rxFlags, release)) {
                    forwarded.incrementAndGet();
                    return true;
                } else {
                    droppedQueueFull.incrementAndGet();
                }
                return false;
            }
        }
        if (out.isEmpty()) {
            return false;
        }
        byte[] copy = new byte[frame.remaining()];
        frame.get(frame.position(), copy);
        byte[] completed = null;
        for (SwitchPort p : out) {
            byte[] bytes = copy;
            int rxFlags = 0;
            if (offload.needsChecksum()) {
                if (p.takesPartialChecksums()) {
                    rxFlags = FrameReceiver.RX_CHECKSUM_PARTIAL;
                } else {
                    if (completed == null) {
                        completed = completeChecksum(copy, offload);
                    }
                    bytes = completed;
                }
            }
            if (bytes.length > p.maxFrameLength()) {
                droppedTooBig.incrementAndGet();
            } else if (p.deliver(ByteBuffer.wrap(bytes).asReadOnlyBuffer(), rxFlags, null)) {
                forwarded.incrementAndGet();
            } else {
                droppedQueueFull.incrementAndGet();
            }
        }
        return false;
    }

    /**
     * A copy of the frame with the checksum the sender left partial filled in, as a NIC would:
     * the one's complement sum from {@code checksumStart} to the end, over the pseudo-header sum
     * already in the field (RFC 1071).
     */
    static byte[] completeChecksum(byte[] frame, FrameOffload offload) {
        byte[] out = frame.clone();
        long sum = 0;
        int i = offload.checksumStart();
        for (; i + 1 < out.length; i += 2) {
            sum += (out[i] & 0xff) << 8 | (out[i + 1] & 0xff);
        }
        if (i < out.length) {
            sum += (out[i] & 0xff) << 8;
        }
        while (sum >>> 16 != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        int at = offload.checksumStart() + offload.checksumOffset();
        int value = ~(int) sum & 0xffff;
        out[at] = (byte) (value >>> 8);
        out[at + 1] = (byte) value;
        return out;
    }

    @Override
    public String toString() {
        return "EthernetSwitch[" + name + ", " + portCount() + " ports]";
    }
}
