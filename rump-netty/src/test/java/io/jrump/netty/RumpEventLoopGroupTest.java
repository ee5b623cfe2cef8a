package io.jrump.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.jvm.JvmHost;
import io.jrump.hypercall.NicOptions;
import io.jrump.kernel.RumpKernel;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The group as the kernel's event loop, and the channels on it, beyond what Netty's testsuite checks. */
class RumpEventLoopGroupTest {
    private final RumpEventLoopGroup group = new RumpEventLoopGroup("group-test");

    @AfterEach
    void close() {
        group.close();
    }

    @Test
    void theKernelsTasksAndTimersRunOnTheNettyLoop() throws Exception {
        group.boot(JvmHost.create("t"), "t");
        RumpKernel kernel = group.kernels().get(0);
        CompletableFuture<Boolean> task = new CompletableFuture<>();
        CompletableFuture<Boolean> timer = new CompletableFuture<>();
        kernel.host().scheduler().execute(() -> task.complete(group.next().inEventLoop()));
        kernel.host().scheduler().executeAt(kernel.host().clock().monotonicNanos() + 1_000_000,
                () -> timer.complete(group.next().inEventLoop()));
        assertTrue(task.get(5, TimeUnit.SECONDS), "a kernel task runs on the group's loop");
        assertTrue(timer.get(5, TimeUnit.SECONDS), "a kernel timer runs on the group's loop");
    }

    @Test
    void aChannelOnAnotherLoopFailsToRegister() throws Exception {
        group.boot(JvmHost.create("t"), "t");
        DefaultEventLoopGroup other = new DefaultEventLoopGroup(1);
        try {
            ChannelFuture f = other.register(new RumpSocketChannel()).await();
            assertFalse(f.isSuccess(), "a Rump channel registers only with the loop of its stack");
        } finally {
            other.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    @Test
    void twoStacksOnOneLoopTalkOverALoopWireWithBackpressure() throws Exception {
        NetStack a = group.boot(JvmHost.create("a"), "a");
        NetStack b = group.boot(JvmHost.create("b"), "b");
        assertSame(a, group.stack());
        a.addInterface("loop:w", NicOptions.mtu(1500));
        b.addInterface("loop:w", NicOptions.mtu(1500));
        a.addAddress("loop:w", Ipv4Address.parse("198.18.0.1"), 24);
        b.addAddress("loop:w", Ipv4Address.parse("198.18.0.2"), 24);
        long total = 8L << 20;
        AtomicLong got = new AtomicLong();
        CompletableFuture<Long> done = new CompletableFuture<>();
        Channel server = new ServerBootstrap().group(group).channel(RumpServerSocketChannel.class)
                .option(RumpChannelOption.STACK, b)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ByteBuf buf = (ByteBuf) msg;
                        for (int i = buf.readerIndex(); i < buf.writerIndex(); i++) {
                            if (buf.getByte(i) != (byte) (got.get() + i - buf.readerIndex())) {
                                done.completeExceptionally(new AssertionError("wrong byte at " + got.get()));
                            }
                        }
                        if (got.addAndGet(buf.readableBytes()) == total) {
                            done.complete(total);
                        }
                        buf.release();
                    }
                }).bind("198.18.0.2", 9000).sync().channel();
        CompletableFuture<Boolean> sawUnwritable = new CompletableFuture<>();
        Channel client = new Bootstrap().group(group).channel(RumpSocketChannel.class)
                .option(RumpChannelOption.STACK, a)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 64 * 1024))
                .handler(new ChannelInboundHandlerAdapter() {
                    long sent;

                    @Override
                    public void channelActive(ChannelHandlerContext ctx) {
                        pump(ctx);
                    }

                    @Override
                    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                        if (!ctx.channel().isWritable()) {
                            sawUnwritable.complete(true);
                        }
                        pump(ctx);
                    }

                    private void pump(ChannelHandlerContext ctx) {
                        while (sent < total && ctx.channel().isWritable()) {
                            byte[] chunk = new byte[16 * 1024];
                            for (int i = 0; i < chunk.length; i++) {
                                chunk[i] = (byte) (sent + i);
                            }
                            sent += chunk.length;
                            ctx.write(Unpooled.wrappedBuffer(chunk));
                        }
                        ctx.flush();
                    }
                }).connect("198.18.0.2", 9000).sync().channel();
        assertEquals(total, done.get(60, TimeUnit.SECONDS));
        assertTrue(sawUnwritable.isDone(), "the channel turned unwritable while the stack's send buffer was full");
        assertEquals(a, ((RumpSocketChannel) client).stack);
        client.close().sync();
        server.close().sync();
    }

    @Test
    void bootingFromTheLoopItselfIsRefused() throws Exception {
        CompletableFuture<Throwable> failure = new CompletableFuture<>();
        group.next().execute(() -> {
            try {
                group.boot(JvmHost.create("x"), "x");
                failure.complete(null);
            } catch (Exception e) {
                failure.complete(e);
            }
        });
        Throwable t = failure.get(5, TimeUnit.SECONDS);
        assertTrue(t instanceof io.jrump.hypercall.ErrnoException, String.valueOf(t));
    }
}
