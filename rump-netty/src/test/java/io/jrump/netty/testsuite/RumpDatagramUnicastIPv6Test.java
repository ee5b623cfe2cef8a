package io.jrump.netty.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.socket.DatagramUnicastIPv6Test;
import java.util.List;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * Netty's {@code DatagramUnicastIPv6Test} over a jrump stack: INET6 datagram channels over ::1.
 */
class RumpDatagramUnicastIPv6Test extends DatagramUnicastIPv6Test {
    @Override
    protected List<BootstrapComboFactory<Bootstrap, Bootstrap>> newFactories() {
        return RumpSocketTestPermutation.datagram(socketInternetProtocalFamily());
    }

    /** The stack has no way to disconnect a UDP socket (connect to AF_UNSPEC); the test skips that step. */
    @Override
    protected boolean supportDisconnect() {
        return false;
    }

    @Test
    @Disabled("its sender is a java.net.DatagramSocket on the host's own network stack, which cannot reach a"
            + " jrump stack")
    @Override
    public void testReceiveEmptyDatagrams(TestInfo testInfo) {
    }
}
