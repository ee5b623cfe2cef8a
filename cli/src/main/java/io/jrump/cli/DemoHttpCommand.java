package io.jrump.cli;

import io.jrump.net.stack.Sockets;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rump demo http}: kernel b serves a generated file over HTTP/1.1 from a server written
 * against the socket API; kernel a fetches it with GET and checks its SHA-256.
 */
@Command(name = "http", mixinStandardHelpOptions = true, description = "Kernel b serves a file over HTTP/1.1; kernel a fetches it and checks its SHA-256.",
        footer = {"", "The file is /file: --size bytes generated from a seed. On --host sim times are simulated."})
final class DemoHttpCommand implements Callable<Integer> {
    static final String PATH = "/file";
    private static final int PORT = 80;
    private static final long FILE_SEED = 2026;

    @Spec
    CommandSpec spec;

    @Mixin
    NetOptions net;

    @Option(names = "--size", paramLabel = "SIZE", defaultValue = "64M", description = "Size of the file (default: ${DEFAULT-VALUE}).")
    String size;

    @Override
    public Integer call() throws Exception {
        CommandLine cl = spec.commandLine();
        net.validate(cl);
        long n = NetOptions.size(cl, "--size", size, 0, 1L << 40);
        PrintWriter out = cl.getOut();
        byte[] source = NetPair.Pattern.sha256(FILE_SEED, n);
        try (NetPair p = net.boot()) {
            out.printf("rump demo http: b (198.18.0.2:%d) serves %s of %s; a fetches it, %s%n", PORT, PATH,
                    Sizes.human(n), p.describe());
            Sockets sa = p.a.sockets();
            Sockets sb = p.b.sockets();
            long start = p.nanos();
            int[] fds = p.connect(PORT, false);
            byte[] get = ("GET " + PATH + " HTTP/1.1\r\nHost: 198.18.0.2\r\nUser-Agent: rump-demo\r\nAccept: */*\r\n"
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
            sa.send(fds[0], ByteBuffer.wrap(get), 0);
            out.println("a: GET " + PATH + " HTTP/1.1");
            NetPair.Source response = serve(sb, fds[1], n);
            NetPair.Sha256Sink body = new NetPair.Sha256Sink();
            Http.ResponseReader reader = new Http.ResponseReader(body);
            p.pump(sb, fds[1], sa, fds[0], response, reader);
            long nanos = p.nanos() - start;
            sa.close(fds[0]);
            sb.close(fds[1]);
            Http.ResponseHead head = reader.response();
            out.printf("a: HTTP/1.1 %d %s, Content-Length %d%n", head.status(), head.reason(), head.contentLength());
            if (head.status() != 200) {
                throw new IOException("b answered " + head.status() + " " + head.reason());
            }
            byte[] got = body.digest();
            boolean same = Arrays.equals(source, got);
            out.println("sha256 received " + NetPair.hex(got));
            out.println("sha256 source   " + NetPair.hex(source));
            out.printf(Locale.ROOT, "%d bytes in %.3f s, %.3f Gbit/s; %s%n", body.count, nanos / 1e9,
                    NetPair.gbits(body.count, nanos), same ? "identical" : "DIFFERENT");
            if (p.simulated()) {
                out.println("trace " + p.world.traceHex());
            }
            return same ? 0 : 1;
        }
    }

    /**
     * The server's side: reads one request (head bounded by {@link Http#MAX_HEAD}) and returns
     * what to send back: the file for {@code GET /file}, an error response otherwise.
     */
    static NetPair.Source serve(Sockets s, int fd, long size) throws IOException {
        byte[] head = new byte[Http.MAX_HEAD];
        int[] partial = new int[1];
        Http.Request req;
        try {
            int end = Http.readRequestHead(s, fd, head, partial);
            if (end < 0) {
                throw new IOException("the client closed before the end of its request (" + partial[0] + " bytes)");
            }
            req = Http.parseRequest(head, end);
        } catch (Http.HttpException e) {
            return error(e.status, e.status == 431 ? "Request Header Fields Too Large"
                    : e.status == 501 ? "Not Implemented" : "Bad Request");
        }
        if (!req.method().equals("GET")) {
            return error(405, "Method Not Allowed", "Allow: GET");
        }
        if (!req.target().equals(PATH)) {
            return error(404, "Not Found");
        }
        return then(Http.responseHead(200, "OK", size, "Content-Type: application/octet-stream"),
                new NetPair.Pattern(FILE_SEED, size));
    }

    private static NetPair.Source error(int status, String reason, String... extra) {
        byte[] body = (status + " " + reason + "\n").getBytes(StandardCharsets.US_ASCII);
        byte[] h = Http.responseHead(status, reason, body.length, extra);
        byte[] all = Arrays.copyOf(h, h.length + body.length);
        System.arraycopy(body, 0, all, h.length, body.length);
        return then(all, null);
    }

    /** {@code first}, then what {@code rest} gives (if anything). */
    private static NetPair.Source then(byte[] first, NetPair.Source rest) {
        return new NetPair.Source() {
            private boolean sentFirst;

            @Override
            public ByteBuffer next(int max) throws IOException {
                if (!sentFirst) {
                    sentFirst = true;
                    return ByteBuffer.wrap(first);
                }
                return rest == null ? null : rest.next(max);
            }
        };
    }
}
