package io.jrump.cli;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.Ipv4Address;
import io.jrump.net.dhcp.DhcpLease;
import io.jrump.net.dns.DnsConfig;
import io.jrump.net.dns.DnsResolver;
import io.jrump.net.dns.DnsServer;
import io.jrump.net.stack.Sockets;
import io.jrump.net.stack.Sockets.SocketAddress;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The network commands that put our stack on a Linux TAP device and talk to the Linux kernel's
 * own TCP/IP: {@code serve} (HTTP/1.1 from a directory), {@code fetch} (HTTP/1.1 GET),
 * {@code send} and {@code sink} (bulk TCP, with throughput), {@code resolve} (a DNS lookup).
 */
final class TapCommands {
    private static final int CHUNK = 256 * 1024;
    /**
     * How long a close waits for the peer to acknowledge what is still in flight. Our kernel lives
     * only as long as the command: without this, a command that exits right after its last close
     * takes unacknowledged data (and its retransmissions) down with it, as serve once did to the
     * tail of a response.
     */
    static final int LINGER_SECONDS = 10;

    private TapCommands() {
    }

    /** SO_LINGER, so that close blocks until the peer has acknowledged everything, FIN included. */
    private static void lingerOnClose(Sockets s, int fd) throws ErrnoException {
        s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_LINGER, LINGER_SECONDS);
    }

    private static void sendAll(Sockets s, int fd, ByteBuffer b) throws ErrnoException {
        while (b.hasRemaining()) {
            s.send(fd, b, 0);
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = "Serve a directory over HTTP/1.1 from our stack on a TAP device, until stopped (answers ping too).")
    static final class Serve implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TapKernel.Options tap;

        @Option(names = "--http", required = true, paramLabel = "DIR", description = "The directory to serve.")
        Path dir;

        @Option(names = "--port", defaultValue = "8080", description = "TCP port (default: ${DEFAULT-VALUE}).")
        int port;

        @Option(names = "--requests", paramLabel = "N", description = "Stop after N requests (default: serve until killed).")
        Long requests;

        @Override
        public Integer call() throws Exception {
            CommandLine cl = spec.commandLine();
            tap.validate(cl);
            if (!Files.isDirectory(dir)) {
                throw new ParameterException(cl, "--http: " + dir + " is not a directory");
            }
            NetOptions.checkRange(cl, "--port", port, 1, 65535);
            Path root = dir.toRealPath();
            PrintWriter out = cl.getOut();
            try (TapKernel k = TapKernel.boot(tap, cl.getErr())) {
                Sockets s = k.sockets();
                int listener = s.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
                s.setsockopt(listener, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, 1);
                s.bind(listener, new SocketAddress(Ipv4Address.ANY, port));
                s.listen(listener, 128);
                out.printf("rump net serve: http://%s:%d/ serves %s on %s%n", k.address(), port, root, tap.tap);
                out.flush();
                List<Thread> handlers = new ArrayList<>();
                for (long n = 0; requests == null || n < requests; n++) {
                    int fd = s.accept(listener);
                    // A response's head and body go out in a few large writes: Nagle would only hold back
                    // the last partial segment for a delayed ACK's round trip.
                    s.setsockopt(fd, Sockets.IPPROTO_TCP, Sockets.TCP_NODELAY, 1);
                    lingerOnClose(s, fd);
                    Thread t = new Thread(() -> handle(s, fd, root), "rump-http-" + fd);
                    t.setDaemon(true);
                    t.start();
                    handlers.removeIf(h -> !h.isAlive());
                    handlers.add(t);
                }
                s.close(listener);
                for (Thread t : handlers) {
                    t.join(); // every response out before the kernel goes down with its connections
                }
            }
            return 0;
        }

        /** One connection: one request, one response, then close (HTTP/1.1 with Connection: close). */
        private static void handle(Sockets s, int fd, Path root) {
            try {
                try {
                    respond(s, fd, root);
                } finally {
                    s.close(fd);
                }
            } catch (IOException e) {
                System.err.println("rump net serve: connection " + fd + ": " + e.getMessage());
            }
        }

        private static void respond(Sockets s, int fd, Path root) throws IOException {
            byte[] head = new byte[Http.MAX_HEAD];
            Http.Request req;
            try {
                int end = Http.readRequestHead(s, fd, head, new int[1]);
                if (end < 0) {
                    return; // the client went away before asking
                }
                req = Http.parseRequest(head, end);
            } catch (Http.HttpException e) {
                error(s, fd, e.status, e.status == 431 ? "Request Header Fields Too Large"
                        : e.status == 501 ? "Not Implemented" : "Bad Request");
                return;
            }
            boolean headOnly = req.method().equals("HEAD");
            if (!headOnly && !req.method().equals("GET")) {
                error(s, fd, 405, "Method Not Allowed", "Allow: GET, HEAD");
                return;
            }
            Path file = resolve(root, req.target());
            if (file == null) {
                error(s, fd, 404, "Not Found");
                return;
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = ch.size();
                sendAll(s, fd, ByteBuffer.wrap(Http.responseHead(200, "OK", size, "Content-Type: application/octet-stream")));
                if (headOnly) {
                    return;
                }
                ByteBuffer chunk = ByteBuffer.allocate(CHUNK);
                long sent = 0;
                while (sent < size) {
                    chunk.clear();
                    int n = ch.read(chunk, sent);
                    if (n < 0) {
                        throw new IOException(file + " shrank while being sent");
                    }
                    chunk.flip();
                    sendAll(s, fd, chunk);
                    sent += n;
                }
            }
        }

        /**
         * The regular file {@code target} names under {@code root}, or null: the path is decoded,
         * must stay under the root after resolving symlinks, and a directory is not served.
         */
        static Path resolve(Path root, String target) {
            String path = target;
            int q = path.indexOf('?');
            if (q >= 0) {
                path = path.substring(0, q);
            }
            try {
                path = java.net.URLDecoder.decode(path.replace("+", "%2B"), StandardCharsets.UTF_8); // %xx only
            } catch (IllegalArgumentException e) {
                return null; // a malformed escape
            }
            if (path.indexOf('\0') >= 0) {
                return null;
            }
            Path p = root.resolve(path.replaceFirst("^/+", "")).normalize();
            if (!p.startsWith(root)) {
                return null;
            }
            try {
                Path real = p.toRealPath();
                return real.startsWith(root) && Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS) ? real : null;
            } catch (IOException e) {
                return null;
            }
        }

        private static void error(Sockets s, int fd, int status, String reason, String... extra) throws ErrnoException {
            byte[] body = (status + " " + reason + "\n").getBytes(StandardCharsets.US_ASCII);
            byte[] h = Http.responseHead(status, reason, body.length, extra);
            byte[] all = Arrays.copyOf(h, h.length + body.length);
            System.arraycopy(body, 0, all, h.length, body.length);
            sendAll(s, fd, ByteBuffer.wrap(all));
        }
    }

    /** An {@code http://A.B.C.D[:PORT]/path} URL, IPv4 literals only (our stack has no resolver). */
    /** A parsed {@code http://HOST[:PORT]/path}: {@code address} is null when HOST is a name to look up. */
    record Url(String host, Ipv4Address address, int port, String target, String hostHeader) {
        static Url parse(CommandLine cl, String text) {
            URI u;
            try {
                u = new URI(text);
            } catch (URISyntaxException e) {
                throw new ParameterException(cl, "not a URL: " + text);
            }
            if (!"http".equals(u.getScheme()) || u.getHost() == null) {
                throw new ParameterException(cl, "only http://HOST[:PORT]/path URLs: " + text);
            }
            String host = u.getHost();
            Ipv4Address a = null;
            if (host.matches("[0-9.]+")) {
                try {
                    a = Ipv4Address.parse(host);
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(cl, "not an IPv4 address: " + host);
                }
            } else if (host.startsWith("[")) {
                throw new ParameterException(cl, "IPv6 addresses are not supported by the stack yet: " + host);
            }
            int port = u.getPort() < 0 ? 80 : u.getPort();
            String path = u.getRawPath() == null || u.getRawPath().isEmpty() ? "/" : u.getRawPath();
            String target = u.getRawQuery() == null ? path : path + "?" + u.getRawQuery();
            return new Url(host, a, port, target, u.getPort() < 0 ? host : host + ":" + port);
        }
    }

    @Command(name = "fetch", mixinStandardHelpOptions = true,
            description = "Download a URL over HTTP/1.1 through our stack on a TAP device.")
    static final class Fetch implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TapKernel.Options tap;

        @Parameters(index = "0", paramLabel = "URL", description = "http://HOST[:PORT]/path; HOST an IPv4 address or a name.")
        String url;

        @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Where to write the body.")
        Path output;

        @Option(names = "--dns", paramLabel = "A.B.C.D[:PORT]",
                description = "The name server for a URL's name (default: the DHCP lease's, with --dhcp).")
        String dns;

        @Override
        public Integer call() throws Exception {
            CommandLine cl = spec.commandLine();
            tap.validate(cl);
            Url u = Url.parse(cl, url);
            DnsServer server = dns == null ? null : Resolve.serverOption(cl, dns);
            if (u.address() == null && server == null && !tap.dhcp) {
                throw new ParameterException(cl, "'" + u.host() + "' is a name: give --dns A.B.C.D or --dhcp (whose lease"
                        + " names the servers)");
            }
            PrintWriter out = cl.getOut();
            try (TapKernel k = TapKernel.boot(tap, cl.getErr());
                    FileChannel file = FileChannel.open(output, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                            StandardOpenOption.TRUNCATE_EXISTING)) {
                Ipv4Address address = u.address() != null ? u.address() : resolve(k, u.host(), server);
                Sockets s = k.sockets();
                int fd = s.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
                lingerOnClose(s, fd);
                long start = System.nanoTime();
                s.connect(fd, new SocketAddress(address, u.port()));
                sendAll(s, fd, ByteBuffer.wrap(("GET " + u.target() + " HTTP/1.1\r\nHost: " + u.hostHeader()
                        + "\r\nUser-Agent: rump\r\nAccept: */*\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII)));
                NetPair.Sha256Sink body = new NetPair.Sha256Sink() {
                    @Override
                    public void accept(ByteBuffer b) {
                        ByteBuffer copy = b.duplicate();
                        super.accept(b);
                        try {
                            while (copy.hasRemaining()) {
                                file.write(copy);
                            }
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e); // unwrapped below
                        }
                    }
                };
                Http.ResponseReader reader = new Http.ResponseReader(body);
                ByteBuffer buf = ByteBuffer.allocate(CHUNK);
                try {
                    while (true) {
                        buf.clear();
                        int n = s.recv(fd, buf, 0).length();
                        if (n == 0) {
                            reader.end();
                            break;
                        }
                        buf.flip();
                        reader.accept(buf);
                    }
                } catch (java.io.UncheckedIOException e) {
                    throw new IOException(output + ": " + e.getCause().getMessage(), e.getCause());
                }
                s.close(fd);
                long nanos = System.nanoTime() - start;
                Http.ResponseHead head = reader.response();
                out.printf("%s: HTTP/1.1 %d %s, %d bytes in %.3f s, %.3f Gbit/s%n", url, head.status(), head.reason(),
                        body.count, nanos / 1e9, NetPair.gbits(body.count, nanos));
                out.println("sha256 " + NetPair.hex(body.digest()));
                return head.status() / 100 == 2 ? 0 : 1;
            }
        }

        /** The name's first IPv4 address through our stack's resolver: from {@code server}, else the lease's servers. */
        private static Ipv4Address resolve(TapKernel k, String name, DnsServer server) throws ErrnoException {
            List<DnsServer> servers = new ArrayList<>();
            if (server != null) {
                servers.add(server);
            } else {
                DhcpLease lease = k.lease();
                for (Ipv4Address a : lease == null ? List.<Ipv4Address>of() : lease.dnsServers()) {
                    servers.add(new DnsServer(Resolve.inet(a), DnsServer.PORT));
                }
            }
            if (servers.isEmpty()) {
                throw new ErrnoException(Errno.EDESTADDRREQ, "'" + name + "': the DHCP lease names no DNS server; give --dns");
            }
            DnsResolver resolver = k.net.resolver(DnsConfig.of(servers).withTimeout(Resolve.TRY_TIMEOUT, Resolve.TRIES));
            for (InetAddress a : k.kernel.host().scheduler().await(resolver.resolve(name))) {
                if (a instanceof java.net.Inet4Address v4) {
                    byte[] b = v4.getAddress();
                    return Ipv4Address.of(b[0] & 0xff, b[1] & 0xff, b[2] & 0xff, b[3] & 0xff);
                }
            }
            throw new ErrnoException(Errno.ENODATA, "'" + name + "' has no IPv4 address (the stack has no IPv6 yet)");
        }
    }

    @Command(name = "resolve", mixinStandardHelpOptions = true,
            description = "Look up a name's A and AAAA records through our stack on a TAP device (DNS over UDP, TCP if truncated).")
    static final class Resolve implements Callable<Integer> {
        /** Per try; with three tries, a server that comes up a little after the TAP is still reached. */
        static final Duration TRY_TIMEOUT = Duration.ofSeconds(2);
        static final int TRIES = 3;

        @Spec
        CommandSpec spec;

        @Mixin
        TapKernel.Options tap;

        @Parameters(index = "0", paramLabel = "NAME", description = "The name to look up.")
        String name;

        @Option(names = "--server", required = true, paramLabel = "A.B.C.D[:PORT]",
                description = "The name server (port 53 by default).")
        String server;

        @Override
        public Integer call() throws Exception {
            CommandLine cl = spec.commandLine();
            tap.validate(cl);
            DnsServer ns = serverOption(cl, server);
            PrintWriter out = cl.getOut();
            try (TapKernel k = TapKernel.boot(tap, cl.getErr())) {
                DnsResolver resolver = k.net.resolver(DnsConfig.of(List.of(ns)).withTimeout(TRY_TIMEOUT, TRIES));
                List<InetAddress> addresses = k.kernel.host().scheduler().await(resolver.resolve(name));
                for (InetAddress a : addresses) {
                    out.printf("%s %s %s%n", name, a instanceof java.net.Inet4Address ? "A" : "AAAA", a.getHostAddress());
                }
            }
            return 0;
        }

        /** {@code A.B.C.D[:PORT]}: an IPv4 literal (no name to look up before there is a resolver). */
        static DnsServer serverOption(CommandLine cl, String text) {
            int colon = text.indexOf(':');
            String host = colon < 0 ? text : text.substring(0, colon);
            int port = DnsServer.PORT;
            if (colon >= 0) {
                try {
                    port = Integer.parseInt(text.substring(colon + 1));
                } catch (NumberFormatException e) {
                    throw new ParameterException(cl, "--server: port of " + text + " is not a number");
                }
                NetOptions.checkRange(cl, "--server port", port, 1, 65535);
            }
            Ipv4Address a;
            try {
                a = Ipv4Address.parse(host);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(cl, "--server: " + text + " is not A.B.C.D[:PORT]");
            }
            return new DnsServer(inet(a), port);
        }

        static InetAddress inet(Ipv4Address a) {
            int bits = a.bits();
            try {
                return InetAddress.getByAddress(new byte[] {(byte) (bits >>> 24), (byte) (bits >>> 16), (byte) (bits >>> 8),
                    (byte) bits});
            } catch (java.net.UnknownHostException e) {
                throw new AssertionError("four bytes are always an address", e);
            }
        }
    }

    @Command(name = "send", mixinStandardHelpOptions = true,
            description = "Bulk TCP from our stack on a TAP device to a Linux listener (socat, nc), printing throughput.")
    static final class Send implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TapKernel.Options tap;

        @Option(names = "--to", required = true, paramLabel = "A.B.C.D:PORT", description = "The peer.")
        String to;

        @Option(names = "--bytes", defaultValue = "1G", paramLabel = "SIZE", description = "How much (default: ${DEFAULT-VALUE}).")
        String bytes;

        @Override
        public Integer call() throws Exception {
            CommandLine cl = spec.commandLine();
            tap.validate(cl);
            long n = NetOptions.size(cl, "--bytes", bytes, 0, 1L << 50);
            int colon = to.lastIndexOf(':');
            SocketAddress peer;
            try {
                peer = new SocketAddress(Ipv4Address.parse(to.substring(0, Math.max(0, colon))),
                        Integer.parseInt(to.substring(colon + 1)));
            } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
                throw new ParameterException(cl, "--to must be A.B.C.D:PORT, not " + to);
            }
            PrintWriter out = cl.getOut();
            try (TapKernel k = TapKernel.boot(tap, cl.getErr())) {
                Sockets s = k.sockets();
                int fd = s.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
                lingerOnClose(s, fd);
                s.connect(fd, peer);
                NetPair.Pattern source = new NetPair.Pattern(1, n);
                long start = System.nanoTime();
                for (ByteBuffer c = source.next(CHUNK); c != null; c = source.next(CHUNK)) {
                    sendAll(s, fd, c);
                }
                s.shutdown(fd, Sockets.SHUT_WR);
                // Wait for the peer to close: then every byte was acknowledged and read.
                ByteBuffer rest = ByteBuffer.allocate(4096);
                while (s.recv(fd, rest.clear(), 0).length() > 0) {
                    // a sink sends nothing; anything it does send is ignored
                }
                long nanos = System.nanoTime() - start;
                s.close(fd);
                out.printf(Locale.ROOT, "sent %d bytes to %s in %.3f s: %.3f Gbit/s, %d retransmissions%n", n, peer,
                        nanos / 1e9, NetPair.gbits(n, nanos), k.net.stats().get("tcp.out.retransmitted"));
                return 0;
            }
        }
    }

    @Command(name = "sink", mixinStandardHelpOptions = true,
            description = "Accept one TCP connection on our stack on a TAP device and read it to the end, printing throughput.")
    static final class Sink implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TapKernel.Options tap;

        @Option(names = "--port", required = true, description = "TCP port to listen on.")
        int port;

        @Override
        public Integer call() throws Exception {
            CommandLine cl = spec.commandLine();
            tap.validate(cl);
            NetOptions.checkRange(cl, "--port", port, 1, 65535);
            PrintWriter out = cl.getOut();
            try (TapKernel k = TapKernel.boot(tap, cl.getErr())) {
                Sockets s = k.sockets();
                int listener = s.socket(Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
                s.bind(listener, new SocketAddress(Ipv4Address.ANY, port));
                s.listen(listener, 1);
                out.printf("rump net sink: listening on %s:%d%n", k.address(), port);
                out.flush();
                int fd = s.accept(listener);
                s.setsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_RCVLOWAT, 64 * 1024);
                lingerOnClose(s, fd);
                NetPair.Sha256Sink sink = new NetPair.Sha256Sink();
                ByteBuffer buf = ByteBuffer.allocate(1 << 20);
                long start = System.nanoTime();
                while (true) {
                    buf.clear();
                    int n = s.recv(fd, buf, 0).length();
                    if (n == 0) {
                        break;
                    }
                    buf.flip();
                    sink.accept(buf);
                }
                long nanos = System.nanoTime() - start;
                SocketAddress from = s.getpeername(fd);
                s.close(fd);
                s.close(listener);
                out.printf(Locale.ROOT, "received %d bytes from %s in %.3f s: %.3f Gbit/s%n", sink.count, from,
                        nanos / 1e9, NetPair.gbits(sink.count, nanos));
                out.println("sha256 " + NetPair.hex(sink.digest()));
                return 0;
            }
        }
    }
}
