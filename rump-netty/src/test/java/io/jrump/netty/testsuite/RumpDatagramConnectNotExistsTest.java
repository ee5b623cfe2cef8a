package io.jrump.netty.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.DatagramConnectNotExistsTest;
import java.util.List;

/** Netty's {@code DatagramConnectNotExistsTest} over a jrump stack. */
class RumpDatagramConnectNotExistsTest extends DatagramConnectNotExistsTest {
    @Override
    protected List<BootstrapFactory<Bootstrap>> newFactories() {
        return RumpSocketTestPermutation.datagramSocket();
    }
}
