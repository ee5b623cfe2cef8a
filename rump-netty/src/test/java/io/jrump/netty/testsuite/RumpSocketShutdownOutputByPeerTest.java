package io.jrump.netty.testsuite;

import io.jrump.hypercall.ErrnoException;
import io.jrump.net.stack.Sockets;
import io.jrump.netty.internal.Addresses;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.AbstractSocketShutdownOutputByPeerTest;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Netty's shutdown-by-peer test over a jrump stack. Netty's own subclass uses a
 * {@code java.net.Socket} as the peer, which cannot reach a server on a jrump stack; here the peer
 * is a blocking socket of the same stack, driven through its socket API from the test's thread.
 */
class RumpSocketShutdownOutputByPeerTest extends AbstractSocketShutdownOutputByPeerTest<Integer> {
    private static Sockets sockets() {
        return RumpSocketTestPermutation.GROUP.stack().sockets();
    }

    @Override
    protected List<BootstrapFactory<ServerBootstrap>> newFactories() {
        return RumpSocketTestPermutation.serverSocket();
    }

    @Override
    protected void shutdownOutput(Integer fd) throws IOException {
        sockets().shutdown(fd, Sockets.SHUT_WR);
    }

    @Override
    protected void connect(Integer fd, SocketAddress address) throws IOException {
        sockets().connect(fd, Addresses.toStack(address));
    }

    @Override
    protected void close(Integer fd) throws IOException {
        sockets().close(fd);
    }

    @Override
    protected void write(Integer fd, int data) throws IOException {
        sockets().send(fd, ByteBuffer.wrap(new byte[] {(byte) data}), 0);
    }

    @Override
    protected Integer newSocket() {
        try {
            return sockets().socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0); // dual-stack: the server may be on ::1 or 127.0.0.1
        } catch (ErrnoException e) {
            throw new IllegalStateException(e);
        }
    }
}
