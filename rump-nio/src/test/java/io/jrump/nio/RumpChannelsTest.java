package io.jrump.nio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.AlreadyBoundException;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.IllegalBlockingModeException;
import java.nio.channels.NoConnectionPendingException;
import java.nio.channels.NotYetConnectedException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The channels between two kernels on the JVM host's switch, against the JDK's documented behaviour. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RumpChannelsTest {
    private TwoStacks net;

    @BeforeEach
    void boot() throws Exception {
        net = new TwoStacks();
    }

    @AfterEach
    void shutDown() {
        net.close();
    }

    private ServerSocketChannel listen(int port) throws Exception {
        return net.server.openServerSocketChannel().bind(new InetSocketAddress(port));
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] readToEnd(SocketChannel c) throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        while (c.read(buf.clear()) >= 0) {
            out.write(buf.array(), 0, buf.position());
        }
        return out.toByteArray();
    }

    /** An echo server on its own thread: each accepted connection echoed to the end of its stream. */
    private CompletableFuture<Void> blockingEchoServer(ServerSocketChannel ss, int connections) {
        return CompletableFuture.runAsync(() -> {
            try {
                for (int i = 0; i < connections; i++) {
                    try (SocketChannel c = ss.accept()) {
                        ByteBuffer buf = ByteBuffer.allocate(32 * 1024);
                        while (c.read(buf.clear()) >= 0) {
                            buf.flip();
                            while (buf.hasRemaining()) {
                                c.write(buf);
                            }
                        }
                    }
                }
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    }

    @Test
    void blockingChannelsEchoAMegabyteByteExactWithHalfClose() throws Exception {
        try (ServerSocketChannel ss = listen(7)) {
            CompletableFuture<Void> server = blockingEchoServer(ss, 1);
            byte[] data = random(1 << 20, 1);
            try (SocketChannel c = net.client.openSocketChannel()) {
                assertTrue(c.connect(TwoStacks.server(7)));
                assertTrue(c.isConnected());
                assertEquals(TwoStacks.server(7), c.getRemoteAddress());
                assertEquals(TwoStacks.CLIENT_IP, ((InetSocketAddress) c.getLocalAddress()).getAddress().getHostAddress());
                CompletableFuture<byte[]> echoed = CompletableFuture.supplyAsync(() -> {
                    try {
                        return readToEnd(c);
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                assertEquals(data.length, c.write(ByteBuffer.wrap(data)));
                c.shutdownOutput();
                assertThrows(AsynchronousCloseException.class, () -> c.write(ByteBuffer.allocate(1))); // as the JDK
                assertArrayEquals(data, echoed.get(20, TimeUnit.SECONDS));
                assertEquals(-1, c.read(ByteBuffer.allocate(1)));
            }
            server.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aSelectorServesFiftyNonBlockingConnectionsAtOnce() throws Exception {
        int clients = 50;
        try (ServerSocketChannel ss = listen(7); Selector sel = net.server.openSelector()) {
            ss.configureBlocking(false);
            SelectionKey acceptKey = ss.register(sel, SelectionKey.OP_ACCEPT);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread loop = new Thread(() -> {
                try {
                    int closed = 0;
                    while (closed < clients) {
                        sel.select(1000);
                        for (var it = sel.selectedKeys().iterator(); it.hasNext(); ) {
                            SelectionKey k = it.next();
                            it.remove();
                            if (k == acceptKey) {
                                SocketChannel c;
                                while ((c = ss.accept()) != null) {
                                    c.configureBlocking(false);
                                    c.register(sel, SelectionKey.OP_READ, ByteBuffer.allocate(4096));
                                }
                            } else if (k.isReadable()) {
                                SocketChannel c = (SocketChannel) k.channel();
                                ByteBuffer b = (ByteBuffer) k.attachment();
                                int n = c.read(b);
                                if (n < 0) {
                                    c.close(); // cancels the key
                                    closed++;
                                    continue;
                                }
                                b.flip();
                                c.write(b); // small echoes: the send buffer takes them whole
                                assertFalse(b.hasRemaining());
                                b.clear();
                            }
                        }
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            }, "selector");
            loop.start();
            SocketChannel[] cs = new SocketChannel[clients];
            Selector csel = net.client.openSelector();
            for (int i = 0; i < clients; i++) {
                cs[i] = net.client.openSocketChannel();
                cs[i].configureBlocking(false);
                assertFalse(cs[i].connect(TwoStacks.server(7)));
                assertTrue(cs[i].isConnectionPending());
                cs[i].register(csel, SelectionKey.OP_CONNECT, i);
            }
            int connected = 0;
            while (connected < clients) {
                csel.select(5000);
                for (var it = csel.selectedKeys().iterator(); it.hasNext(); ) {
                    SelectionKey k = it.next();
                    it.remove();
                    assertTrue(k.isConnectable());
                    assertTrue(((SocketChannel) k.channel()).finishConnect());
                    k.interestOps(0);
                    connected++;
                }
            }
            for (int i = 0; i < clients; i++) {
                cs[i].configureBlocking(false);
                byte[] msg = ("hello from client " + i).getBytes();
                assertEquals(msg.length, cs[i].write(ByteBuffer.wrap(msg)));
            }
            for (int i = 0; i < clients; i++) {
                byte[] msg = ("hello from client " + i).getBytes();
                ByteBuffer got = ByteBuffer.allocate(msg.length);
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (got.hasRemaining() && System.nanoTime() < end) {
                    if (cs[i].read(got) == 0) {
                        Thread.sleep(1);
                    }
                }
                assertArrayEquals(msg, got.array(), "client " + i);
                cs[i].close();
            }
            csel.close();
            loop.join(10_000);
            assertNull(failure.get());
            assertFalse(loop.isAlive());
        }
    }

    @Test
    void connectingToAClosedPortIsAConnectExceptionAndClosesTheChannel() throws Exception {
        SocketChannel c = net.client.openSocketChannel();
        ConnectException e = assertThrows(ConnectException.class, () -> c.connect(TwoStacks.server(9)));
        assertEquals("Connection refused", e.getMessage());
        assertFalse(c.isOpen());

        SocketChannel nb = net.client.openSocketChannel();
        nb.configureBlocking(false);
        assertThrows(NoConnectionPendingException.class, nb::finishConnect);
        assertFalse(nb.connect(TwoStacks.server(9)));
        try (Selector sel = net.client.openSelector()) {
            SelectionKey k = nb.register(sel, SelectionKey.OP_CONNECT);
            assertEquals(1, sel.select(5000));
            assertTrue(k.isConnectable());
            assertThrows(ConnectException.class, nb::finishConnect);
            assertFalse(nb.isOpen());
        }
    }

    @Test
    void socketAdaptorsTimeOutWithSocketTimeoutException() throws Exception {
        try (ServerSocketChannel ss = listen(7)) {
            ServerSocket s = ss.socket();
            s.setSoTimeout(200);
            SocketTimeoutException e = assertThrows(SocketTimeoutException.class, s::accept);
            assertEquals("Accept timed out", e.getMessage());
            try (Socket client = net.client.openSocketChannel().socket()) {
                client.connect(TwoStacks.server(7), 5000);
                Socket accepted = s.accept();
                client.setSoTimeout(200);
                assertEquals(200, client.getSoTimeout());
                InputStream in = client.getInputStream();
                long t0 = System.nanoTime();
                assertThrows(SocketTimeoutException.class, in::read);
                assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(150));
                assertTrue(client.isConnected()); // still usable after a timeout
                OutputStream out = accepted.getOutputStream();
                out.write("late".getBytes());
                byte[] got = new byte[4];
                assertEquals(4, in.readNBytes(got, 0, 4));
                assertEquals("late", new String(got));
                assertEquals(TwoStacks.SERVER_IP, client.getInetAddress().getHostAddress());
                assertEquals(7, client.getPort());
                assertTrue(client.toString().startsWith("Socket[addr=/198.18.0.2,port=7,localport="), client.toString());
                accepted.close();
                assertEquals(-1, in.read());
            }
        }
    }

    @Test
    void scatteringReadsAndGatheringWritesKeepTheOrder() throws Exception {
        try (ServerSocketChannel ss = listen(7)) {
            CompletableFuture<Void> server = blockingEchoServer(ss, 1);
            try (SocketChannel c = net.client.openSocketChannel()) {
                c.connect(TwoStacks.server(7));
                ByteBuffer[] out = {ByteBuffer.wrap("abc".getBytes()), ByteBuffer.allocate(0),
                        ByteBuffer.wrap("defgh".getBytes()), ByteBuffer.wrap("ij".getBytes())};
                assertEquals(10, c.write(out));
                for (ByteBuffer b : out) {
                    assertFalse(b.hasRemaining());
                }
                c.shutdownOutput();
                ByteBuffer[] in = {ByteBuffer.allocate(4), ByteBuffer.allocate(4), ByteBuffer.allocate(4)};
                long total = 0;
                long n;
                while ((n = c.read(in)) > 0) {
                    total += n;
                }
                assertEquals(-1, n);
                assertEquals(10, total);
                assertEquals("abcd", new String(in[0].array()));
                assertEquals("efgh", new String(in[1].array()));
                assertEquals("ij", new String(in[2].array(), 0, in[2].position()));
            }
            server.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void datagramsGoBothWaysWithAddressesAndThroughTheAdaptor() throws Exception {
        try (DatagramChannel s = net.server.openDatagramChannel().bind(new InetSocketAddress(53));
             DatagramChannel c = net.client.openDatagramChannel()) {
            assertThrows(NotYetConnectedException.class, () -> c.write(ByteBuffer.allocate(1)));
            assertEquals(5, c.send(ByteBuffer.wrap("query".getBytes()), TwoStacks.server(53)));
            ByteBuffer buf = ByteBuffer.allocate(100);
            InetSocketAddress from = (InetSocketAddress) s.receive(buf);
            assertEquals(TwoStacks.CLIENT_IP, from.getAddress().getHostAddress());
            assertEquals(((InetSocketAddress) c.getLocalAddress()).getPort(), from.getPort());
            assertEquals("query", new String(buf.array(), 0, buf.position()));
            s.send(ByteBuffer.wrap("answer".getBytes()), from);
            c.connect(TwoStacks.server(53));
            assertTrue(c.isConnected());
            ByteBuffer got = ByteBuffer.allocate(100);
            assertEquals(6, c.read(got));
            s.configureBlocking(false);
            assertNull(s.receive(ByteBuffer.allocate(10)));
            java.net.DatagramSocket adaptor = c.socket();
            adaptor.send(new java.net.DatagramPacket("via adaptor".getBytes(), 11));
            s.configureBlocking(true);
            buf.clear();
            s.receive(buf);
            assertEquals("via adaptor", new String(buf.array(), 0, buf.position()));
            adaptor.setSoTimeout(100);
            assertThrows(SocketTimeoutException.class, () -> adaptor.receive(new java.net.DatagramPacket(new byte[10], 10)));
            c.disconnect();
            assertFalse(c.isConnected());
            assertEquals(from.getPort(), ((InetSocketAddress) c.getLocalAddress()).getPort());
        }
    }

    @Test
    void optionsRoundTripAsOnLinux() throws Exception {
        try (SocketChannel c = net.client.openSocketChannel(); ServerSocketChannel ss = net.server.openServerSocketChannel();
             DatagramChannel d = net.client.openDatagramChannel()) {
            c.setOption(StandardSocketOptions.TCP_NODELAY, true);
            assertTrue(c.getOption(StandardSocketOptions.TCP_NODELAY));
            c.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
            assertTrue(c.getOption(StandardSocketOptions.SO_KEEPALIVE));
            c.setOption(StandardSocketOptions.SO_SNDBUF, 65536);
            assertEquals(65536, c.getOption(StandardSocketOptions.SO_SNDBUF)); // the kernel doubles, the JDK halves back
            c.setOption(StandardSocketOptions.SO_RCVBUF, 65536);
            assertEquals(65536, c.getOption(StandardSocketOptions.SO_RCVBUF));
            assertEquals(-1, c.getOption(StandardSocketOptions.SO_LINGER));
            c.setOption(StandardSocketOptions.SO_LINGER, 5);
            assertEquals(5, c.getOption(StandardSocketOptions.SO_LINGER));
            c.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            assertTrue(c.getOption(StandardSocketOptions.SO_REUSEADDR));
            c.setOption(StandardSocketOptions.IP_TOS, 0x10);
            assertEquals(0x10, c.getOption(StandardSocketOptions.IP_TOS));
            assertThrows(IllegalArgumentException.class, () -> c.setOption(StandardSocketOptions.SO_SNDBUF, -1));
            assertThrows(UnsupportedOperationException.class, () -> c.getOption(StandardSocketOptions.SO_BROADCAST));
            assertTrue(ss.getOption(StandardSocketOptions.SO_REUSEADDR)); // on by default, as the JDK on Linux
            d.setOption(StandardSocketOptions.SO_BROADCAST, true);
            assertTrue(d.getOption(StandardSocketOptions.SO_BROADCAST));
            Socket s = c.socket();
            s.setTcpNoDelay(false);
            assertFalse(s.getTcpNoDelay());
            s.setSoLinger(false, 0);
            assertEquals(-1, s.getSoLinger());
            c.close();
            assertThrows(ClosedChannelException.class, () -> c.getOption(StandardSocketOptions.TCP_NODELAY));
        }
    }

    @Test
    void bindingTwiceOrToATakenPortFails() throws Exception {
        try (ServerSocketChannel a = listen(80); ServerSocketChannel b = net.server.openServerSocketChannel()) {
            assertThrows(AlreadyBoundException.class, () -> a.bind(new InetSocketAddress(81)));
            b.setOption(StandardSocketOptions.SO_REUSEADDR, false);
            BindException e = assertThrows(BindException.class, () -> b.bind(new InetSocketAddress(80)));
            assertEquals("Address already in use", e.getMessage());
            assertThrows(BindException.class, () -> net.server.openServerSocketChannel()
                    .bind(new InetSocketAddress("198.18.0.77", 80)));
        }
    }

    private static Thread blockedReader(SocketChannel c, AtomicReference<Throwable> got) {
        Thread t = new Thread(() -> {
            try {
                c.read(ByteBuffer.allocate(10));
            } catch (Throwable e) {
                got.set(e);
            }
        }, "reader");
        t.start();
        return t;
    }

    private static void awaitBlocked(Thread t) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        Thread.sleep(50);
    }

    @Test
    void closingAChannelUnderABlockedReadIsAsynchronousCloseException() throws Exception {
        try (ServerSocketChannel ss = listen(7); SocketChannel c = net.client.openSocketChannel()) {
            c.connect(TwoStacks.server(7));
            SocketChannel accepted = ss.accept();
            AtomicReference<Throwable> got = new AtomicReference<>();
            Thread t = blockedReader(c, got);
            awaitBlocked(t);
            c.close();
            t.join(5000);
            assertFalse(t.isAlive());
            assertSame(AsynchronousCloseException.class, got.get().getClass());
            accepted.close();
        }
    }

    @Test
    void interruptingABlockedReadClosesTheChannelWithClosedByInterruptException() throws Exception {
        try (ServerSocketChannel ss = listen(7); SocketChannel c = net.client.openSocketChannel()) {
            c.connect(TwoStacks.server(7));
            ss.accept();
            AtomicReference<Throwable> got = new AtomicReference<>();
            AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    c.read(ByteBuffer.allocate(10));
                } catch (Throwable e) {
                    got.set(e);
                    stillInterrupted.set(Thread.currentThread().isInterrupted());
                }
            });
            t.start();
            awaitBlocked(t);
            t.interrupt();
            t.join(5000);
            assertInstanceOf(ClosedByInterruptException.class, got.get());
            assertTrue(stillInterrupted.get());
            assertFalse(c.isOpen());
        }
    }

    @Test
    void wakeupBeforeSelectMakesTheNextSelectReturnAndSelectNowClearsIt() throws Exception {
        try (Selector sel = net.client.openSelector()) {
            sel.wakeup();
            sel.wakeup();
            long t0 = System.nanoTime();
            assertEquals(0, sel.select());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(2));
            t0 = System.nanoTime();
            assertEquals(0, sel.select(200)); // the wakeup was used up
            assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(150));
            sel.wakeup();
            assertEquals(0, sel.selectNow());
            t0 = System.nanoTime();
            assertEquals(0, sel.select(200));
            assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(150));
            CompletableFuture<Integer> blocked = CompletableFuture.supplyAsync(() -> {
                try {
                    return sel.select();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(100);
            assertFalse(blocked.isDone());
            sel.wakeup();
            assertEquals(0, blocked.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void anInterruptedSelectReturnsWithTheInterruptStatusKept() throws Exception {
        try (Selector sel = net.client.openSelector()) {
            AtomicReference<Boolean> interrupted = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    sel.select();
                    interrupted.set(Thread.currentThread().isInterrupted());
                } catch (Exception e) {
                    interrupted.set(null);
                }
            });
            t.start();
            awaitBlocked(t);
            t.interrupt();
            t.join(5000);
            assertEquals(Boolean.TRUE, interrupted.get());
        }
    }

    @Test
    void cancelledKeysLeaveTheKeySetAtTheNextSelectionAndTheChannelMayRegisterAgain() throws Exception {
        try (ServerSocketChannel ss = listen(7); Selector sel = net.server.openSelector()) {
            ss.configureBlocking(false);
            SelectionKey k = ss.register(sel, SelectionKey.OP_ACCEPT, "first");
            assertEquals(1, sel.keys().size());
            assertThrows(UnsupportedOperationException.class, () -> sel.keys().clear());
            assertThrows(UnsupportedOperationException.class, () -> sel.selectedKeys().add(k));
            assertThrows(IllegalBlockingModeException.class, () -> ss.configureBlocking(true));
            k.cancel();
            assertFalse(k.isValid());
            assertTrue(sel.keys().contains(k));
            assertEquals(0, sel.selectNow());
            assertTrue(sel.keys().isEmpty());
            assertNull(ss.keyFor(sel));
            ss.configureBlocking(true); // no valid key any more
            ss.configureBlocking(false);
            SelectionKey again = ss.register(sel, SelectionKey.OP_ACCEPT, "second");
            assertTrue(again != k);
            net.client.openSocketChannel().connect(TwoStacks.server(7));
            assertEquals(1, sel.select(5000));
            assertTrue(sel.selectedKeys().contains(again));
            assertTrue(again.isAcceptable());
            assertEquals("second", again.attachment());
            // Still ready and still selected: the next select adds nothing new.
            assertEquals(0, sel.selectNow());
            sel.close();
            assertFalse(again.isValid());
        }
    }

    @Test
    void readsBeforeConnectAndAfterCloseFailAsTheJdkSays() throws Exception {
        SocketChannel c = net.client.openSocketChannel();
        assertThrows(NotYetConnectedException.class, () -> c.read(ByteBuffer.allocate(1)));
        assertThrows(NotYetConnectedException.class, c::shutdownOutput);
        assertNull(c.getRemoteAddress());
        c.close();
        assertThrows(ClosedChannelException.class, () -> c.read(ByteBuffer.allocate(1)));
        assertThrows(ClosedChannelException.class, () -> c.connect(TwoStacks.server(7)));
        assertTrue(Arrays.asList(c.socket().isClosed()).contains(true));
    }

    @Test
    void closingAListenerUnderABlockedAcceptIsAsynchronousCloseException() throws Exception {
        ServerSocketChannel ss = listen(7);
        AtomicReference<Throwable> got = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                ss.accept();
            } catch (Throwable e) {
                got.set(e);
            }
        });
        t.start();
        awaitBlocked(t);
        ss.close();
        t.join(5000);
        assertSame(AsynchronousCloseException.class, got.get().getClass());
    }

    @Test
    void aThreadInterruptedBeforeItReadsGetsClosedByInterruptException() throws Exception {
        try (ServerSocketChannel ss = listen(7); SocketChannel c = net.client.openSocketChannel()) {
            c.connect(TwoStacks.server(7));
            ss.accept();
            Thread.currentThread().interrupt();
            try {
                assertThrows(ClosedByInterruptException.class, () -> c.read(ByteBuffer.allocate(1)));
                assertTrue(Thread.currentThread().isInterrupted());
                assertFalse(c.isOpen());
            } finally {
                Thread.interrupted();
            }
        }
    }

    @Test
    void closingADatagramChannelUnderABlockedReceiveIsAsynchronousCloseException() throws Exception {
        DatagramChannel d = net.client.openDatagramChannel().bind(new InetSocketAddress(5353));
        AtomicReference<Throwable> got = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                d.receive(ByteBuffer.allocate(10));
            } catch (Throwable e) {
                got.set(e);
            }
        });
        t.start();
        awaitBlocked(t);
        d.close();
        t.join(5000);
        assertSame(AsynchronousCloseException.class, got.get().getClass());
    }

    @Test
    void aConnectWithATimeoutToNobodyIsSocketTimeoutExceptionAndClosesTheSocket() throws Exception {
        Socket s = net.client.openSocketChannel().socket();
        long t0 = System.nanoTime();
        SocketTimeoutException e = assertThrows(SocketTimeoutException.class,
                () -> s.connect(new InetSocketAddress("198.18.0.99", 80), 300)); // no host answers ARP there
        assertEquals("Connect timed out", e.getMessage());
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(250));
        assertTrue(s.isClosed());
    }

    @Test
    void theSelectFormsThatTakeAnActionSeeEachReadyKeyOnce() throws Exception {
        try (ServerSocketChannel ss = listen(7); Selector sel = net.server.openSelector()) {
            ss.configureBlocking(false);
            SelectionKey k = ss.register(sel, SelectionKey.OP_ACCEPT);
            net.client.openSocketChannel().connect(TwoStacks.server(7));
            java.util.List<SelectionKey> seen = new java.util.ArrayList<>();
            assertEquals(1, sel.select(seen::add, 5000));
            assertEquals(java.util.List.of(k), seen);
            assertTrue(sel.selectedKeys().isEmpty());
            assertEquals(1, sel.selectNow(key -> assertTrue(key.isAcceptable())));
        }
    }

    @Test
    void afterTheKernelShutsDownCallsSayNetworkIsDownAndCloseStillWorks() throws Exception {
        SocketChannel c = net.client.openSocketChannel();
        net.clientKernel.close();
        java.net.SocketException e = assertThrows(java.net.SocketException.class,
                () -> c.getOption(StandardSocketOptions.TCP_NODELAY));
        assertEquals("Network is down", e.getMessage());
        assertThrows(java.net.SocketException.class, net.client::openSocketChannel);
        assertThrows(java.net.SocketException.class, () -> c.connect(TwoStacks.server(7)));
        assertFalse(c.isOpen()); // a failed connect closes the channel, as the JDK's
        c.close();
        assertFalse(c.isOpen());
    }
}
