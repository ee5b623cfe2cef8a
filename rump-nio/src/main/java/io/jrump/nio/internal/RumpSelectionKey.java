package io.jrump.nio.internal;

import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.Selector;
import java.nio.channels.spi.AbstractSelectionKey;

/** A channel's registration with a {@link RumpSelector}. Interest and ready sets are volatile; thread-safe as the JDK's keys are. */
final class RumpSelectionKey extends AbstractSelectionKey {
    private final SelectableChannel channel;
    private final RumpSelector selector;
    private volatile int interestOps;
    private volatile int readyOps;

    RumpSelectionKey(SelectableChannel channel, RumpSelector selector) {
        this.channel = channel;
        this.selector = selector;
    }

    @Override
    public SelectableChannel channel() {
        return channel;
    }

    @Override
    public Selector selector() {
        return selector;
    }

    RumpChannel rumpChannel() {
        return (RumpChannel) channel;
    }

    private void ensureValid() {
        if (!isValid()) {
            throw new CancelledKeyException();
        }
    }

    @Override
    public int interestOps() {
        ensureValid();
        return interestOps;
    }

    int interestOpsUnchecked() {
        return interestOps;
    }

    @Override
    public java.nio.channels.SelectionKey interestOps(int ops) {
        ensureValid();
        if ((ops & ~channel.validOps()) != 0) {
            throw new IllegalArgumentException("Invalid interest ops: " + ops);
        }
        interestOps = ops;
        selector.signal(); // a key now interested in what is already there shows up in a select under way
        return this;
    }

    @Override
    public int readyOps() {
        ensureValid();
        return readyOps;
    }

    int readyOpsUnchecked() {
        return readyOps;
    }

    void readyOps(int ops) {
        readyOps = ops;
    }

    @Override
    public String toString() {
        return "RumpSelectionKey[channel=" + channel + ", " + (isValid() ? "interest=" + interestOps + ", ready=" + readyOps
                : "invalid") + "]";
    }
}
