package io.jrump.nio;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import java.net.InetSocketAddress;
import java.util.List;

/** Two kernels on one JVM host switch, 198.18.0.1 (client) and 198.18.0.2 (server), each with a provider. */
final class TwoStacks implements AutoCloseable {
    static final String CLIENT_IP = "198.18.0.1";
    static final String SERVER_IP = "198.18.0.2";

    final RumpKernel clientKernel;
    final RumpKernel serverKernel;
    final RumpSelectorProvider client;
    final RumpSelectorProvider server;

    TwoStacks() throws Exception {
        SwitchRegistry sw = new SwitchRegistry();
        clientKernel = boot("client", CLIENT_IP, sw);
        serverKernel = boot("server", SERVER_IP, sw);
        client = new RumpSelectorProvider(clientKernel);
        server = new RumpSelectorProvider(serverKernel);
    }

    private static RumpKernel boot(String name, String ip, SwitchRegistry sw) throws Exception {
        NetStack net = new NetStack();
        RumpKernel k = RumpKernel.boot(JvmHost.builder().name(name).switches(sw).build(),
                BootOptions.defaults().withName(name).withComponentInstances(List.of(net)));
        net.addInterface("sw0", NicOptions.mtu(1500));
        net.addAddress("sw0", Ipv4Address.parse(ip), 24);
        return k;
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
