package io.jrump.netty.testsuite;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.socket.SocketSslSessionReuseTest;
import io.netty.handler.ssl.SslContextBuilder;
import java.util.List;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.TestInfo;

/** Netty's {@code SocketSslSessionReuseTest} over a jrump stack. */
class RumpSocketSslSessionReuseTest extends SocketSslSessionReuseTest {
    @Override
    protected List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> newFactories() {
        return RumpSocketTestPermutation.socket();
    }

    @Disabled("its OpenSSL case needs netty-tcnative, which is not on this build's class path (NIO fails it"
            + " alike here); the JDK provider's cases run in RumpSocketSslEchoTest and the other SSL tests")
    @Override
    public void testSslSessionTrustManagerResumption(SslContextBuilder serverCtx, SslContextBuilder clientCtx,
            TestInfo testInfo) {
    }
}
