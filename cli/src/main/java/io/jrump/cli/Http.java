package io.jrump.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;

/**
 * The little HTTP/1.1 (RFC 9112) the demo needs: request and response heads, parsed strictly
 * and within bounds, and a response reader that checks the body against its Content-Length.
 * Not supported, on purpose: chunked transfer coding (refused), persistent connections (every
 * response closes), obsolete line folding (refused), request bodies (refused).
 */
final class Http {
    /** The largest head (start line and headers, with the blank line) either side accepts. */
    static final int MAX_HEAD = 8192;
    private static final int MAX_HEADERS = 64;
    private static final java.util.regex.Pattern REQUEST_LINE =
            java.util.regex.Pattern.compile("([!#$%&'*+.^_`|~0-9A-Za-z-]+) (/[\\x21-\\x7e]*) HTTP/1\\.([01])");
    private static final java.util.regex.Pattern STATUS_LINE =
            java.util.regex.Pattern.compile("HTTP/1\\.[01] ([1-9][0-9]{2}) ([\\t \\x21-\\x7e]*)");
    private static final java.util.regex.Pattern FIELD =
            java.util.regex.Pattern.compile("([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \\t]*([\\t \\x21-\\x7e]*?)[ \\t]*");

    private Http() {
    }

    /** A malformed or refused message, with the status a server answers it with. */
    static final class HttpException extends IOException {
        final int status;

        HttpException(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    record Request(String method, String target, Map<String, String> headers) {
    }

    record ResponseHead(int status, String reason, long contentLength) {
    }

    /** Index just past the blank line ending the head in {@code b[0..len)}, or -1 if it is not there yet. */
    static int headEnd(byte[] b, int len) {
        for (int i = 3; i < len; i++) {
            if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') {
                return i + 1;
            }
        }
        return -1;
    }

    /**
     * Reads a request's head from {@code fd} into {@code head}: returns its length (just past the
     * blank line), -1 if the peer closed first (after {@code *partial[0]} bytes), and throws 431
     * when it does not fit. What follows the head in the last read is not kept (no request bodies).
     */
    static int readRequestHead(io.jrump.net.stack.Sockets s, int fd, byte[] head, int[] partial) throws IOException {
        int len = 0;
        ByteBuffer buf = ByteBuffer.allocate(head.length);
        while (true) {
            if (len == head.length) {
                throw new HttpException(431, "the request head exceeds " + head.length + " bytes");
            }
            buf.clear().limit(head.length - len);
            int n = s.recv(fd, buf, 0).length();
            if (n == 0) {
                partial[0] = len;
                return -1;
            }
            System.arraycopy(buf.array(), 0, head, len, n);
            len += n;
            int end = headEnd(head, len);
            if (end >= 0) {
                return end;
            }
        }
    }

    static Request parseRequest(byte[] head, int len) throws HttpException {
        String[] lines = lines(head, len);
        Matcher m = REQUEST_LINE.matcher(lines[0]);
        if (!m.matches()) {
            throw new HttpException(400, "bad request line");
        }
        Map<String, String> headers = fields(lines);
        if (m.group(3).equals("1") && !headers.containsKey("host")) {
            throw new HttpException(400, "HTTP/1.1 request without Host");
        }
        if (headers.containsKey("transfer-encoding")) {
            throw new HttpException(501, "Transfer-Encoding is not supported");
        }
        if (headers.containsKey("content-length") && contentLength(headers.get("content-length")) != 0) {
            throw new HttpException(400, "request bodies are not supported");
        }
        return new Request(m.group(1), m.group(2), headers);
    }

    static ResponseHead parseResponse(byte[] head, int len) throws HttpException {
        String[] lines = lines(head, len);
        Matcher m = STATUS_LINE.matcher(lines[0]);
        if (!m.matches()) {
            throw new HttpException(502, "bad status line");
        }
        Map<String, String> headers = fields(lines);
        if (headers.containsKey("transfer-encoding")) {
            throw new HttpException(502, "Transfer-Encoding is not supported");
        }
        String cl = headers.get("content-length");
        if (cl == null) {
            throw new HttpException(502, "response without Content-Length");
        }
        return new ResponseHead(Integer.parseInt(m.group(1)), m.group(2), contentLength(cl));
    }

    /** The head's lines, without the final blank line; only printable ASCII, SP and HT allowed. */
    private static String[] lines(byte[] head, int len) throws HttpException {
        for (int i = 0; i < len; i++) {
            int c = head[i] & 0xff;
            boolean ok = (c >= 0x20 && c < 0x7f) || c == '\t' || (c == '\r' && i + 1 < len && head[i + 1] == '\n')
                    || (c == '\n' && i > 0 && head[i - 1] == '\r');
            if (!ok) {
                throw new HttpException(400, String.format("byte 0x%02x at %d of the head", c, i));
            }
        }
        String s = new String(head, 0, len, StandardCharsets.US_ASCII);
        if (!s.endsWith("\r\n\r\n")) {
            throw new HttpException(400, "head does not end with a blank line");
        }
        return s.substring(0, s.length() - 4).split("\r\n", -1);
    }

    /** Header fields by lower-case name; repeats refused except identical Content-Lengths. */
    private static Map<String, String> fields(String[] lines) throws HttpException {
        if (lines.length - 1 > MAX_HEADERS) {
            throw new HttpException(431, "more than " + MAX_HEADERS + " header fields");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            Matcher m = FIELD.matcher(lines[i]);
            if (!m.matches()) {
                throw new HttpException(400, "bad header field line " + i);
            }
            String name = m.group(1).toLowerCase(Locale.ROOT);
            String old = out.put(name, m.group(2));
            if (old != null && !old.equals(m.group(2))) {
                throw new HttpException(400, "conflicting " + name + " fields");
            }
        }
        return out;
    }

    private static long contentLength(String v) throws HttpException {
        if (!v.matches("[0-9]{1,18}")) {
            throw new HttpException(400, "bad Content-Length '" + v + "'");
        }
        return Long.parseLong(v);
    }

    static byte[] responseHead(int status, String reason, long contentLength, String... extra) {
        StringBuilder b = new StringBuilder("HTTP/1.1 ").append(status).append(' ').append(reason).append("\r\n");
        b.append("Server: rump-demo\r\n");
        b.append("Content-Length: ").append(contentLength).append("\r\n");
        for (String e : extra) {
            b.append(e).append("\r\n");
        }
        b.append("Connection: close\r\n\r\n");
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Reads a response as it arrives: the head (at most {@link #MAX_HEAD} bytes), then exactly
     * Content-Length bytes of body into {@code body}; anything more, or less by the end of the
     * stream, is an error.
     */
    static final class ResponseReader implements NetPair.Sink {
        private final NetPair.Sha256Sink body;
        private final byte[] head = new byte[MAX_HEAD];
        private int headLength;
        private ResponseHead response;

        ResponseReader(NetPair.Sha256Sink body) {
            this.body = body;
        }

        ResponseHead response() {
            return response;
        }

        @Override
        public void accept(ByteBuffer bytes) throws IOException {
            if (response == null) {
                int n = Math.min(bytes.remaining(), MAX_HEAD - headLength);
                int before = headLength;
                bytes.get(head, headLength, n);
                headLength += n;
                int end = headEnd(head, headLength);
                if (end < 0) {
                    if (headLength == MAX_HEAD) {
                        throw new HttpException(502, "response head longer than " + MAX_HEAD + " bytes");
                    }
                    return;
                }
                response = parseResponse(head, end);
                // Whatever came after the head is the start of the body.
                bytes.position(bytes.position() - (headLength - end));
                headLength = end;
                if (before > end) {
                    throw new IllegalStateException("head end moved backwards");
                }
            }
            if (body.count + bytes.remaining() > response.contentLength()) {
                throw new HttpException(502, "more body than the Content-Length of " + response.contentLength());
            }
            body.accept(bytes);
        }

        @Override
        public void end() throws IOException {
            if (response == null) {
                throw new HttpException(502, "the connection closed after " + headLength + " bytes of head");
            }
            if (body.count != response.contentLength()) {
                throw new HttpException(502, "the connection closed after " + body.count + " of "
                        + response.contentLength() + " body bytes");
            }
        }
    }
}
