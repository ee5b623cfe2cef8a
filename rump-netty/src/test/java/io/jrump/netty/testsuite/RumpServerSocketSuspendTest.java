package io.jrump.netty.testsuite;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.ServerSocketSuspendTest;
import java.util.List;

/** Netty's {@code ServerSocketSuspendTest} over a jrump stack. */
class RumpServerSocketSuspendTest extends ServerSocketSuspendTest {
    @Override
    protected List<BootstrapFactory<ServerBootstrap>> newFactories() {
        return RumpSocketTestPermutation.serverSocket();
    }
}
