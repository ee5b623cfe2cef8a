package io.jrump.netty;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.stack.NetStack;
import io.jrump.net.stack.Sockets;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import java.util.Map;

/**
 * What the channels' configs share: {@link RumpChannelOption#STACK}, the table that maps each
 * {@link ChannelOption} to its accessors (which Netty's {@code getOption}, {@code setOption} and
 * {@code getOptions} read), and the socket the options go to once it is open. A subclass adds its
 * options to {@link #options} in its constructor. Thread-safe as Netty's configs.
 */
abstract class AbstractRumpChannelConfig extends DefaultChannelConfig {
    final ConfigOptions options = new ConfigOptions();
    final OpenSocket socket;
    /** The stack the channel registers on; null means the loop's first. */
    volatile NetStack stack;

    AbstractRumpChannelConfig(AbstractRumpChannel ch) {
        super(ch);
        socket = new OpenSocket(ch);
        options.addUnlisted(RumpChannelOption.STACK, () -> stack, v -> stack = v);
    }

    AbstractRumpChannelConfig(AbstractRumpChannel ch, RecvByteBufAllocator allocator) {
        super(ch, allocator);
        socket = new OpenSocket(ch);
        options.addUnlisted(RumpChannelOption.STACK, () -> stack, v -> stack = v);
    }

    /** Pushes the options kept so far to the socket just opened (or accepted). */
    abstract void apply(Sockets sockets, int fd) throws ErrnoException;

    @Override
    public Map<ChannelOption<?>, Object> getOptions() {
        return getOptions(super.getOptions(), options.listed());
    }

    @Override
    public <T> T getOption(ChannelOption<T> option) {
        return options.holds(option) ? options.get(option) : super.getOption(option);
    }

    @Override
    public <T> boolean setOption(ChannelOption<T> option, T value) {
        validate(option, value);
        return options.set(option, value) || super.setOption(option, value);
    }
}
