package io.jrump.netty;

import io.jrump.net.stack.NetStack;
import io.netty.channel.ChannelOption;

/** Channel options of this transport beyond Netty's own. */
public final class RumpChannelOption {
    /**
     * The stack a new channel opens its socket on: one booted on the channel's
     * {@link RumpEventLoopGroup}. Without it, the group's first stack. An accepted channel is on
     * its listener's stack.
     */
    public static final ChannelOption<NetStack> STACK = ChannelOption.valueOf(RumpChannelOption.class, "STACK");

    private RumpChannelOption() {
    }
}
