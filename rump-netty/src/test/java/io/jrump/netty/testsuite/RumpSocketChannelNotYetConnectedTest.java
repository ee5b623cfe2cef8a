package io.jrump.netty.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.SocketChannelNotYetConnectedTest;
import java.util.List;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/** Netty's {@code SocketChannelNotYetConnectedTest} over a jrump stack. */
class RumpSocketChannelNotYetConnectedTest extends SocketChannelNotYetConnectedTest {
    @Override
    protected List<BootstrapFactory<Bootstrap>> newFactories() {
        return RumpSocketTestPermutation.clientSocket();
    }

    @Test
    @Disabled("its server is a NIO channel on the host's own network stack, which a jrump stack cannot reach")
    @Override
    public void readMustBePendingUntilChannelIsActive(TestInfo info) {
    }
}
