package io.jrump.nio.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocketImpl;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketImpl;
import java.net.UnknownHostException;
import java.nio.channels.AlreadyBoundException;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ConnectionPendingException;
import java.nio.channels.NotYetBoundException;
import java.nio.channels.NotYetConnectedException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.channels.UnsupportedAddressTypeException;

/**
 * What the socket adaptors share: the channel exceptions as the {@code java.net} ones (as the JDK's
 * own adaptors translate them), and the placeholder implementations that {@code java.net}'s
 * protected constructors want — never used, since the adaptors override every public method.
 */
final class Adaptors {
    private Adaptors() {
    }

    /** Runs channel code, translating channel exceptions to the socket API's. */
    @FunctionalInterface
    interface Io<T> {
        T run() throws IOException;
    }

    static <T> T translate(Io<T> io) throws IOException {
        try {
            return io.run();
        } catch (ClosedChannelException e) {
            if (e instanceof java.nio.channels.AsynchronousCloseException) {
                throw withCause(new SocketException("Socket closed"), e);
            }
            throw withCause(new SocketException("Socket is closed"), e);
        } catch (NotYetConnectedException e) {
            throw withCause(new SocketException("Socket is not connected"), e);
        } catch (AlreadyBoundException e) {
            throw withCause(new SocketException("Already bound"), e);
        } catch (AlreadyConnectedException e) {
            throw withCause(new SocketException("Already connected"), e);
        } catch (ConnectionPendingException e) {
            throw withCause(new SocketException("Connection pending"), e);
        } catch (NotYetBoundException e) {
            throw withCause(new SocketException("Socket is not bound yet"), e);
        } catch (UnresolvedAddressException e) {
            throw withCause(new UnknownHostException("Unresolved address"), e);
        } catch (UnsupportedAddressTypeException e) {
            throw withCause(new SocketException("Unsupported address type"), e);
        }
    }

    private static IOException withCause(IOException x, Throwable cause) {
        x.initCause(cause);
        return x;
    }

    /**
     * {@link #translate}, for the socket API's methods that declare only SocketException (options, and
     * all of DatagramSocket's): any other IOException is wrapped in one.
     */
    static <T> T translateToSocketException(Io<T> io) throws SocketException {
        try {
            return translate(io);
        } catch (SocketException e) {
            throw e;
        } catch (IOException e) {
            throw (SocketException) new SocketException(e.getMessage()).initCause(e);
        }
    }

    static long nanos(int timeoutMillis) {
        return timeoutMillis * 1_000_000L;
    }

    /** What the socket API throws when a closed socket is used. */
    static void ensureNotClosed(boolean closed) throws SocketException {
        if (closed) {
            throw new SocketException("Socket is closed");
        }
    }

    /**
     * An adaptor's SO_TIMEOUT: kept by the adaptor, as by the JDK's, and handed to the channel as a
     * limit on each blocking call. Thread-safe.
     */
    static final class SoTimeout {
        private volatile int millis;

        void set(boolean closed, int timeout) throws SocketException {
            ensureNotClosed(closed);
            if (timeout < 0) {
                throw new IllegalArgumentException("timeout < 0");
            }
            millis = timeout;
        }

        int get(boolean closed) throws SocketException {
            ensureNotClosed(closed);
            return millis;
        }

        long nanos() {
            return Adaptors.nanos(millis);
        }
    }

    private static SocketException unused() {
        return new SocketException("not used by a jrump socket adaptor");
    }

    /** The {@link SocketImpl} behind an adaptor: a placeholder, never called. */
    static final class NoSocketImpl extends SocketImpl {
        @Override
        protected void create(boolean stream) throws IOException {
            throw unused();
        }

        @Override
        protected void connect(String host, int port) throws IOException {
            throw unused();
        }

        @Override
        protected void connect(InetAddress address, int port) throws IOException {
            throw unused();
        }

        @Override
        protected void connect(SocketAddress address, int timeout) throws IOException {
            throw unused();
        }

        @Override
        protected void bind(InetAddress host, int port) throws IOException {
            throw unused();
        }

        @Override
        protected void listen(int backlog) throws IOException {
            throw unused();
        }

        @Override
        protected void accept(SocketImpl s) throws IOException {
            throw unused();
        }

        @Override
        protected InputStream getInputStream() throws IOException {
            throw unused();
        }

        @Override
        protected OutputStream getOutputStream() throws IOException {
            throw unused();
        }

        @Override
        protected int available() throws IOException {
            throw unused();
        }

        @Override
        protected void close() throws IOException {
        }

        @Override
        protected void sendUrgentData(int data) throws IOException {
            throw unused();
        }

        @Override
        public void setOption(int optID, Object value) throws SocketException {
            throw unused();
        }

        @Override
        public Object getOption(int optID) throws SocketException {
            throw unused();
        }
    }

    /** The {@link DatagramSocketImpl} behind the datagram adaptor: a placeholder, never called. */
    @SuppressWarnings("deprecation")
    static final class NoDatagramSocketImpl extends DatagramSocketImpl {
        @Override
        protected void create() throws SocketException {
        }

        @Override
        protected void bind(int lport, InetAddress laddr) throws SocketException {
            throw unused();
        }

        @Override
        protected void send(DatagramPacket p) throws IOException {
            throw unused();
        }

        @Override
        protected int peek(InetAddress i) throws IOException {
            throw unused();
        }

        @Override
        protected int peekData(DatagramPacket p) throws IOException {
            throw unused();
        }

        @Override
        protected void receive(DatagramPacket p) throws IOException {
            throw unused();
        }

        @Override
        protected void setTTL(byte ttl) throws IOException {
            throw unused();
        }

        @Override
        protected byte getTTL() throws IOException {
            throw unused();
        }

        @Override
        protected void setTimeToLive(int ttl) throws IOException {
            throw unused();
        }

        @Override
        protected int getTimeToLive() throws IOException {
            throw unused();
        }

        @Override
        protected void join(InetAddress inetaddr) throws IOException {
            throw unused();
        }

        @Override
        protected void leave(InetAddress inetaddr) throws IOException {
            throw unused();
        }

        @Override
        protected void joinGroup(SocketAddress mcastaddr, NetworkInterface netIf) throws IOException {
            throw unused();
        }

        @Override
        protected void leaveGroup(SocketAddress mcastaddr, NetworkInterface netIf) throws IOException {
            throw unused();
        }

        @Override
        protected void close() {
        }

        @Override
        public void setOption(int optID, Object value) throws SocketException {
            throw unused();
        }

        @Override
        public Object getOption(int optID) throws SocketException {
            throw unused();
        }
    }
}
