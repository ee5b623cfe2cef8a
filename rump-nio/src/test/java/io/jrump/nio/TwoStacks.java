package io.jrump.nio;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.ndp.AddressAutoconfig;
import io.jrump.net.stack.Interface;
import io.jrump.net.stack.NetStack;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * Two kernels on one JVM host switch, 198.18.0.1 (client) and 198.18.0.2 (server), each with a
 * provider; with IPv6, also 2001:db8::1 and 2001:db8::2 (usable once their duplicate address
 * detection has passed, which the constructor waits for).
 */
final class TwoStacks implements AutoCloseable {
    static final String CLIENT_IP = "198.18.0.1";
    static final String SERVER_IP = "198.18.0.2";
    static final String CLIENT_IP6 = "2001:db8::1";
    static final String SERVER_IP6 = "2001:db8::2";

    final RumpKernel clientKernel;
    final RumpKernel serverKernel;
    final RumpSelectorProvider client;
    final RumpSelectorProvider server;

    TwoStacks() throws Exception {
        this(false);
    }

    TwoStacks(boolean ipv6) throws Exception {
        SwitchRegistry sw = new SwitchRegistry();
        clientKernel = boot("client", CLIENT_IP, ipv6 ? CLIENT_IP6 : null, sw);
        serverKernel = boot("server", SERVER_IP, ipv6 ? SERVER_IP6 : null, sw);
        client = new RumpSelectorProvider(clientKernel);
        server = new RumpSelectorProvider(serverKernel);
        if (ipv6) {
            awaitPreferred(clientKernel, CLIENT_IP6);
            awaitPreferred(serverKernel, SERVER_IP6);
        }
    }

    private static RumpKernel boot(String name, String ip, String ip6, SwitchRegistry sw) throws Exception {
        NetStack net = new NetStack();
        RumpKernel k = RumpKernel.boot(JvmHost.builder().name(name).switches(sw).build(),
                BootOptions.defaults().withName(name).withComponentInstances(List.of(net)));
        net.addInterface("sw0", NicOptions.mtu(1500));
        net.addAddress("sw0", Ipv4Address.parse(ip), 24);
        if (ip6 != null) {
            net.addAddress("sw0", Ipv6Address.parse(ip6), 64);
        }
        return k;
    }

    /** Waits (on the JVM host's real clock, at most 10 s) until {@code ip6} has passed DAD. */
    private static void awaitPreferred(RumpKernel k, String ip6) throws Exception {
        NetStack net = k.component(NetStack.class).orElseThrow();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (Interface i : net.interfaces()) {
                for (AddressAutoconfig.Address a : i.ipv6Addresses()) {
                    if (a.address().equals(Ipv6Address.parse(ip6)) && a.assigned()) {
                        return;
                    }
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError(ip6 + " did not pass duplicate address detection in 10 s: " + net.interfaces());
    }

    static InetSocketAddress server(int port) {
        return new InetSocketAddress(SERVER_IP, port);
    }

    @Override
    public void close() {
        clientKernel.close();
        serverKernel.close();
    }
}
