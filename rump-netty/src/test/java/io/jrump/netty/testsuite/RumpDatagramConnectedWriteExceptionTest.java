package io.jrump.netty.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import io.netty.testsuite.transport.socket.DatagramConnectedWriteExceptionTest;
import java.util.List;

/** Netty's {@code DatagramConnectedWriteExceptionTest} over a jrump stack. */
class RumpDatagramConnectedWriteExceptionTest extends DatagramConnectedWriteExceptionTest {
    @Override
    protected List<BootstrapFactory<Bootstrap>> newFactories() {
        return RumpSocketTestPermutation.datagramSocket();
    }
}
