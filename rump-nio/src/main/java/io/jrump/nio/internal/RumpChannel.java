package io.jrump.nio.internal;

/** What the selector needs of a channel of this provider. */
interface RumpChannel {
    SocketWatch watch();

    /** The ready set for the socket's {@code events} (poll bits) under {@code interestOps}, as the JDK translates them. */
    int translateReadyOps(int events, int interestOps);

    boolean isOpen();
}
