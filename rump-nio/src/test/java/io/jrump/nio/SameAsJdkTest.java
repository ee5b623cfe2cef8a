package io.jrump.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.jrump.host.jvm.JvmHost;
import io.jrump.kernel.BootOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.stack.NetStack;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.SelectorProvider;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The same java.nio sequences on the JDK's own provider (Linux loopback) and on a jrump stack (its
 * loopback, 127.0.0.1), written down step by step — each result, or each exception's class and
 * message — and the two transcripts compared line by line: where the JDK's behaviour is observable
 * through the API, the channels must match it. Port numbers are masked.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SameAsJdkTest {
    private static RumpKernel kernel;
    private static SelectorProvider jrump;

    @BeforeAll
    static void boot() throws Exception {
        kernel = RumpKernel.boot(JvmHost.create("same-as-jdk"),
                BootOptions.defaults().withName("same-as-jdk").withComponentInstances(List.of(new NetStack())));
        jrump = new RumpSelectorProvider(kernel);
    }

    @AfterAll
    static void shutDown() {
        kernel.close();
    }

    @FunctionalInterface
    interface Step {
        Object run() throws Exception;
    }

    /** Records one step: its value, or its exception's class and message. */
    private static final class Transcript {
        final StringBuilder text = new StringBuilder();

        void step(String name, Step s) {
            String result;
            try {
                result = String.valueOf(s.run());
            } catch (Exception e) {
                result = "throws " + e.getClass().getName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            }
            text.append(name).append(" -> ").append(result.replaceAll(":\\d{2,5}\\b", ":PORT")
                    .replaceAll("port=\\d+", "port=N")).append('\n');
        }
    }

    private static final InetSocketAddress ANY_LOOPBACK = new InetSocketAddress("127.0.0.1", 0);

    private static String run(SelectorProvider p) throws Exception {
        Transcript t = new Transcript();
        // A port nobody listens on: bound, then closed.
        ServerSocketChannel gone = p.openServerSocketChannel().bind(ANY_LOOPBACK);
        InetSocketAddress closedPort = (InetSocketAddress) gone.getLocalAddress();
        gone.close();

        SocketChannel refused = p.openSocketChannel();
        t.step("blocking connect to a closed port", () -> refused.connect(closedPort));
        t.step("  then open", refused::isOpen);

        SocketChannel nb = p.openSocketChannel();
        t.step("finishConnect with no connect", nb::finishConnect);
        t.step("configureBlocking(false)", () -> nb.configureBlocking(false).isBlocking());
        t.step("non-blocking connect to a closed port", () -> nb.connect(closedPort));
        t.step("  pending", nb::isConnectionPending);
        t.step("  connect again", () -> nb.connect(closedPort));
        Selector sel = p.openSelector();
        t.step("  register OP_CONNECT", () -> nb.register(sel, SelectionKey.OP_CONNECT).interestOps());
        t.step("  select", () -> sel.select(5000));
        t.step("  ready ops", () -> sel.selectedKeys().iterator().next().readyOps());
        t.step("  finishConnect", nb::finishConnect);
        t.step("  then open", nb::isOpen);
        t.step("  select after close", sel::selectNow);
        t.step("  keys after close", () -> sel.keys().size());

        SocketChannel fresh = p.openSocketChannel();
        t.step("read unconnected", () -> fresh.read(ByteBuffer.allocate(1)));
        t.step("write unconnected", () -> fresh.write(ByteBuffer.allocate(1)));
        t.step("shutdownOutput unconnected", fresh::shutdownOutput);
        t.step("remote address unconnected", fresh::getRemoteAddress);
        t.step("local address unbound", fresh::getLocalAddress);
        t.step("socket local port unbound", () -> fresh.socket().getLocalPort());
        t.step("socket toString unconnected", () -> fresh.socket().toString());
        t.step("register while blocking", () -> fresh.register(sel, SelectionKey.OP_READ));
        t.step("TCP_NODELAY default", () -> fresh.getOption(StandardSocketOptions.TCP_NODELAY));
        t.step("SO_KEEPALIVE default", () -> fresh.getOption(StandardSocketOptions.SO_KEEPALIVE));
        t.step("SO_LINGER default", () -> fresh.getOption(StandardSocketOptions.SO_LINGER));
        t.step("SO_REUSEADDR default", () -> fresh.getOption(StandardSocketOptions.SO_REUSEADDR));
        t.step("SO_LINGER 70000", () -> fresh.setOption(StandardSocketOptions.SO_LINGER, 70000)
                .getOption(StandardSocketOptions.SO_LINGER));
        t.step("SO_LINGER -5", () -> fresh.setOption(StandardSocketOptions.SO_LINGER, -5)
                .getOption(StandardSocketOptions.SO_LINGER));
        t.step("SO_RCVBUF 65536", () -> fresh.setOption(StandardSocketOptions.SO_RCVBUF, 65536)
                .getOption(StandardSocketOptions.SO_RCVBUF));
        t.step("SO_SNDBUF -1", () -> fresh.setOption(StandardSocketOptions.SO_SNDBUF, -1));
        t.step("option null", () -> fresh.getOption(null));
        t.step("bind", () -> fresh.bind(ANY_LOOPBACK) == fresh);
        t.step("bind again", () -> fresh.bind(ANY_LOOPBACK));
        fresh.close();
        t.step("read closed", () -> fresh.read(ByteBuffer.allocate(1)));
        t.step("local address closed", fresh::getLocalAddress);
        t.step("option closed", () -> fresh.getOption(StandardSocketOptions.TCP_NODELAY));
        t.step("close again", () -> {
            fresh.close();
            return "ok";
        });
        t.step("socket closed", () -> fresh.socket().isClosed());

        ServerSocketChannel ss = p.openServerSocketChannel();
        t.step("server SO_REUSEADDR default", () -> ss.getOption(StandardSocketOptions.SO_REUSEADDR));
        t.step("accept unbound", ss::accept);
        t.step("server socket toString unbound", () -> ss.socket().toString());
        ss.bind(ANY_LOOPBACK, 5);
        InetSocketAddress at = (InetSocketAddress) ss.getLocalAddress();
        t.step("server socket toString", () -> ss.socket().toString());
        t.step("server bind again", () -> ss.bind(ANY_LOOPBACK));
        ServerSocketChannel second = p.openServerSocketChannel();
        t.step("second listener on the same port", () -> second.bind(at));
        second.close();
        ss.configureBlocking(false);
        t.step("non-blocking accept, none waiting", ss::accept);
        t.step("register OP_READ on a server channel", () -> ss.register(sel, SelectionKey.OP_READ));
        SelectionKey ak = ss.register(sel, SelectionKey.OP_ACCEPT);
        t.step("configureBlocking(true) while registered", () -> ss.configureBlocking(true));
        t.step("selectNow, none waiting", sel::selectNow);

        SocketChannel c = p.openSocketChannel();
        t.step("connect", () -> c.connect(at));
        t.step("select for the accept", () -> sel.select(5000));
        t.step("  acceptable", ak::isAcceptable);
        SocketChannel s = ss.accept();
        t.step("  accepted is blocking", s::isBlocking);
        t.step("  selectNow again, still ready", sel::selectNow);
        t.step("  selected keys", () -> sel.selectedKeys().size());
        t.step("  add to selected keys", () -> sel.selectedKeys().add(ak));
        t.step("  remove from keys", () -> sel.keys().remove(ak));
        sel.selectedKeys().clear();
        t.step("  selectNow after clear", sel::selectNow);
        t.step("socket toString", () -> c.socket().toString());
        t.step("socket timeout default", () -> c.socket().getSoTimeout());
        t.step("scatter write", () -> c.write(new ByteBuffer[] {ByteBuffer.wrap("ab".getBytes()), ByteBuffer.wrap("cd".getBytes())}));
        c.shutdownOutput();
        t.step("write after shutdownOutput", () -> c.write(ByteBuffer.allocate(1)));
        t.step("output stream after shutdownOutput", () -> c.socket().getOutputStream());
        t.step("peer reads", () -> {
            ByteBuffer b = ByteBuffer.allocate(10);
            while (b.position() < 4) {
                s.read(b);
            }
            return new String(b.array(), 0, b.position());
        });
        t.step("peer reads the end", () -> s.read(ByteBuffer.allocate(10)));
        t.step("peer reads the end again", () -> s.read(ByteBuffer.allocate(10)));
        t.step("peer writes", () -> s.write(ByteBuffer.wrap("x".getBytes())));
        t.step("read with no room", () -> c.read(ByteBuffer.allocate(0)));
        t.step("read the answer", () -> c.read(ByteBuffer.allocate(10)));
        s.socket().setSoTimeout(100);
        InputStream in = c.socket().getInputStream();
        c.socket().setSoTimeout(100);
        t.step("stream read times out", in::read);
        t.step("  still connected", c::isConnected);
        c.shutdownInput();
        t.step("read after shutdownInput", () -> c.read(ByteBuffer.allocate(10)));
        t.step("input stream after shutdownInput", () -> c.socket().getInputStream());
        c.configureBlocking(false);
        t.step("stream write on a non-blocking channel", () -> {
            c.socket().getOutputStream().write(1);
            return "written";
        });
        s.close();
        c.close();
        t.step("input stream after close", () -> c.socket().getInputStream());
        ak.cancel();
        t.step("interestOps of a cancelled key", ak::interestOps);
        t.step("register again before the next select", () -> ss.register(sel, SelectionKey.OP_ACCEPT));
        t.step("selectNow", sel::selectNow);
        t.step("register again after it", () -> ss.register(sel, SelectionKey.OP_ACCEPT).isValid());
        t.step("wakeup then selectNow", () -> sel.wakeup().selectNow());
        t.step("wakeup twice then select()", () -> {
            sel.wakeup();
            sel.wakeup();
            return sel.select();
        });
        t.step("select(30) after that", () -> sel.select(30));
        t.step("negative select timeout", () -> sel.select(-1));
        sel.close();
        t.step("selectedKeys of a closed selector", sel::selectedKeys);
        t.step("select on a closed selector", sel::selectNow);
        t.step("key valid after selector close", () -> ss.keyFor(sel));
        t.step("register with a closed selector", () -> p.openSocketChannel().configureBlocking(false).register(sel, 0));
        ss.close();

        DatagramChannel d = p.openDatagramChannel();
        t.step("datagram local address unbound", d::getLocalAddress);
        t.step("datagram SO_BROADCAST default", () -> d.getOption(StandardSocketOptions.SO_BROADCAST));
        t.step("datagram read unconnected", () -> d.read(ByteBuffer.allocate(1)));
        d.configureBlocking(false);
        t.step("datagram receive, none", () -> d.receive(ByteBuffer.allocate(10)));
        t.step("  bound by it", () -> d.getLocalAddress() != null);
        DatagramChannel e = p.openDatagramChannel().bind(ANY_LOOPBACK);
        InetSocketAddress ea = (InetSocketAddress) e.getLocalAddress();
        t.step("datagram bind again", () -> e.bind(ANY_LOOPBACK));
        t.step("datagram send", () -> d.send(ByteBuffer.wrap("hello".getBytes()), ea));
        t.step("datagram receive into 3 bytes", () -> {
            ByteBuffer b = ByteBuffer.allocate(3);
            e.receive(b);
            return new String(b.array());
        });
        e.connect((InetSocketAddress) d.getLocalAddress());
        t.step("connected send elsewhere", () -> e.send(ByteBuffer.allocate(1), ea));
        t.step("connected write", () -> e.write(ByteBuffer.wrap("yo".getBytes())));
        t.step("connected remote", () -> e.getRemoteAddress().equals(d.getLocalAddress()));
        t.step("disconnect", () -> e.disconnect().isConnected());
        t.step("  same port", () -> ((InetSocketAddress) e.getLocalAddress()).getPort() == ea.getPort());
        t.step("datagram socket toString style", () -> e.socket().getLocalPort() == ea.getPort());
        d.close();
        e.close();
        return t.text.toString();
    }

    @Test
    void theTranscriptsOfTheJdkAndOfJrumpAreTheSame() throws Exception {
        String jdk = run(SelectorProvider.provider());
        String ours = run(jrump);
        String[] a = jdk.split("\n");
        String[] b = ours.split("\n");
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            assertEquals(a[i], b[i], "step " + (i + 1) + "\nJDK:\n" + jdk + "\njrump:\n" + ours);
        }
        assertEquals(a.length, b.length);
    }
}
