package io.jrump.net.stack;

import io.jrump.host.jvm.JvmHost;
import io.jrump.host.jvm.SwitchRegistry;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.Sockets.SocketAddress;
import java.util.List;

/**
 * Two kernels on JVM hosts, joined by a switch of their own named {@code sw0}: {@link #a} at
 * 198.18.0.1, {@link #b} at 198.18.0.2 — the real-time twin of {@link StackSimTest.Pair}.
 */
final class JvmPair implements AutoCloseable {
    static final Ipv4Address A = Ipv4Address.parse("198.18.0.1");
    static final Ipv4Address B = Ipv4Address.parse("198.18.0.2");

    final JvmHost hostA;
    final JvmHost hostB;
    final NetStack a = new NetStack();
    final NetStack b = new NetStack();
    private final RumpKernel ka;
    private final RumpKernel kb;

    /** Threaded hosts, both NICs at MTU 1500 without offloads. */
    JvmPair(String name) throws Exception {
        this(name, false, NicOptions.mtu(1500), NicOptions.mtu(1500));
    }

    /** @param polled hosts without loop threads ({@link JvmHost.Builder#polled()}) */
    JvmPair(String name, boolean polled, NicOptions nicA, NicOptions nicB) throws Exception {
        SwitchRegistry sw = new SwitchRegistry();
        hostA = host(name + "-a", sw, polled);
        hostB = host(name + "-b", sw, polled);
        ka = RumpKernel.boot(hostA, BootOptions.defaults().withName(name + "-a").withComponentInstances(List.of(a)));
        kb = RumpKernel.boot(hostB, BootOptions.defaults().withName(name + "-b").withComponentInstances(List.of(b)));
        a.addInterface("sw0", nicA);
        b.addInterface("sw0", nicB);
        a.addAddress("sw0", A, 24);
        b.addAddress("sw0", B, 24);
    }

    private static JvmHost host(String name, SwitchRegistry sw, boolean polled) {
        JvmHost.Builder builder = JvmHost.builder().name(name).switches(sw);
        return (polled ? builder.polled() : builder).build();
    }

    /** A listener on b at {@code port}, with blocking calls: returns {client fd on a, accepted fd on b}. */
    int[] connect(int port) throws ErrnoException {
        Sockets sb = b.sockets();
        int listener = sb.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sb.bind(listener, new SocketAddress(Ipv4Address.ANY, port));
        sb.listen(listener, 4);
        Sockets sa = a.sockets();
        int client = sa.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
        sa.connect(client, new SocketAddress(B, port));
        return new int[] {client, sb.accept(listener)};
    }

    @Override
    public void close() {
        ka.close();
        kb.close();
    }
}
