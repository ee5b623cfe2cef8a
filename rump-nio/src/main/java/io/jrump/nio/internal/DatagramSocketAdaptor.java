package io.jrump.nio.internal;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.IllegalBlockingModeException;
import java.util.Set;

/**
 * {@link RumpDatagramChannel#socket()}: a {@link DatagramSocket} whose every method goes to the channel;
 * {@code send} and {@code receive} need the channel in blocking mode, {@code receive} honours
 * {@code SO_TIMEOUT}. A packet receives into its whole buffer from its offset on (the JDK keeps the length
 * set before the first receive, which the public API does not show). Thread-safe.
 */
final class DatagramSocketAdaptor extends DatagramSocket {
    private final RumpDatagramChannel ch;
    private final Adaptors.SoTimeout soTimeout = new Adaptors.SoTimeout();

    private DatagramSocketAdaptor(RumpDatagramChannel ch) {
        super(new Adaptors.NoDatagramSocketImpl());
        this.ch = ch;
    }

    static DatagramSocket of(RumpDatagramChannel ch) {
        return new DatagramSocketAdaptor(ch);
    }

    @Override
    public synchronized void bind(SocketAddress addr) throws SocketException {
        Adaptors.translateToSocketException(() -> ch.bind(addr));
    }

    @Override
    public void connect(InetAddress address, int port) {
        try {
            connect(new InetSocketAddress(address, port));
        } catch (SocketException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void connect(SocketAddress addr) throws SocketException {
        Adaptors.translateToSocketException(() -> ch.connect(addr));
    }

    @Override
    public void disconnect() {
        try {
            ch.disconnect();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public boolean isBound() {
        return ch.localAddress() != null;
    }

    @Override
    public boolean isConnected() {
        return ch.isConnected();
    }

    @Override
    public InetAddress getInetAddress() {
        InetSocketAddress r = ch.remoteAddress();
        return r == null ? null : r.getAddress();
    }

    @Override
    public int getPort() {
        InetSocketAddress r = ch.remoteAddress();
        return r == null ? -1 : r.getPort();
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
    public InetAddress getLocalAddress() {
        InetSocketAddress l = ch.localAddress();
        return !ch.isOpen() ? null : l == null ? new InetSocketAddress(0).getAddress() : l.getAddress();
    }

    @Override
    public int getLocalPort() {
        InetSocketAddress l = ch.localAddress();
        return !ch.isOpen() ? -1 : l == null ? 0 : l.getPort();
    }

    @Override
    public void send(DatagramPacket p) throws IOException {
        Adaptors.translate(() -> {
            if (!ch.isBlocking()) {
                throw new IllegalBlockingModeException();
            }
            SocketAddress to = p.getAddress() == null ? ch.remoteAddress() : p.getSocketAddress();
            if (to == null) {
                throw new IllegalArgumentException("Address not set");
            }
            return ch.send(ByteBuffer.wrap(p.getData(), p.getOffset(), p.getLength()), to);
        });
    }

    @Override
    public void receive(DatagramPacket p) throws IOException {
        Adaptors.translate(() -> {
            if (!ch.isBlocking()) {
                throw new IllegalBlockingModeException();
            }
            byte[] data = p.getData();
            ByteBuffer b = ByteBuffer.wrap(data, p.getOffset(), data.length - p.getOffset());
            SocketAddress from = ch.receive(b, soTimeout.nanos());
            p.setSocketAddress(from);
            p.setLength(b.position() - p.getOffset());
            return null;
        });
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
        Adaptors.translateToSocketException(() -> ch.setOption(StandardSocketOptions.SO_SNDBUF, size));
    }

    @Override
    public int getSendBufferSize() throws SocketException {
        return Adaptors.translateToSocketException(() -> ch.getOption(StandardSocketOptions.SO_SNDBUF));
    }

    @Override
    public void setReceiveBufferSize(int size) throws SocketException {
        Adaptors.translateToSocketException(() -> ch.setOption(StandardSocketOptions.SO_RCVBUF, size));
    }

    @Override
    public int getReceiveBufferSize() throws SocketException {
        return Adaptors.translateToSocketException(() -> ch.getOption(StandardSocketOptions.SO_RCVBUF));
    }

    @Override
    public void setReuseAddress(boolean on) throws SocketException {
        Adaptors.translateToSocketException(() -> ch.setOption(StandardSocketOptions.SO_REUSEADDR, on));
    }

    @Override
    public boolean getReuseAddress() throws SocketException {
        return Adaptors.translateToSocketException(() -> ch.getOption(StandardSocketOptions.SO_REUSEADDR));
    }

    @Override
    public void setBroadcast(boolean on) throws SocketException {
        Adaptors.translateToSocketException(() -> ch.setOption(StandardSocketOptions.SO_BROADCAST, on));
    }

    @Override
    public boolean getBroadcast() throws SocketException {
        return Adaptors.translateToSocketException(() -> ch.getOption(StandardSocketOptions.SO_BROADCAST));
    }

    @Override
    public void setTrafficClass(int tc) throws SocketException {
        Adaptors.translateToSocketException(() -> ch.setOption(StandardSocketOptions.IP_TOS, tc));
    }

    @Override
    public int getTrafficClass() throws SocketException {
        return Adaptors.translateToSocketException(() -> ch.getOption(StandardSocketOptions.IP_TOS));
    }

    @Override
    public void close() {
        try {
            ch.close();
        } catch (IOException e) {
            // DatagramSocket.close declares nothing; the channel is closed all the same
        }
    }

    @Override
    public boolean isClosed() {
        return !ch.isOpen();
    }

    @Override
    public DatagramChannel getChannel() {
        return ch;
    }

    @Override
    public <T> DatagramSocket setOption(SocketOption<T> name, T value) throws IOException {
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
}
