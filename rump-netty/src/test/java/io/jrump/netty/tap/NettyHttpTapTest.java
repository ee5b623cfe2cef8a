package io.jrump.netty.tap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.host.linux.LinuxHost;
import io.jrump.hypercall.NicOptions;
import io.jrump.net.Ipv4Address;
import io.jrump.net.stack.NetStack;
import io.jrump.netty.RumpEventLoopGroup;
import io.jrump.netty.RumpServerSocketChannel;
import io.jrump.netty.RumpSocketChannel;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.stream.ChunkedInput;
import io.netty.handler.stream.ChunkedWriteHandler;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Netty's HTTP codec (netty-codec-http) on a jrump stack over a Linux TAP device, against real
 * tools: curl fetching 256 MiB byte-exact and 100 small requests at once from a Netty HTTP server,
 * and a Netty HTTP client fetching a file from {@code python3 -m http.server}. The Linux side lives
 * in a network namespace the test creates (198.18.0.1/24; ours 198.18.0.2/24) and deletes; nothing
 * talks to any other address. Needs root, ip, curl, xargs and python3: a missing one fails the test.
 */
@Tag("root")
@EnabledIfSystemProperty(named = "user.name", matches = "root",
        disabledReason = "needs root (TAP devices and network namespaces); ./run-tests, as root, runs it")
class NettyHttpTapTest {
    private static final String LINUX = "198.18.0.1";
    private static final String OURS = "198.18.0.2";
    private static final long BIG = 256L << 20;

    @TempDir
    Path tmp;
    private String ns;
    private String tap;
    private RumpEventLoopGroup group;
    private final List<Process> processes = new ArrayList<>();

    @BeforeEach
    void namespaceAndStack() throws Exception {
        String id = Long.toHexString(ProcessHandle.current().pid() ^ System.nanoTime()).substring(0, 6);
        ns = "jrnty-" + id;
        tap = "jrn" + id;
        run("ip", "netns", "add", ns);
        run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
        group = new RumpEventLoopGroup("netty-tap");
        NetStack stack = group.boot(LinuxHost.create("netty-tap"), "netty-tap");
        stack.addInterface(LinuxHost.TAP_PREFIX + tap, NicOptions.mtu(1500));
        stack.addAddress(LinuxHost.TAP_PREFIX + tap, Ipv4Address.parse(OURS), 24);
        run("ip", "link", "set", tap, "netns", ns);
        inNs("ip", "addr", "add", LINUX + "/24", "dev", tap);
        inNs("ip", "link", "set", tap, "up");
    }

    @AfterEach
    void cleanUp() {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        if (group != null) {
            group.close();
        }
        tryRun("ip", "link", "del", tap);
        tryRun("ip", "netns", "del", ns);
    }

    /** The byte at {@code i} of the big body: a pattern both ends can compute. */
    private static byte patternAt(long i) {
        return (byte) (i * 31 + (i >>> 13));
    }

    private static String bigSha256() throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] chunk = new byte[1 << 16];
        for (long off = 0; off < BIG; off += chunk.length) {
            for (int k = 0; k < chunk.length; k++) {
                chunk[k] = patternAt(off + k);
            }
            md.update(chunk);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The big body, generated as it is sent. */
    private static final class Pattern implements ChunkedInput<ByteBuf> {
        private long offset;

        @Override
        public boolean isEndOfInput() {
            return offset >= BIG;
        }

        @Override
        public void close() {
        }

        @Override
        @Deprecated
        public ByteBuf readChunk(ChannelHandlerContext ctx) {
            return readChunk(ctx.alloc());
        }

        @Override
        public ByteBuf readChunk(ByteBufAllocator allocator) {
            if (isEndOfInput()) {
                return null;
            }
            int n = (int) Math.min(1 << 16, BIG - offset);
            ByteBuf b = allocator.buffer(n);
            for (int k = 0; k < n; k++) {
                b.writeByte(patternAt(offset + k));
            }
            offset += n;
            return b;
        }

        @Override
        public long length() {
            return BIG;
        }

        @Override
        public long progress() {
            return offset;
        }
    }

    private Channel httpServer() throws InterruptedException {
        return new ServerBootstrap().group(group).channel(RumpServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new ChunkedWriteHandler(),
                                new SimpleChannelInboundHandler<HttpObject>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
                                        if (!(msg instanceof HttpRequest req)) {
                                            return;
                                        }
                                        boolean keepAlive = HttpUtil.isKeepAlive(req);
                                        if (req.uri().equals("/big")) {
                                            HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                                            HttpUtil.setContentLength(r, BIG);
                                            ctx.write(r);
                                            ctx.write(new Pattern());
                                            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT)
                                                    .addListener(keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE
                                                            : ChannelFutureListener.CLOSE);
                                            return;
                                        }
                                        byte[] body = ("hello from jrump " + req.uri() + "\n").getBytes(StandardCharsets.UTF_8);
                                        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                                                HttpResponseStatus.OK, ctx.alloc().buffer().writeBytes(body));
                                        HttpUtil.setContentLength(r, body.length);
                                        ctx.writeAndFlush(r).addListener(keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE
                                                : ChannelFutureListener.CLOSE);
                                    }
                                });
                    }
                }).bind(OURS, 8080).sync().channel();
    }

    @Test
    @Timeout(300)
    void curlFetches256MiBByteExactFromANettyHttpServer() throws Exception {
        Channel server = httpServer();
        String expected = bigSha256();
        String got = inNs("bash", "-c", "curl -sS --fail http://" + OURS + ":8080/big | sha256sum").split(" ")[0];
        assertEquals(expected, got, "SHA-256 of the 256 MiB body curl received");
        server.close().sync();
    }

    @Test
    @Timeout(120)
    void curlMakes100ParallelSmallRequests() throws Exception {
        Channel server = httpServer();
        String codes = inNs("bash", "-c", "seq 1 100 | xargs -P 100 -I{} curl -sS -o /dev/null -w '%{http_code}\\n' "
                + "http://" + OURS + ":8080/small/{}");
        long ok = codes.lines().filter("200"::equals).count();
        assertEquals(100, ok, "HTTP 200 answers of 100: " + codes);
        String one = inNs("curl", "-sS", "http://" + OURS + ":8080/small/42");
        assertEquals("hello from jrump /small/42", one); // run() strips the final newline
        server.close().sync();
    }

    @Test
    @Timeout(120)
    void aNettyHttpClientFetchesFromPythonsHttpServer() throws Exception {
        byte[] file = new byte[8 << 20];
        new Random(14).nextBytes(file);
        Files.write(tmp.resolve("f"), file);
        Process http = new ProcessBuilder("ip", "netns", "exec", ns, "python3", "-m", "http.server", "8000",
                "--bind", LINUX, "--directory", tmp.toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("http.log").toFile()).start();
        processes.add(http);
        waitForPort();
        CompletableFuture<String> digest = new CompletableFuture<>();
        CompletableFuture<Integer> status = new CompletableFuture<>();
        Channel client = new Bootstrap().group(group).channel(RumpSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), new SimpleChannelInboundHandler<HttpObject>() {
                            private final MessageDigest md = sha256();
                            private long bytes;

                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
                                if (msg instanceof HttpResponse r) {
                                    status.complete(r.status().code());
                                }
                                if (msg instanceof HttpContent c) {
                                    ByteBuf b = c.content();
                                    bytes += b.readableBytes();
                                    byte[] a = new byte[b.readableBytes()];
                                    b.getBytes(b.readerIndex(), a);
                                    md.update(a);
                                }
                                if (msg instanceof LastHttpContent) {
                                    digest.complete(bytes + " " + HexFormat.of().formatHex(md.digest()));
                                    ctx.close();
                                }
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                digest.completeExceptionally(cause);
                                ctx.close();
                            }
                        });
                    }
                }).connect(LINUX, 8000).sync().channel();
        DefaultFullHttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/f");
        get.headers().set(HttpHeaderNames.HOST, LINUX + ":8000").set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        client.writeAndFlush(get);
        assertEquals(200, status.get(60, TimeUnit.SECONDS));
        assertEquals(file.length + " " + HexFormat.of().formatHex(sha256().digest(file)), digest.get(60, TimeUnit.SECONDS));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private void waitForPort() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            Process p = new ProcessBuilder("ip", "netns", "exec", ns, "python3", "-c",
                    "import socket; socket.create_connection(('" + LINUX + "', 8000), 1).close()")
                    .redirectErrorStream(true).start();
            if (p.waitFor() == 0) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("python3 -m http.server did not listen on " + LINUX + ":8000 in 20 s");
    }

    private String inNs(String... command) throws IOException, InterruptedException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        all.addAll(List.of(command));
        return run(all.toArray(String[]::new));
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed (" + p.exitValue() + "): " + out);
        }
        return out.strip();
    }

    private static void tryRun(String... command) {
        try {
            new ProcessBuilder(command).redirectErrorStream(true).start().waitFor();
        } catch (IOException | InterruptedException e) {
            // best effort: cleaning up
        }
    }
}
