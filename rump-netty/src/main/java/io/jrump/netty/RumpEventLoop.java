package io.jrump.netty;

import io.jrump.net.stack.NetStack;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoopGroup;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;

/**
 * The one event loop of a {@link RumpEventLoopGroup}: a plain Netty loop that is also the event
 * loop of every kernel booted on the group, so its channels call their stack on its own thread.
 * Thread-safe as any Netty loop.
 */
final class RumpEventLoop extends DefaultEventLoop {
    private final List<NetStack> stacks = new CopyOnWriteArrayList<>();

    RumpEventLoop(EventLoopGroup parent, Executor executor) {
        super(parent, executor);
    }

    void attach(NetStack stack) {
        stacks.add(stack);
    }

    void detach(NetStack stack) {
        stacks.remove(stack);
    }

    boolean runs(NetStack stack) {
        return stacks.contains(stack);
    }

    /** The first stack booted on the loop, for channels that chose none; null before any. */
    NetStack defaultStack() {
        return stacks.isEmpty() ? null : stacks.get(0);
    }
}
