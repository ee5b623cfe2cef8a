package io.jrump.netty.internal;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoop;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Ethernet segments between kernels that share one Netty event loop: a frame sent on a wire is
 * copied into a pooled buffer and delivered to every other NIC on it (a hub, so two stacks or a
 * few) by a task on the same loop — after the sender's work, never inside it, and never on another
 * thread. Used on the loop only; {@link #attach} may be called from any thread.
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
        return p;
    }

    private synchronized List<Port> peers(Port from) {
        List<Port> all = wires.getOrDefault(from.name, List.of());
        List<Port> out = new ArrayList<>(all.size());
        for (Port p : all) {
            if (p != from) {
                out.add(p);
            }
        }
        return out;
    }

    private synchronized void detach(Port p) {
        List<Port> ports = wires.get(p.name);
        if (ports != null) {
            ports.remove(p);
        }
    }

    private final class Port implements HostNic {
        final String name;
        final MacAddress mac;
        final int mtu;
        final FrameReceiver receiver;
        volatile boolean closed;

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
            if (closed) {
                throw new ErrnoException(Errno.EBADF, "NIC " + name + " is closed");
            }
            if (frame.remaining() > maxFrameLength()) {
                throw new ErrnoException(Errno.EMSGSIZE, frame.remaining() + " bytes on " + name);
            }
            for (Port to : peers(this)) {
                ByteBuf copy = PooledByteBufAllocator.DEFAULT.directBuffer(frame.remaining());
                copy.writeBytes(frame.duplicate());
                loop.execute(() -> {
                    try {
                        if (!to.closed) {
                            to.receiver.frameReceived(copy.nioBuffer().asReadOnlyBuffer(), 0);
                        }
                    } finally {
                        copy.release();
                    }
                });
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
