package io.jrump.nio.internal;

import io.jrump.net.stack.Sockets;
import java.nio.channels.spi.SelectorProvider;

/** What every channel of one provider shares: the provider, the stack's sockets and its loop. Immutable. */
public record Stack(SelectorProvider provider, Sockets sockets, Loop loop) {
}
