package io.jrump.netty.testsuite;

import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOptions;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import io.jrump.netty.RumpDatagramChannel;
import io.jrump.netty.RumpEventLoopGroup;
import io.jrump.netty.RumpServerSocketChannel;
import io.jrump.netty.RumpSocketChannel;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapComboFactory;
import io.netty.testsuite.transport.TestsuitePermutation.BootstrapFactory;
import java.util.List;

/**
 * The bootstraps Netty's transport testsuite runs with, as its epoll and kqueue modules give
 * theirs: one {@link RumpEventLoopGroup} whose kernel's stack serves both ends over its loopback
 * (the tests bind to Netty's {@code NetUtil.LOCALHOST} — ::1 on a host with IPv6, else 127.0.0.1 —
 * and connect to what the server bound; the channels are dual-stack, so either works), as boss,
 * child and client group alike — a stack's channels all live on its loop.
 */
final class RumpSocketTestPermutation {
    static final RumpEventLoopGroup GROUP = newGroup();

    private RumpSocketTestPermutation() {
    }

    private static RumpEventLoopGroup newGroup() {
        RumpEventLoopGroup g = new RumpEventLoopGroup("jrump-testsuite");
        try {
            NetStack stack = g.boot(JvmHost.create("testsuite"), "testsuite");
            // A default route through a gateway that never answers: a connection to the
            // testsuite's unreachable address (198.51.100.254) stays in progress, as on a host
            // with a network, until the test cancels it or times it out. Nothing leaves the JVM.
            stack.addInterface("jrump-testsuite-sw", NicOptions.mtu(1500));
            stack.addAddress("jrump-testsuite-sw", Ipv4Address.parse("198.18.0.1"), 24);
            stack.addDefaultRoute(Ipv4Address.parse("198.18.0.254"));
        } catch (ErrnoException e) {
            throw new IllegalStateException(e);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(g::close));
        return g;
    }

    static List<BootstrapComboFactory<ServerBootstrap, Bootstrap>> socket() {
        return List.of(new BootstrapComboFactory<>() {
            @Override
            public ServerBootstrap newServerInstance() {
                return new ServerBootstrap().group(GROUP).channel(RumpServerSocketChannel.class);
            }

            @Override
            public Bootstrap newClientInstance() {
                return new Bootstrap().group(GROUP).channel(RumpSocketChannel.class);
            }
        });
    }

    static List<BootstrapFactory<Bootstrap>> clientSocket() {
        return List.of(() -> new Bootstrap().group(GROUP).channel(RumpSocketChannel.class));
    }

    static List<BootstrapFactory<ServerBootstrap>> serverSocket() {
        return List.of(() -> new ServerBootstrap().group(GROUP).channel(RumpServerSocketChannel.class));
    }

    static List<BootstrapComboFactory<Bootstrap, Bootstrap>> datagram() {
        return List.of(new BootstrapComboFactory<>() {
            @Override
            public Bootstrap newServerInstance() {
                return new Bootstrap().group(GROUP).channel(RumpDatagramChannel.class);
            }

            @Override
            public Bootstrap newClientInstance() {
                return new Bootstrap().group(GROUP).channel(RumpDatagramChannel.class);
            }
        });
    }

    /** Datagram channels of {@code family}, as Netty's own {@code SocketTestPermutation.datagram(family)}. */
    static List<BootstrapComboFactory<Bootstrap, Bootstrap>> datagram(SocketProtocolFamily family) {
        return List.of(new BootstrapComboFactory<>() {
            @Override
            public Bootstrap newServerInstance() {
                return new Bootstrap().group(GROUP).channelFactory(() -> new RumpDatagramChannel(family));
            }

            @Override
            public Bootstrap newClientInstance() {
                return new Bootstrap().group(GROUP).channelFactory(() -> new RumpDatagramChannel(family));
            }
        });
    }

    static List<BootstrapFactory<Bootstrap>> datagramSocket() {
        return List.of(() -> new Bootstrap().group(GROUP).channel(RumpDatagramChannel.class));
    }
}
