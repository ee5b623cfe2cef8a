package io.jrump.nio.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Objects;
import java.util.Set;

/**
 * {@link RumpSocketChannel#socket()}: a {@link Socket} whose every method goes to the channel, with
 * {@code SO_TIMEOUT} on connect and on its input stream ({@link java.net.SocketTimeoutException}), and the
 * channel's exceptions translated to {@code java.net}'s. Its streams need the channel in blocking mode
 * ({@link java.nio.channels.IllegalBlockingModeException} otherwise). Not supported: urgent data,
 * {@code OOBINLINE} (reads false), {@code available()} (0). Thread-safe.
 */
final class SocketAdaptor extends Socket {
    private final RumpSocketChannel ch;
    private final Adaptors.SoTimeout soTimeout = new Adaptors.SoTimeout();

    private SocketAdaptor(RumpSocketChannel ch) throws SocketException {
        super(new Adaptors.NoSocketImpl());
        this.ch = ch;
    }

    static Socket of(RumpSocketChannel ch) {
        try {
            return new SocketAdaptor(ch);
        } catch (SocketException e) {
            throw new AssertionError("a placeholder implementation cannot fail", e);
        }
    }

    @Override
    public SocketChannel getChannel() {
        return ch;
    }

    @Override
    public void connect(SocketAddress remote) throws IOException {
        connect(remote, 0);
    }

    @Override
    public void connect(SocketAddress remote, int timeout) throws IOException {
        if (remote == null) {
            throw new IllegalArgumentException("connect: The address can't be null");
        }
        if (timeout < 0) {
            throw new IllegalArgumentException("connect: timeout can't be negative");
        }
        Adaptors.translate(() -> {
            ch.ensureBlocking();
            return ch.connect(remote, Adaptors.nanos(timeout));
        });
    }

    @Override
    public void bind(SocketAddress local) throws IOException {
        Adaptors.translate(() -> ch.bind(local));
    }

    @Override
    public InetAddress getInetAddress() {
        InetSocketAddress r = ch.remoteAddress();
        return r == null ? null : r.getAddress();
    }

    @Override
    public InetAddress getLocalAddress() {
        InetSocketAddress l = ch.isOpen() ? ch.localAddress() : null;
        if (l == null) {
            return new InetSocketAddress(0).getAddress();
        }
        return l.getAddress();
    }

    @Override
    public int getPort() {
        InetSocketAddress r = ch.remoteAddress();
        return r == null ? 0 : r.getPort();
    }

    @Override
    public int getLocalPort() {
        InetSocketAddress l = ch.localAddress();
        return l == null ? -1 : l.getPort();
    }

    @Override
    public SocketAddress getRemoteSocketAddress() {
        return ch.remoteAddress();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return ch.isOpen() ? ch.localAddress() : null;
    }

    @Override
    public InputStream getInputStream() throws IOException {
        Adaptors.ensureNotClosed(isClosed());
        if (!isConnected()) {
            throw new SocketException("Socket is not connected");
        }
        if (isInputShutdown()) {
            throw new SocketException("Socket input is shutdown");
        }
        return new InputStream() {
            private boolean eof;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                int n = read(one, 0, 1);
                return n < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                if (len == 0) {
                    return 0;
                }
                if (eof) {
                    return -1;
                }
                int n = Adaptors.translate(() -> {
                    ch.ensureBlocking();
                    return ch.read(ByteBuffer.wrap(b, off, len), soTimeout.nanos());
                });
                if (n < 0) {
                    eof = true;
                }
                return n;
            }

            @Override
            public int available() throws IOException {
                Adaptors.ensureNotClosed(isClosed());
                return 0;
            }

            @Override
            public void close() throws IOException {
                SocketAdaptor.this.close();
            }
        };
    }

    @Override
    public OutputStream getOutputStream() throws IOException {
        Adaptors.ensureNotClosed(isClosed());
        if (!isConnected()) {
            throw new SocketException("Socket is not connected");
        }
        if (isOutputShutdown()) {
            throw new SocketException("Socket output is shutdown");
        }
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                Objects.checkFromIndexSize(off, len, b.length);
                Adaptors.translate(() -> {
                    ch.ensureBlocking();
                    return ch.write(ByteBuffer.wrap(b, off, len));
                });
            }

            @Override
            public void close() throws IOException {
                SocketAdaptor.this.close();
            }
        };
    }

    private <T> void set(SocketOption<T> name, T value) throws SocketException {
        Adaptors.translateToSocketException(() -> ch.setOption(name, value));
    }

    private <T> T get(SocketOption<T> name) throws SocketException {
        return Adaptors.translateToSocketException(() -> ch.getOption(name));
    }

    @Override
    public void setTcpNoDelay(boolean on) throws SocketException {
        set(StandardSocketOptions.TCP_NODELAY, on);
    }

    @Override
    public boolean getTcpNoDelay() throws SocketException {
        return get(StandardSocketOptions.TCP_NODELAY);
    }

    @Override
    public void setSoLinger(boolean on, int linger) throws SocketException {
        if (on && linger < 0) {
            throw new IllegalArgumentException("invalid value for SO_LINGER");
        }
        set(StandardSocketOptions.SO_LINGER, on ? linger : -1);
    }

    @Override
    public int getSoLinger() throws SocketException {
        return get(StandardSocketOptions.SO_LINGER);
    }

    @Override
    public void sendUrgentData(int data) throws IOException {
        throw new SocketException("Urgent data not supported");
    }

    @Override
    public void setOOBInline(boolean on) throws SocketException {
        if (on) {
            throw new SocketException("OOBINLINE not supported");
        }
    }

    @Override
    public boolean getOOBInline() throws SocketException {
        Adaptors.ensureNotClosed(isClosed());
        return false;
    }

    @Override
    public void setSoTimeout(int timeout) throws SocketException {
        soTimeout.set(isClosed(), timeout);
    }

    @Override
    public int getSoTimeout() throws SocketException {
        return soTimeout.get(isClosed());
    }

    @Override
    public void setSendBufferSize(int size) throws SocketException {
        if (size <= 0) {
            throw new IllegalArgumentException("Invalid send size");
        }
        set(StandardSocketOptions.SO_SNDBUF, size);
    }

    @Override
    public int getSendBufferSize() throws SocketException {
        return get(StandardSocketOptions.SO_SNDBUF);
    }

    @Override
    public void setReceiveBufferSize(int size) throws SocketException {
        if (size <= 0) {
            throw new IllegalArgumentException("Invalid receive size");
        }
        set(StandardSocketOptions.SO_RCVBUF, size);
    }

    @Override
    public int getReceiveBufferSize() throws SocketException {
        return get(StandardSocketOptions.SO_RCVBUF);
    }

    @Override
    public void setKeepAlive(boolean on) throws SocketException {
        set(StandardSocketOptions.SO_KEEPALIVE, on);
    }

    @Override
    public boolean getKeepAlive() throws SocketException {
        return get(StandardSocketOptions.SO_KEEPALIVE);
    }

    @Override
    public void setTrafficClass(int tc) throws SocketException {
        if (tc < 0 || tc > 255) {
            throw new IllegalArgumentException("tc is not in range 0 -- 255");
        }
        set(StandardSocketOptions.IP_TOS, tc);
    }

    @Override
    public int getTrafficClass() throws SocketException {
        return get(StandardSocketOptions.IP_TOS);
    }

    @Override
    public void setReuseAddress(boolean on) throws SocketException {
        set(StandardSocketOptions.SO_REUSEADDR, on);
    }

    @Override
    public boolean getReuseAddress() throws SocketException {
        return get(StandardSocketOptions.SO_REUSEADDR);
    }

    @Override
    public <T> Socket setOption(SocketOption<T> name, T value) throws IOException {
        Adaptors.translate(() -> ch.setOption(name, value));
        return this;
    }

    @Override
    public <T> T getOption(SocketOption<T> name) throws IOException {
        return Adaptors.translate(() -> ch.getOption(name));
    }

    @Override
    public Set<SocketOption<?>> supportedOptions() {
        return ch.supportedOptions();
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }

    @Override
    public void shutdownInput() throws IOException {
        Adaptors.translate(() -> ch.shutdownInput());
    }

    @Override
    public void shutdownOutput() throws IOException {
        Adaptors.translate(() -> ch.shutdownOutput());
    }

    @Override
    public boolean isConnected() {
        return ch.isConnected();
    }

    @Override
    public boolean isBound() {
        return ch.localAddress() != null;
    }

    @Override
    public boolean isClosed() {
        return !ch.isOpen();
    }

    @Override
    public boolean isInputShutdown() {
        return ch.isInputShutdown();
    }

    @Override
    public boolean isOutputShutdown() {
        return ch.isOutputShutdown();
    }

    @Override
    public String toString() {
        if (isConnected()) {
            return "Socket[addr=" + getInetAddress() + ",port=" + getPort() + ",localport=" + getLocalPort() + "]";
        }
        return "Socket[unconnected]";
    }
}
