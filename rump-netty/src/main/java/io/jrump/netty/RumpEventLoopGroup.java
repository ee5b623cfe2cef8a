package io.jrump.netty;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.stack.NetStack;
import io.jrump.netty.internal.LoopHost;
import io.jrump.netty.internal.LoopWires;
import io.netty.channel.EventLoop;
import io.netty.channel.MultithreadEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * A Netty event loop group of one thread that is also the event loop of the jrump kernels booted
 * on it: their tasks, timers and received frames run on that thread between the channels' own
 * work, so a {@link RumpSocketChannel} calls its stack directly — no hand-off between a handler
 * and TCP. Use it where Netty code has a {@code NioEventLoopGroup}, with {@link RumpSocketChannel}
 * and {@link RumpServerSocketChannel} as the channel classes:
 *
 * <pre>{@code
 * RumpEventLoopGroup group = new RumpEventLoopGroup();
 * NetStack stack = group.boot(JvmHost.create("a"), "a");   // has lo, 127.0.0.1/8
 * new ServerBootstrap().group(group).channel(RumpServerSocketChannel.class)...
 * }</pre>
 *
 * <p>Every channel of a stack lives on this group's loop: register them with this group (as boss
 * and as child group), not with another. Several kernels may share the loop (two stacks joined by
 * a {@code loop:NAME} NIC talk with no thread between them); a channel chooses its stack with
 * {@link RumpChannelOption#STACK}, else takes the first booted. The host given to {@link #boot}
 * keeps everything but its scheduler: its NICs deliver frames on its own thread, and the group
 * hands each to the loop. Not for the simulation host, whose virtual time the loop would not keep.
 *
 * <p>Thread-safe. {@link #shutdownGracefully} (and {@link #close}) shut the kernels down, then the
 * loop.
 */
public final class RumpEventLoopGroup extends MultithreadEventLoopGroup implements AutoCloseable {
    private final List<RumpKernel> kernels = new CopyOnWriteArrayList<>();
    private volatile LoopWires wires;

    /** A group whose thread is named {@code jrump-netty-N-1}. */
    public RumpEventLoopGroup() {
        this("jrump-netty");
    }

    /** A group whose thread's name starts with {@code threadName}. */
    public RumpEventLoopGroup(String threadName) {
        super(1, new DefaultThreadFactory(threadName, false));
    }

    @Override
    protected EventLoop newChild(Executor executor, Object... args) {
        return new RumpEventLoop(this, executor);
    }

    RumpEventLoop loop() {
        return (RumpEventLoop) next();
    }

    private synchronized LoopWires wires() {
        if (wires == null) {
            wires = new LoopWires(loop());
        }
        return wires;
    }

    /**
     * Boots a kernel named {@code name} with a new stack on {@code host} (which the kernel closes at
     * shutdown), its event loop this group's, and returns the stack: it has {@code lo} with
     * 127.0.0.1/8; add interfaces and addresses as usual.
     */
    public NetStack boot(Hypercalls host, String name) throws ErrnoException {
        NetStack stack = new NetStack();
        boot(host, BootOptions.defaults().withName(name).withComponentInstances(List.of(stack)));
        return stack;
    }

    /**
     * Boots a kernel with {@code options} (which must give it a {@link NetStack}) on this group's
     * loop. As {@link RumpKernel#boot}, the host is closed if booting fails; {@code EDEADLK} if
     * called on the loop itself, which booting waits for.
     */
    public RumpKernel boot(Hypercalls host, BootOptions options) throws ErrnoException {
        if (loop().inEventLoop()) {
            host.close();
            throw new ErrnoException(Errno.EDEADLK, "booting a kernel from its own event loop");
        }
        RumpKernel kernel = RumpKernel.boot(new LoopHost(host, loop(), wires()), options);
        NetStack stack = kernel.component(NetStack.class).orElse(null);
        if (stack == null) {
            kernel.close();
            throw new ErrnoException(Errno.ENOENT, "kernel " + kernel.name() + " has no network stack");
        }
        kernels.add(kernel);
        loop().attach(stack);
        return kernel;
    }

    /** The first stack booted, the one channels use unless they choose another; null before any. */
    public NetStack stack() {
        return loop().defaultStack();
    }

    /** The kernels booted on this group, in boot order. */
    public List<RumpKernel> kernels() {
        return List.copyOf(kernels);
    }

    private void closeKernels() {
        for (RumpKernel k : kernels) {
            k.component(NetStack.class).ifPresent(loop()::detach);
            k.close();
        }
        kernels.clear();
    }

    /** Shuts the kernels down, then the loop, as Netty's groups do. */
    @Override
    public Future<?> shutdownGracefully(long quietPeriod, long timeout, TimeUnit unit) {
        closeKernels();
        return super.shutdownGracefully(quietPeriod, timeout, unit);
    }

    /** Shuts the kernels and the loop down and waits for the loop's thread to end. */
    @Override
    public void close() {
        shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
