package io.jrump.nio;

import com.sun.net.httpserver.HttpServer;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.spi.SelectorProvider;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A child JVM for the whole-JVM tests: the JDK's own {@link HttpServer} and {@link HttpClient}, unmodified,
 * whose NIO goes wherever {@code -Djava.nio.channels.spi.SelectorProvider} says. Modes:
 * {@code serve PORT BYTES} (serves {@code /data}, prints {@code listening}, runs until stdin ends),
 * {@code fetch URL BYTES} (waits for a line on stdin, fetches, prints {@code sha256 HEX bytes N}),
 * {@code both BYTES} (serves on 127.0.0.1 and fetches from itself).
 */
public final class NioHttpMain {
    private NioHttpMain() {
    }

    /** The body served: {@code n} bytes from a fixed seed, the same in the test that checks them. */
    static void body(long n, Sink sink) throws Exception {
        SplittableRandom r = new SplittableRandom(14);
        byte[] b = new byte[64 * 1024];
        for (long left = n; left > 0; left -= b.length) {
            for (int i = 0; i < b.length; i += 8) {
                long v = r.nextLong();
                for (int k = 0; k < 8; k++) {
                    b[i + k] = (byte) (v >>> (8 * k));
                }
            }
            sink.write(b, (int) Math.min(b.length, left));
        }
    }

    interface Sink {
        void write(byte[] b, int n) throws Exception;
    }

    static String expectedSha256(long n) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        body(n, (b, len) -> md.update(b, 0, len));
        return HexFormat.of().formatHex(md.digest());
    }

    public static void main(String[] args) throws Exception {
        System.out.println("provider " + SelectorProvider.provider().getClass().getName());
        switch (args[0]) {
            case "serve" -> {
                HttpServer s = serve(new InetSocketAddress(Integer.parseInt(args[1])), Long.parseLong(args[2]));
                System.out.println("listening " + s.getAddress());
                System.out.flush();
                while (System.in.read() >= 0) {
                    // until the test closes our stdin
                }
                s.stop(0);
            }
            case "fetch" -> {
                new BufferedReader(new InputStreamReader(System.in)).readLine();
                fetch(args[1], Long.parseLong(args[2]));
            }
            case "both" -> {
                long n = Long.parseLong(args[1]);
                HttpServer s = serve(new InetSocketAddress("127.0.0.1", 8080), n);
                fetch("http://127.0.0.1:8080/data", n);
                s.stop(0);
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.out.flush();
        System.exit(0);
    }

    private static HttpServer serve(InetSocketAddress at, long n) throws Exception {
        HttpServer s = HttpServer.create(at, 0);
        ExecutorService handlers = Executors.newFixedThreadPool(2);
        s.setExecutor(handlers);
        s.createContext("/data", ex -> {
            try (OutputStream out = ex.getResponseBody()) {
                ex.sendResponseHeaders(200, n);
                body(n, (b, len) -> out.write(b, 0, len));
            } catch (Exception e) {
                e.printStackTrace();
                throw new java.io.IOException(e);
            }
        });
        s.start();
        return s;
    }

    private static void fetch(String url, long n) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(URI.create(url)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        long total = 0;
        try (InputStream in = r.body()) {
            byte[] b = new byte[64 * 1024];
            int k;
            while ((k = in.read(b)) > 0) {
                md.update(b, 0, k);
                total += k;
            }
        }
        System.out.println("status " + r.statusCode());
        System.out.println("sha256 " + HexFormat.of().formatHex(md.digest()) + " bytes " + total);
    }
}
