package io.jrump.nio.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.channels.IllegalBlockingModeException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Set;

/**
 * {@link RumpServerSocketChannel#socket()}: a {@link ServerSocket} whose every method goes to the
 * channel; {@code accept} needs the channel in blocking mode and honours {@code SO_TIMEOUT}. Thread-safe.
 */
final class ServerSocketAdaptor extends ServerSocket {
    private final RumpServerSocketChannel ch;
    private final Adaptors.SoTimeout soTimeout = new Adaptors.SoTimeout();

    private ServerSocketAdaptor(RumpServerSocketChannel ch) throws IOException {
        super(new Adaptors.NoSocketImpl());
        this.ch = ch;
    }

    static ServerSocket of(RumpServerSocketChannel ch) {
        try {
            return new ServerSocketAdaptor(ch);
        } catch (IOException e) {
            throw new AssertionError("a placeholder implementation cannot fail", e);
        }
    }

    @Override
    public void bind(SocketAddress local) throws IOException {
        bind(local, 50);
    }

    @Override
    public void bind(SocketAddress local, int backlog) throws IOException {
        Adaptors.translate(() -> ch.bind(local == null ? new InetSocketAddress(0) : local, backlog));
    }

    @Override
    public InetAddress getInetAddress() {
        InetSocketAddress l = ch.localAddress();
        return l == null ? null : l.getAddress();
    }

    @Override
    public int getLocalPort() {
        InetSocketAddress l = ch.localAddress();
        return l == null ? -1 : l.getPort();
    }

    @Override
    public SocketAddress getLocalSocketAddress() {
        return ch.localAddress();
    }

    @Override
    public Socket accept() throws IOException {
        SocketChannel sc = Adaptors.translate(() -> {
            if (!ch.isBlocking()) {
                throw new IllegalBlockingModeException();
            }
            return ch.accept(soTimeout.nanos());
        });
        return sc.socket();
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }

    @Override
    public ServerSocketChannel getChannel() {
        return ch;
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
    public void setSoTimeout(int timeout) throws SocketException {
        soTimeout.set(isClosed(), timeout);
    }

    @Override
    public int getSoTimeout() throws IOException {
        return soTimeout.get(isClosed());
    }

    @Override
    public void setReuseAddress(boolean on) throws SocketException {
        option(StandardSocketOptions.SO_REUSEADDR, on);
    }

    @Override
    public boolean getReuseAddress() throws SocketException {
        return option(StandardSocketOptions.SO_REUSEADDR);
    }

    @Override
    public void setReceiveBufferSize(int size) throws SocketException {
        if (size <= 0) {
            throw new IllegalArgumentException("negative receive size");
        }
        option(StandardSocketOptions.SO_RCVBUF, size);
    }

    @Override
    public int getReceiveBufferSize() throws SocketException {
        return option(StandardSocketOptions.SO_RCVBUF);
    }

    private <T> void option(SocketOption<T> name, T value) throws SocketException {
        Adaptors.translateToSocketException(() -> ch.setOption(name, value));
    }

    private <T> T option(SocketOption<T> name) throws SocketException {
        return Adaptors.translateToSocketException(() -> ch.getOption(name));
    }

    @Override
    public <T> ServerSocket setOption(SocketOption<T> name, T value) throws IOException {
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
    public String toString() {
        if (!isBound()) {
            return "ServerSocket[unbound]";
        }
        return "ServerSocket[addr=" + getInetAddress() + ",localport=" + getLocalPort() + "]";
    }
}
