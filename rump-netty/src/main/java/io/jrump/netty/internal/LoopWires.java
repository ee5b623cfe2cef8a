package io.jrump.netty.internal;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoop;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Ethernet segments between kernels that share one Netty event loop: a frame sent on a wire is
 * delivered to every other NIC on it (a hub, so two stacks or a few) on the same loop — after the
 * sender's work, never inside it, and never on another thread. A frame lent
 * ({@link HostNic#sendLent}) to the one other port of a wire, from the loop, is delivered as it is
 * and given back after; any other is copied into a pooled buffer.
 * Frames wait in one queue that a single task drains, so a burst (a window of segments, the ACKs
 * they draw) costs one task, not one per frame. Used on the loop only; {@link #attach} may be
 * called from any thread.
 */
public final class LoopWires {
    private final EventLoop loop;
    private final Map<String, List<Port>> wires = new HashMap<>();

    public LoopWires(EventLoop loop) {
        this.loop = loop;
    }

    synchronized HostNic attach(String name, MacAddress mac, int mtu, FrameReceiver receiver) throws ErrnoException {
        List<Port> ports = wires.computeIfAbsent(name, n -> new ArrayList<>());
        for (Port p : ports) {
            if (p.mac.equals(mac)) {
                throw new ErrnoException(Errno.EADDRINUSE, "MAC " + mac + " is already on " + name);
            }
        }
        Port p = new Port(name, mac, mtu, receiver);
        ports.add(p);
        generation++;
        return p;
    }

    /** The other ports on {@code from}'s wire; a copy made only when a port joins or leaves. */
    private synchronized Port[] peers(Port from) {
        List<Port> all = wires.getOrDefault(from.name, List.of());
        List<Port> out = new ArrayList<>(all.size());
        for (Port p : all) {
            if (p != from) {
                out.add(p);
            }
        }
        return out.toArray(new Port[0]);
    }

    /** Frames waiting for the loop, as (port, frame, release) triples, drained by one task per burst. */
    private final ArrayDeque<Object> pending = new ArrayDeque<>();
    private final Runnable drain = this::drain;
    /** Bumped when a port joins or leaves, so that senders refresh their cached peers. */
    private volatile int generation;

    private void deliverLater(Port to, ByteBuf copy) {
        deliverLater(to, copy.internalNioBuffer(0, copy.readableBytes()), copy::release);
    }

    private void deliverLater(Port to, ByteBuffer frame, Runnable release) {
        boolean first = pending.isEmpty();
        pending.add(to);
        pending.add(frame);
        pending.add(release);
        if (first) {
            loop.execute(drain);
        }
    }

    /**
     * Delivers every waiting frame, and those the deliveries send in turn, in one task: a burst
     * costs one wake-up of the loop, not one per frame.
     */
    private void drain() {
        try {
            Object next;
            while ((next = pending.poll()) != null) {
                Port to = (Port) next;
                ByteBuffer frame = (ByteBuffer) pending.poll();
                Runnable release = (Runnable) pending.poll();
                try {
                    if (!to.closed) {
                        to.receiver.frameReceived(frame, 0);
                    }
                } finally {
                    release.run();
                }
            }
        } finally {
            if (!pending.isEmpty()) {
                loop.execute(drain); // a receiver threw: the loop reports it, the frames behind still go
            }
        }
    }

    private synchronized void detach(Port p) {
        List<Port> ports = wires.get(p.name);
        if (ports != null) {
            ports.remove(p);
        }
        generation++;
    }

    private final class Port implements HostNic {
        final String name;
        final MacAddress mac;
        final int mtu;
        final FrameReceiver receiver;
        volatile boolean closed;
        private Port[] peers;
        private int peersGeneration = -1;

        Port(String name, MacAddress mac, int mtu, FrameReceiver receiver) {
            this.name = name;
            this.mac = mac;
            this.mtu = mtu;
            this.receiver = receiver;
        }

        @Override
        public String name() {
            return name;
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
            check(frame);
            for (Port to : peers) {
                ByteBuf copy = PooledByteBufAllocator.DEFAULT.directBuffer(frame.remaining());
                int position = frame.position();
                copy.writeBytes(frame);
                frame.position(position); // HostNic.send leaves the caller's buffer as it was
                if (loop.inEventLoop()) {
                    deliverLater(to, copy);
                } else {
                    loop.execute(() -> deliverLater(to, copy)); // the queue is the loop's alone
                }
            }
        }

        @Override
        public void sendLent(ByteBuffer frame, FrameOffload offload, Runnable release) throws ErrnoException {
            boolean lent = false;
            try {
                if (offload.needsChecksum()) {
                    throw new ErrnoException(Errno.EOPNOTSUPP, "NIC " + name + " does no transmit offloads");
                }
                check(frame);
                if (peers.length == 1 && loop.inEventLoop()) {
                    deliverLater(peers[0], frame, release);
                    lent = true;
                } else {
                    send(frame);
                }
            } finally {
                if (!lent) {
                    release.run();
                }
            }
        }

        /** Checks a frame to send, and refreshes the cached peers if a port joined or left. */
        private void check(ByteBuffer frame) throws ErrnoException {
            if (closed) {
                throw new ErrnoException(Errno.EBADF, "NIC " + name + " is closed");
            }
            if (frame.remaining() > maxFrameLength()) {
                throw new ErrnoException(Errno.EMSGSIZE, frame.remaining() + " bytes on " + name);
            }
            if (peersGeneration != generation) {
                peersGeneration = generation;
                peers = peers(this);
            }
        }

        @Override
        public void close() {
            closed = true;
            detach(this);
        }

        @Override
        public String toString() {
            return "LoopWire[" + name + " " + mac + "]";
        }
    }
}
