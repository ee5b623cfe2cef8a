package io.jrump.cli;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.net.IpAddress;
import io.jrump.net.Ipv4Address;
import io.jrump.net.Ipv6Address;
import io.jrump.net.socket.Readiness;
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

    /**
     * A TCP listener on {@code port} for both families: AF_INET6 without IPV6_V6ONLY bound to ::,
     * so IPv4 clients arrive too (as ::ffff:a.b.c.d).
     */
    private static int dualStackListener(Sockets s, int port, int backlog) throws ErrnoException {
        int listener = s.socket(Sockets.AF_INET6, Sockets.SOCK_STREAM, 0);
        s.setsockopt(listener, Sockets.IPPROTO_IPV6, Sockets.IPV6_V6ONLY, 0);
        s.setsockopt(listener, Sockets.SOL_SOCKET, Sockets.SO_REUSEADDR, 1);
        s.bind(listener, new SocketAddress(Ipv6Address.UNSPECIFIED, port));
        s.listen(listener, backlog);
        return listener;
    }

    /** Where we answer on {@code port}: http://A.B.C.D:PORT/ and http://[V6]:PORT/ for our usable addresses. */
    private static String urls(TapKernel k, int port) throws ErrnoException {
        List<String> out = new ArrayList<>();
        for (IpAddress a : ourAddresses(k)) {
            out.add("http://" + SocketAddress.format(a, port) + "/");
        }
        return String.join(" ", out);
    }

    /** Our IPv4 address (if any), then our global IPv6 ones, then the link-local one. */
    private static List<IpAddress> ourAddresses(TapKernel k) throws ErrnoException {
        List<IpAddress> out = new ArrayList<>();
        Ipv4Address v4 = k.address();
        if (v4 != null && !v4.equals(Ipv4Address.ANY)) {
            out.add(v4);
        }
        out.addAll(k.globalIpv6Addresses());
        Ipv6Address ll = k.linkLocal();
        if (ll != null) {
            out.add(ll);
        }
        return out;
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
                int listener = dualStackListener(s, port, 128);
                out.printf("rump net serve: %s serves %s on %s%n", urls(k, port), root, tap.tap != null ? tap.tap : tap.nic);
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

    /**
     * A parsed {@code http://HOST[:PORT]/path}: HOST an IPv4 address, an IPv6 one in brackets, or
     * a name; {@code address} is null when HOST is a name to look up.
     */
    record Url(String host, IpAddress address, int port, String target, String hostHeader) {
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
            IpAddress a = null;
            if (host.startsWith("[")) {
                String literal = host.substring(1, host.length() - 1);
                if (literal.indexOf('%') >= 0) {
                    throw new ParameterException(cl, "zone identifiers are not taken (our stack has one link): " + host);
                }
                try {
                    a = Ipv6Address.parse(literal);
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(cl, "not an IPv6 address: " + host);
                }
            } else if (host.matches("[0-9.]+")) {
                try {
                    a = Ipv4Address.parse(host);
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(cl, "not an IPv4 address: " + host);
                }
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

        @Parameters(index = "0", paramLabel = "URL", description = "http://HOST[:PORT]/path; HOST an IPv4 address,"
                + " [an IPv6 one] or a name (A and AAAA; IPv6 first when we have a global IPv6 address).")
        String url;

        @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Where to write the body.")
        Path output;

        @Option(names = "--dns", paramLabel = "SERVER",
                description = "The name server for a URL's name: A.B.C.D[:PORT], an IPv6 address or [V6]:PORT (default:"
                        + " those the network gave: the DHCP lease's, RDNSS, stateless DHCPv6).")
        String dns;

        @Override
        public Integer call() throws Exception {
            CommandLine cl = spec.commandLine();
            tap.validate(cl);
            Url u = Url.parse(cl, url);
            DnsServer server = dns == null ? null : Resolve.serverOption(cl, "--dns", dns);
            if (u.address() == null && server == null && !tap.dhcp && !tap.slaac) {
                throw new ParameterException(cl, "'" + u.host() + "' is a name: give --dns SERVER, --dhcp or --slaac (which"
                        + " learn the servers)");
            }
            PrintWriter out = cl.getOut();
            try (TapKernel k = TapKernel.boot(tap, cl.getErr());
                    FileChannel file = FileChannel.open(output, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                            StandardOpenOption.TRUNCATE_EXISTING)) {
                List<IpAddress> candidates = u.address() != null ? List.of(u.address())
                        : k.net.sortDestinations(resolve(k, u.host(), server));
                Sockets s = k.sockets();
                long start = System.nanoTime();
                int fd = connectToFirst(s, candidates, u.port(), cl.getErr());
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

        /**
         * The name's addresses through our stack's resolver, A then AAAA: asked of {@code server},
         * else of the servers the network gave (DHCP lease, RDNSS, stateless DHCPv6).
         */
        private static List<IpAddress> resolve(TapKernel k, String name, DnsServer server) throws ErrnoException {
            List<IpAddress> out = new ArrayList<>();
            for (InetAddress a : k.kernel.host().scheduler().await(Resolve.resolver(k, server).resolve(name))) {
                out.add(IpAddress.of(a.getAddress()));
            }
            if (out.isEmpty()) {
                throw new ErrnoException(Errno.ENODATA, "'" + name + "' has no A or AAAA records");
            }
            return out;
        }
    }

    /**
     * An address and port as an option gives them: {@code A.B.C.D[:PORT]}, {@code [V6][:PORT]}, or
     * a bare IPv6 address; {@code defaultPort} when none is given ({@code -1}: the port is required).
     */
    static SocketAddress endpoint(CommandLine cl, String option, String text, int defaultPort) {
        String usage = defaultPort < 0 ? "A.B.C.D:PORT or [V6]:PORT" : "A.B.C.D[:PORT], an IPv6 address or [V6]:PORT";
        String host;
        String port = null;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 < text.length() && text.charAt(close + 1) != ':') {
                throw new ParameterException(cl, option + ": " + text + " is not " + usage);
            }
            host = text.substring(1, close);
            port = close + 1 < text.length() ? text.substring(close + 2) : null;
        } else if (text.indexOf(':') != text.lastIndexOf(':')) {
            host = text; // a bare IPv6 address: no port
        } else {
            int colon = text.indexOf(':');
            host = colon < 0 ? text : text.substring(0, colon);
            port = colon < 0 ? null : text.substring(colon + 1);
        }
        IpAddress a;
        try {
            a = host.indexOf(':') >= 0 ? Ipv6Address.parse(host) : Ipv4Address.parse(host);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(cl, option + ": " + text + " is not " + usage);
        }
        if (a.isUnspecified() || a.isMulticast()) {
            throw new ParameterException(cl, option + ": " + text + ": not a unicast address");
        }
        int p = defaultPort;
        if (port != null) {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                throw new ParameterException(cl, option + ": port of " + text + " is not a number");
            }
            NetOptions.checkRange(cl, option + " port", p, 1, 65535);
        } else if (defaultPort < 0) {
            throw new ParameterException(cl, option + ": " + text + " has no port: " + usage);
        }
        return new SocketAddress(a, p);
    }

    /** Per address tried when another remains after it: then the next is tried. */
    static final int CONNECT_FALLBACK_SECONDS = 5;
    /** For the last (or only) address. */
    static final int CONNECT_LAST_SECONDS = 30;

    /** Whether a connect failing this way lets the next address be tried. */
    private static boolean tryNext(Errno e) {
        return e == Errno.ENETUNREACH || e == Errno.EHOSTUNREACH || e == Errno.ECONNREFUSED || e == Errno.ETIMEDOUT
                || e == Errno.EADDRNOTAVAIL || e == Errno.ECONNRESET;
    }

    /**
     * A TCP connection to the first of {@code addresses} that answers on {@code port}, trying the
     * next on ENETUNREACH, EHOSTUNREACH, ECONNREFUSED, or no answer within
     * {@link #CONNECT_FALLBACK_SECONDS}; each failure is named on {@code err}. The socket lingers
     * on close and blocks again once connected.
     */
    static int connectToFirst(Sockets s, List<IpAddress> addresses, int port, PrintWriter err) throws ErrnoException {
        for (int i = 0; i < addresses.size(); i++) {
            IpAddress a = addresses.get(i);
            boolean last = i == addresses.size() - 1;
            SocketAddress peer = new SocketAddress(a, port);
            int fd = s.socket(a.version() == 6 ? Sockets.AF_INET6 : Sockets.AF_INET, Sockets.SOCK_STREAM, 0);
            try {
                connectWithin(s, fd, peer, last ? CONNECT_LAST_SECONDS : CONNECT_FALLBACK_SECONDS);
                lingerOnClose(s, fd);
                if (addresses.size() > 1) {
                    err.println("rump: connected to " + peer);
                    err.flush();
                }
                return fd;
            } catch (ErrnoException e) {
                s.close(fd);
                if (last || !tryNext(e.errno())) {
                    throw e;
                }
                err.println("rump: " + e.getMessage() + "; trying " + addresses.get(i + 1));
                err.flush();
            }
        }
        throw new ErrnoException(Errno.EDESTADDRREQ, "no address to connect to");
    }

    /** connect(2) that gives up with ETIMEDOUT after {@code seconds}: non-blocking, polled for POLLOUT. */
    private static void connectWithin(Sockets s, int fd, SocketAddress peer, int seconds) throws ErrnoException {
        s.setNonBlocking(fd, true);
        try {
            s.connect(fd, peer);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EINPROGRESS) {
                throw e;
            }
        }
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (s.poll(fd, Readiness.POLLOUT) == 0) {
            if (System.nanoTime() > deadline) {
                throw new ErrnoException(Errno.ETIMEDOUT, "no answer from " + peer + " in " + seconds + " s");
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ErrnoException(Errno.EINTR, "connecting to " + peer);
            }
        }
        int error = s.getsockopt(fd, Sockets.SOL_SOCKET, Sockets.SO_ERROR);
        if (error != 0) {
            Errno e = Errno.ofNumber(error);
            throw new ErrnoException(e, "connecting to " + peer);
        }
        s.setNonBlocking(fd, false);
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

        @Option(names = "--server", paramLabel = "SERVER",
                description = "The name server: A.B.C.D[:PORT], an IPv6 address, or [V6]:PORT (port 53 by default);"
                        + " without it, those the network gave (with --dhcp or --slaac).")
        String server;

        @Override
        public Integer call() throws Exception {
            CommandLine cl = spec.commandLine();
            tap.validate(cl);
            DnsServer ns = server == null ? null : serverOption(cl, "--server", server);
            if (ns == null && !tap.dhcp && !tap.slaac) {
                throw new ParameterException(cl, "give --server SERVER, or --dhcp or --slaac (which learn the servers)");
            }
            PrintWriter out = cl.getOut();
            try (TapKernel k = TapKernel.boot(tap, cl.getErr())) {
                DnsResolver resolver = resolver(k, ns);
                List<InetAddress> addresses = k.kernel.host().scheduler().await(resolver.resolve(name));
                for (InetAddress a : addresses) {
                    out.printf("%s %s %s%n", name, a instanceof java.net.Inet4Address ? "A" : "AAAA",
                            IpAddress.of(a.getAddress()));
                }
            }
            return 0;
        }

        /**
         * A resolver over our stack asking {@code server}, or if null the servers the network gave
         * (DHCP lease, RDNSS, stateless DHCPv6) with their search list; ENOENT if it gave none.
         */
        static DnsResolver resolver(TapKernel k, DnsServer server) throws ErrnoException {
            if (server != null) {
                return k.net.resolver(DnsConfig.of(List.of(server)).withTimeout(TRY_TIMEOUT, TRIES));
            }
            List<DnsServer> servers = new ArrayList<>();
            for (IpAddress a : k.net.dnsServers()) {
                servers.add(new DnsServer(a.toInetAddress(), DnsServer.PORT));
            }
            if (servers.isEmpty()) {
                throw new ErrnoException(Errno.ENOENT, "no DNS server: none came by DHCP, router advertisement or DHCPv6;"
                        + " give one");
            }
            return k.net.resolver(DnsConfig.of(servers).withSearch(k.net.dnsSearchList()).withTimeout(TRY_TIMEOUT, TRIES));
        }

        /** {@code --server}'s value: see {@link #serverOption(CommandLine, String, String)}. */
        static DnsServer serverOption(CommandLine cl, String text) {
            return serverOption(cl, "--server", text);
        }

        /** A name server: {@code A.B.C.D[:PORT]}, an IPv6 literal, or {@code [V6][:PORT]} (no name: there is no resolver yet). */
        static DnsServer serverOption(CommandLine cl, String option, String text) {
            SocketAddress a = endpoint(cl, option, text, DnsServer.PORT);
            return new DnsServer(a.address().toInetAddress(), a.port());
        }
    }

    @Command(name = "send", mixinStandardHelpOptions = true,
            description = "Bulk TCP from our stack on a TAP device to a Linux listener (socat, nc), printing throughput.")
    static final class Send implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        TapKernel.Options tap;

        @Option(names = "--to", required = true, paramLabel = "ADDR:PORT", description = "The peer: A.B.C.D:PORT or [V6]:PORT.")
        String to;

        @Option(names = "--bytes", defaultValue = "1G", paramLabel = "SIZE", description = "How much (default: ${DEFAULT-VALUE}).")
        String bytes;

        @Override
        public Integer call() throws Exception {
            CommandLine cl = spec.commandLine();
            tap.validate(cl);
            long n = NetOptions.size(cl, "--bytes", bytes, 0, 1L << 50);
            SocketAddress peer = endpoint(cl, "--to", to, -1);
            PrintWriter out = cl.getOut();
            try (TapKernel k = TapKernel.boot(tap, cl.getErr())) {
                Sockets s = k.sockets();
                int fd = connectToFirst(s, List.of(peer.address()), peer.port(), cl.getErr());
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
                int listener = dualStackListener(s, port, 1);
                List<String> where = new ArrayList<>();
                for (IpAddress a : ourAddresses(k)) {
                    where.add(SocketAddress.format(a, port));
                }
                out.printf("rump net sink: listening on %s%n", String.join(" ", where));
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
                SocketAddress peer = s.getpeername(fd);
                SocketAddress from = new SocketAddress(peer.address().unmapped(), peer.port()); // an IPv4 peer as such
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
