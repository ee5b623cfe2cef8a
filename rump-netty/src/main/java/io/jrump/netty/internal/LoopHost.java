package io.jrump.netty.internal;

import io.jrump.hypercall.ForwardingHypercalls;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.HostScheduler;
import io.jrump.hypercall.Hypercalls;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoop;
import java.nio.ByteBuffer;

/**
 * A host whose event loop is a Netty event loop: everything else is the wrapped host's. The
 * kernel's tasks and timers run on the loop ({@link LoopScheduler}); frames from the wrapped host's
 * NICs, which that host delivers on its own thread, are copied into pooled buffers and handed to
 * the loop — the one thread hand-off left, at the NIC, where a real kernel takes an interrupt.
 * NICs named {@code loop:NAME} are wires on the loop itself ({@link LoopWires}): kernels on the
 * same loop that open the same name are connected with no thread at all between them.
 * Thread-safe as the host it wraps.
 */
public final class LoopHost extends ForwardingHypercalls {
    /** The prefix of a NIC name that opens a wire between kernels on the same loop. */
    public static final String LOOP_WIRE_PREFIX = "loop:";

    private final LoopScheduler scheduler;
    private final LoopWires wires;

    public LoopHost(Hypercalls host, EventLoop loop, LoopWires wires) {
        super(host);
        this.scheduler = new LoopScheduler(loop, host.clock(), host.console());
        this.wires = wires;
    }

    @Override
    public HostScheduler scheduler() {
        return scheduler;
    }

    @Override
    public NetworkInterfaces networkInterfaces() {
        return (name, options, receiver) -> {
            if (name.startsWith(LOOP_WIRE_PREFIX)) {
                MacAddress mac = options.mac() != null ? options.mac() : MacAddress.randomLocal(random());
                return wires.attach(name, mac, options.mtuOrDefault(), receiver);
            }
            return host.networkInterfaces().open(name, options, new OnLoop(receiver));
        };
    }

    /** Copies each frame (valid only during the host's call) and delivers it on the loop. */
    private final class OnLoop implements NetworkInterfaces.FrameReceiver {
        private final NetworkInterfaces.FrameReceiver receiver;

        OnLoop(NetworkInterfaces.FrameReceiver receiver) {
            this.receiver = receiver;
        }

        @Override
        public void frameReceived(ByteBuffer frame) {
            frameReceived(frame, 0);
        }

        @Override
        public void frameReceived(ByteBuffer frame, int rxFlags) {
            if (scheduler.inEventLoop()) {
                receiver.frameReceived(frame, rxFlags);
                return;
            }
            ByteBuf copy = PooledByteBufAllocator.DEFAULT.directBuffer(frame.remaining());
            copy.writeBytes(frame.duplicate());
            try {
                scheduler.execute(() -> {
                    try {
                        receiver.frameReceived(copy.internalNioBuffer(0, copy.readableBytes()), rxFlags);
                    } finally {
                        copy.release();
                    }
                });
            } catch (IllegalStateException e) {
                copy.release(); // the loop has shut down: the frame is lost, as on a closed NIC
            }
        }
    }
}
