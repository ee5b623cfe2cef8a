package io.jrump.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.net.stack.Sockets;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The demo's HTTP/1.1: strict, bounded parsing on both sides, and the server over real sockets. */
class NetHttpTest {
    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static Http.Request request(String s) throws Http.HttpException {
        byte[] b = ascii(s);
        return Http.parseRequest(b, b.length);
    }

    @Test
    void aPlainGetParses() throws Exception {
        Http.Request r = request("GET /file HTTP/1.1\r\nHost: x\r\nAccept:  */* \r\n\r\n");
        assertEquals("GET", r.method());
        assertEquals("/file", r.target());
        assertEquals("*/*", r.headers().get("accept"), "value trimmed, name lower-cased");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "GET /file HTTP/1.1\\r\\n\\r\\n|400",                                  // no Host
        "GET /file HTTP/2.0\\r\\nHost: x\\r\\n\\r\\n|400",
        "GET file HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n|400",
        "GET  /file HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n|400",
        "GET /file HTTP/1.1\\r\\nHost: x\\r\\n folded\\r\\n\\r\\n|400",           // obs-fold
        "GET /file HTTP/1.1\\r\\nHost : x\\r\\n\\r\\n|400",                      // space before colon
        "GET /file HTTP/1.1\\nHost: x\\n\\n|400",                             // bare LF
        "GET /file HTTP/1.1\\r\\nHost: x\\u0000y\\r\\n\\r\\n|400",                // NUL
        "GET /file HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n|501",
        "GET /file HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 5\\r\\n\\r\\n|400",
        "GET /file HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 0\\r\\nContent-Length: 1\\r\\n\\r\\n|400",
        "GET /file HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: -0\\r\\n\\r\\n|400"})
    void badRequestsAreRefusedWithTheirStatus(String text, int status) {
        assertEquals(status, assertThrows(Http.HttpException.class, () -> request(text.replace("\\r", "\r")
                .replace("\\n", "\n").replace("\\u0000", "\0"))).status);
    }

    @Test
    void tooManyHeaderFieldsAre431() {
        StringBuilder s = new StringBuilder("GET /file HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < 70; i++) {
            s.append("X-").append(i).append(": y\r\n");
        }
        assertEquals(431, assertThrows(Http.HttpException.class, () -> request(s + "\r\n")).status);
    }

    private static void read(Http.ResponseReader r, String s) throws Exception {
        r.accept(ByteBuffer.wrap(ascii(s)));
    }

    @Test
    void theReaderTakesTheHeadInPiecesAndCountsTheBody() throws Exception {
        NetPair.Sha256Sink body = new NetPair.Sha256Sink();
        Http.ResponseReader r = new Http.ResponseReader(body);
        read(r, "HTTP/1.1 200 OK\r\nContent-Le");
        read(r, "ngth: 5\r\n\r");
        read(r, "\nhel");
        read(r, "lo");
        r.end();
        assertEquals(200, r.response().status());
        assertEquals(5, body.count);
    }

    @Test
    void theReaderRefusesBodiesThatDisagreeWithContentLength() throws Exception {
        Http.ResponseReader more = new Http.ResponseReader(new NetPair.Sha256Sink());
        assertThrows(Http.HttpException.class, () -> read(more, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabc"));
        Http.ResponseReader less = new Http.ResponseReader(new NetPair.Sha256Sink());
        read(less, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc");
        assertThrows(Http.HttpException.class, less::end);
        Http.ResponseReader none = new Http.ResponseReader(new NetPair.Sha256Sink());
        assertThrows(Http.HttpException.class, () -> read(none, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
        Http.ResponseReader missing = new Http.ResponseReader(new NetPair.Sha256Sink());
        assertThrows(Http.HttpException.class, () -> read(missing, "HTTP/1.1 200 OK\r\n\r\n"));
        Http.ResponseReader huge = new Http.ResponseReader(new NetPair.Sha256Sink());
        assertThrows(Http.HttpException.class, () -> read(huge, "HTTP/1.1 200 OK\r\nX: " + "y".repeat(9000)));
    }

    /** Sends {@code request} from a to the demo server on b and returns the raw response. */
    private static String exchange(byte[] request) throws Exception {
        try (NetPair p = NetPair.boot("sim", 3, 1500)) {
            p.configure();
            int[] fds = p.connect(80, false);
            Sockets sa = p.a.sockets();
            sa.send(fds[0], ByteBuffer.wrap(request), 0);
            NetPair.Source response = DemoHttpCommand.serve(p.b.sockets(), fds[1], 10);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            p.pump(p.b.sockets(), fds[1], sa, fds[0], response, new NetPair.Sink() {
                @Override
                public void accept(ByteBuffer bytes) {
                    byte[] b = new byte[bytes.remaining()];
                    bytes.get(b);
                    got.writeBytes(b);
                }

                @Override
                public void end() {
                }
            });
            return got.toString(StandardCharsets.ISO_8859_1);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "GET /file HTTP/1.1\\r\\nHost: b\\r\\n\\r\\n|HTTP/1.1 200 OK",
        "GET /other HTTP/1.1\\r\\nHost: b\\r\\n\\r\\n|HTTP/1.1 404 Not Found",
        "POST /file HTTP/1.1\\r\\nHost: b\\r\\n\\r\\n|HTTP/1.1 405 Method Not Allowed",
        "GET /file HTTP/1.1\\r\\n\\r\\n|HTTP/1.1 400 Bad Request"})
    void theServerAnswersEachRequestWithItsStatus(String request, String statusLine) throws Exception {
        String response = exchange(ascii(request.replace("\\r", "\r").replace("\\n", "\n")));
        assertTrue(response.startsWith(statusLine + "\r\n"), response);
        assertTrue(response.contains("\r\nContent-Length: "), response);
    }

    @Test
    void theServerStopsReadingAHeadPastItsBound() throws Exception {
        String response = exchange(ascii("GET /file HTTP/1.1\r\nX: " + "y".repeat(Http.MAX_HEAD)));
        assertTrue(response.startsWith("HTTP/1.1 431 "), response);
    }
}
