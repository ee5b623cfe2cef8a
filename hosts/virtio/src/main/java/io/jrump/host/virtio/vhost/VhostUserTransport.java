package io.jrump.host.virtio.vhost;

import static io.jrump.host.virtio.vhost.VhostUserMessage.*;

import io.jrump.host.linux.nat.Sys;
import io.jrump.host.virtio.ring.DmaMemory;
import io.jrump.host.virtio.ring.SplitQueue;
import io.jrump.host.virtio.ring.VirtioFeatures;
import io.jrump.host.virtio.ring.VirtioTransport;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The vhost-user transport, front-end side: jrump is the driver, a back-end process on a unix
 * socket is the device (qemu-storage-daemon's {@code vhost-user-blk} export, DPDK's or Open
 * vSwitch's vhost-user ports). The device's memory is one memfd that both map: its descriptor goes
 * to the back-end in {@code SET_MEM_TABLE}; each queue has a kick and a call eventfd, passed with
 * {@code SET_VRING_KICK} and {@code SET_VRING_CALL}.
 *
 * <p>With {@code REPLY_ACK} every request that has no reply of its own asks for one, so a
 * back-end's refusal is reported by the call that caused it. Replies are awaited at most
 * {@link #REPLY_TIMEOUT_MILLIS}; each is checked (request code, reply flag, size) before use.
 * After setup the socket carries nothing, so input on it while waiting for an interrupt means the
 * back-end has gone: {@link #awaitInterrupt} then fails with {@code ECONNRESET}.
 *
 * <p>Thread-safe: messages are serialized on this object.
 */
public final class VhostUserTransport implements VirtioTransport {
    private static final Logger LOG = LoggerFactory.getLogger(VhostUserTransport.class);

    /** The device-name prefix: {@code vhost-user:/path/to.sock}. */
    public static final String PREFIX = "vhost-user:";
    /** How long a back-end may take to answer one message. */
    public static final int REPLY_TIMEOUT_MILLIS = 10_000;
    /** The guest-physical address of the shared memory's first byte, as the back-end sees it. */
    static final long GUEST_BASE = 1L << 32;
    /** vhost-user has no way to ask; 1024 is what common back-ends (libvhost-user, DPDK) take. */
    private static final int MAX_QUEUE_SIZE = 1024;
    private static final long WANTED_PROTOCOL = 1L << PROTOCOL_MQ | 1L << PROTOCOL_REPLY_ACK | 1L << PROTOCOL_CONFIG;

    private final String path;
    private volatile int socket;
    private final ByteBuffer out = ByteBuffer.allocateDirect(4096).order(ByteOrder.nativeOrder());
    private final ByteBuffer in = ByteBuffer.allocateDirect(MAX_REPLY).order(ByteOrder.nativeOrder());
    private long deviceFeatures;
    private long protocolFeatures;
    private int queueCount;
    /** The features {@link #setFeatures} accepted, replayed by {@link #reconnect}; -1 before. */
    private long driverFeatures = -1;
    private int memfd = -1;
    private Sys.Mapping mapping;
    /** Per queue index: {kick, call}, or null. Guarded by fdLock, not the object's lock. */
    private final List<int[]> queueFds = new ArrayList<>();
    /**
     * Kicks and wake-ups come from any thread and must not run into a reconnect or close that is
     * closing the eventfds (whose numbers the kernel may hand out again at once); they take only
     * this lock, never the object's, which a reconnect holds for seconds.
     */
    private final Object fdLock = new Object();
    private volatile boolean closed;

    private VhostUserTransport(String path, int socket) throws ErrnoException {
        this.path = path;
        this.socket = socket;
        handshake();
    }

    /** Features, protocol features, queue count, ownership: the start of every connection. */
    private void handshake() throws ErrnoException {
        protocolFeatures = 0; // no REPLY_ACK until it is negotiated again
        deviceFeatures = requestU64(GET_FEATURES);
        if (!VirtioFeatures.has(deviceFeatures, VirtioFeatures.VERSION_1)) {
            throw new ErrnoException(Errno.EOPNOTSUPP, describe() + ": the back-end offers no VIRTIO_F_VERSION_1"
                    + " (features 0x" + Long.toHexString(deviceFeatures) + "); legacy devices are unsupported");
        }
        long protocol = 0;
        if (VirtioFeatures.has(deviceFeatures, VirtioFeatures.VHOST_USER_PROTOCOL_FEATURES)) {
            protocol = requestU64(GET_PROTOCOL_FEATURES) & WANTED_PROTOCOL;
            sendU64(SET_PROTOCOL_FEATURES, protocol, false);
        }
        protocolFeatures = protocol;
        queueCount = has(PROTOCOL_MQ) ? (int) Math.min(requestU64(GET_QUEUE_NUM), 1 << 16) : 0;
        send(SET_OWNER, 0);
    }

    /**
     * Connects to the back-end listening on {@code path} and does the handshake: features,
     * protocol features, queue count, ownership.
     *
     * @throws ErrnoException {@code ENOENT}/{@code ECONNREFUSED} if nothing listens there,
     *     {@code EOPNOTSUPP} for a legacy-only back-end, {@code ETIMEDOUT} if it does not answer,
     *     {@code EPROTO} if it answers out of protocol
     */
    public static VhostUserTransport connect(String path) throws ErrnoException {
        int fd = Sys.unixConnect(path);
        try {
            return new VhostUserTransport(path, fd);
        } catch (ErrnoException | RuntimeException e) {
            Sys.close(fd, path);
            throw e;
        }
    }

    private boolean has(int protocolFeature) {
        return (protocolFeatures >>> protocolFeature & 1) != 0;
    }

    @Override
    public String describe() {
        return PREFIX + path;
    }

    @Override
    public long deviceFeatures() {
        return deviceFeatures;
    }

    @Override
    public boolean hasConfigSpace() {
        return has(PROTOCOL_CONFIG);
    }

    @Override
    public synchronized void readConfig(int offset, ByteBuffer dst) throws ErrnoException {
        if (!has(PROTOCOL_CONFIG)) {
            throw new ErrnoException(Errno.EOPNOTSUPP, describe() + ": the back-end has no configuration space"
                    + " (VHOST_USER_PROTOCOL_F_CONFIG)");
        }
        int size = dst.remaining();
        if (offset < 0 || size > MAX_REPLY - 12 - HEADER) {
            throw new IllegalArgumentException("config read of " + size + " bytes at " + offset);
        }
        ByteBuffer p = begin(GET_CONFIG, 0);
        p.putInt(offset).putInt(size).putInt(0);
        for (int i = 0; i < size; i++) {
            p.put((byte) 0);
        }
        flush(GET_CONFIG, new int[0]);
        ByteBuffer reply = reply(GET_CONFIG);
        if (reply.remaining() != 12 + size) {
            throw protocolError("GET_CONFIG reply of " + reply.remaining() + " bytes for a " + size + "-byte read"
                    + " (the back-end refused it)");
        }
        int gotOffset = reply.getInt();
        int gotSize = reply.getInt();
        reply.getInt();
        if (gotOffset != offset || gotSize != size) {
            throw protocolError("GET_CONFIG reply for " + gotSize + " bytes at " + gotOffset + ", asked "
                    + size + " at " + offset);
        }
        dst.duplicate().put(reply);
    }

    @Override
    public synchronized void setFeatures(long features) throws ErrnoException {
        if ((features & ~deviceFeatures) != 0) {
            throw new IllegalArgumentException("features 0x" + Long.toHexString(features & ~deviceFeatures)
                    + " not offered");
        }
        // The protocol-features bit stays on, or a back-end would treat the rings as enabled from the start.
        long bits = features | (deviceFeatures & VirtioFeatures.bit(VirtioFeatures.VHOST_USER_PROTOCOL_FEATURES));
        sendU64(SET_FEATURES, bits, true);
        driverFeatures = features;
    }

    @Override
    public boolean canReconnect() {
        return true;
    }

    /**
     * Connects again to a back-end that went away (restarted on the same socket), for up to
     * {@code waitMillis}: the handshake, the features accepted before (which it must still offer)
     * and the same memory, whose memfd goes to the new back-end. The queues are then to be
     * started again, empty.
     */
    @Override
    public synchronized void reconnect(long waitMillis) throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.ESHUTDOWN, describe() + " is closed");
        }
        Sys.close(socket, describe());
        socket = -1;
        closeQueueDescriptors();
        long deadline = System.nanoTime() + waitMillis * 1_000_000;
        while (true) {
            try {
                socket = Sys.unixConnect(path);
                handshake();
                if (driverFeatures >= 0) {
                    if ((driverFeatures & ~deviceFeatures) != 0) {
                        throw new ErrnoException(Errno.EIO, describe() + ": the restarted back-end no longer offers"
                                + " features 0x" + Long.toHexString(driverFeatures & ~deviceFeatures));
                    }
                    setFeatures(driverFeatures);
                }
                if (mapping != null) {
                    sendMemoryTable();
                }
                return;
            } catch (ErrnoException e) {
                if (socket >= 0) {
                    Sys.close(socket, describe());
                    socket = -1;
                }
                // Not there yet, or still going (a back-end that accepts while it starts up): again.
                boolean comesAgain = switch (e.errno()) {
                    case ENOENT, ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT -> true;
                    default -> false;
                };
                if (!comesAgain) {
                    throw e;
                }
                if (System.nanoTime() > deadline) {
                    throw new ErrnoException(Errno.ENOTCONN, describe() + ": no back-end came back within "
                            + waitMillis / 1000 + " s (" + e.getMessage() + ")");
                }
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ErrnoException(Errno.EINTR, describe() + ": reconnecting interrupted");
            }
        }
    }

    @Override
    public int maxQueueSize(int index) {
        return queueCount == 0 || index < queueCount ? MAX_QUEUE_SIZE : 0;
    }

    @Override
    public int queueCount() {
        return queueCount;
    }

    @Override
    public synchronized DmaMemory allocateMemory(int bytes) throws ErrnoException {
        if (mapping != null) {
            throw new IllegalStateException("memory allocated twice");
        }
        int size = (bytes + 4095) & -4096;
        memfd = Sys.memfd("jrump-virtio", size);
        mapping = Sys.mapShared(memfd, 0, size, "memfd for " + describe());
        sendMemoryTable();
        return new DmaMemory(mapping.buffer(), GUEST_BASE);
    }

    private void sendMemoryTable() throws ErrnoException {
        ByteBuffer p = begin(SET_MEM_TABLE, 0);
        p.putInt(1).putInt(0); // one region, padding
        p.putLong(GUEST_BASE).putLong(mapping.length()).putLong(mapping.address()).putLong(0);
        flush(SET_MEM_TABLE, new int[] {memfd});
        awaitAck(SET_MEM_TABLE);
    }

    @Override
    public synchronized void startQueue(SplitQueue queue) throws ErrnoException {
        int index = queue.index();
        int kick = Sys.eventfd("kick of " + describe());
        int call;
        try {
            call = Sys.eventfd("call of " + describe());
        } catch (ErrnoException e) {
            Sys.close(kick, "kick eventfd");
            throw e;
        }
        synchronized (fdLock) {
            while (queueFds.size() <= index) {
                queueFds.add(null);
            }
            int[] old = queueFds.set(index, new int[] {kick, call});
            if (old != null) { // started again without a reconnect: the old pair is ours to close
                Sys.close(old[0], "kick eventfd");
                Sys.close(old[1], "call eventfd");
            }
        }
        sendState(SET_VRING_NUM, index, queue.size());
        sendState(SET_VRING_BASE, index, 0);
        long ua = mapping.address();
        ByteBuffer p = begin(SET_VRING_ADDR, 0);
        p.putInt(index).putInt(0);
        p.putLong(ua + queue.descriptorTableOffset()).putLong(ua + queue.usedRingOffset())
                .putLong(ua + queue.availableRingOffset()).putLong(0);
        flush(SET_VRING_ADDR, new int[0]);
        awaitAck(SET_VRING_ADDR);
        sendU64WithFd(SET_VRING_KICK, index, kick);
        sendU64WithFd(SET_VRING_CALL, index, call);
        // With protocol features negotiated the rings start disabled (vhost-user.rst, "Ring states").
        if (VirtioFeatures.has(deviceFeatures, VirtioFeatures.VHOST_USER_PROTOCOL_FEATURES)) {
            sendState(SET_VRING_ENABLE, index, 1);
        }
    }

    @Override
    public void driverOk() {
        // Plain vhost-user has no status register: the rings run once kicked and enabled.
    }

    @Override
    public void kick(int index) throws ErrnoException {
        synchronized (fdLock) {
            Sys.eventfdSignal(fds(index)[0], "kick queue " + index + " of " + describe());
        }
    }

    @Override
    public void awaitInterrupt(int index) throws ErrnoException {
        // The queue's own thread: the one that reconnects, so its eventfds stay open while it polls.
        int[] fds;
        synchronized (fdLock) {
            fds = fds(index);
        }
        long ready = Sys.pollReadable(new int[] {fds[1], socket}, -1, describe());
        if (closed) {
            throw new ErrnoException(Errno.ESHUTDOWN, describe() + " is closed");
        }
        if ((ready & 2) != 0) {
            throw new ErrnoException(Errno.ECONNRESET, describe() + ": the back-end closed the connection");
        }
        if ((ready & 1) != 0) {
            Sys.eventfdWait(fds[1], "call queue " + index + " of " + describe());
        }
    }

    @Override
    public void wakeUp(int index) {
        synchronized (fdLock) {
            try {
                Sys.eventfdSignal(fds(index)[1], "wake queue " + index);
            } catch (ErrnoException e) {
                LOG.debug("{}: wake-up of queue {}: {}", describe(), index, e.getMessage());
            }
        }
    }

    /** Under fdLock. */
    private int[] fds(int index) throws ErrnoException {
        int[] fds = index < queueFds.size() ? queueFds.get(index) : null;
        if (fds == null) {
            throw new ErrnoException(Errno.EBADF, describe() + ": queue " + index + " is not started");
        }
        return fds;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        int queues;
        synchronized (fdLock) {
            queues = queueFds.size();
        }
        for (int i = 0; i < queues; i++) {
            boolean started;
            synchronized (fdLock) {
                started = queueFds.get(i) != null;
            }
            if (started) {
                try {
                    // Stops the ring in the back-end before its memory goes away.
                    ByteBuffer p = begin(GET_VRING_BASE, 0);
                    p.putInt(i).putInt(0);
                    flush(GET_VRING_BASE, new int[0]);
                    reply(GET_VRING_BASE);
                } catch (ErrnoException e) {
                    LOG.debug("{}: stopping queue {}: {}", describe(), i, e.getMessage());
                    break;
                }
            }
        }
        if (socket >= 0) {
            Sys.close(socket, describe());
        }
        closeQueueDescriptors();
        if (mapping != null) {
            Sys.unmap(mapping, "memory of " + describe());
            Sys.close(memfd, "memfd of " + describe());
        }
    }

    private void closeQueueDescriptors() {
        synchronized (fdLock) {
            for (int[] fds : queueFds) {
                if (fds != null) {
                    Sys.close(fds[0], "kick eventfd");
                    Sys.close(fds[1], "call eventfd");
                }
            }
            queueFds.clear();
        }
    }

    // ---- messages ----------------------------------------------------------------------------

    private ByteBuffer begin(int request, int flags) {
        out.clear();
        out.putInt(request).putInt(VERSION | flags).putInt(0);
        return out;
    }

    private void flush(int request, int[] fds) throws ErrnoException {
        if (closed && request != GET_VRING_BASE) {
            throw new ErrnoException(Errno.EBADF, describe() + " is closed");
        }
        boolean ack = has(PROTOCOL_REPLY_ACK) && request != GET_FEATURES && request != GET_PROTOCOL_FEATURES
                && request != GET_QUEUE_NUM && request != GET_CONFIG && request != GET_VRING_BASE
                && request != SET_PROTOCOL_FEATURES;
        out.putInt(4, out.getInt(4) | (ack ? FLAG_NEED_REPLY : 0));
        out.putInt(8, out.position() - HEADER);
        out.flip();
        Sys.sendWithDescriptors(socket, out, fds, describe() + " " + name(request));
        pendingAck = ack;
    }

    /** Whether the message just sent asked for an acknowledgement ({@code REPLY_ACK}). */
    private boolean pendingAck;

    private void awaitAck(int request) throws ErrnoException {
        if (!pendingAck) {
            return;
        }
        pendingAck = false;
        ByteBuffer reply = reply(request);
        if (reply.remaining() != 8) {
            throw protocolError(name(request) + " acknowledgement of " + reply.remaining() + " bytes, expected 8");
        }
        long status = reply.getLong();
        if (status != 0) {
            throw new ErrnoException(Errno.EIO, describe() + ": the back-end refused " + name(request)
                    + " (status " + status + ")");
        }
    }

    private void send(int request, int flags) throws ErrnoException {
        begin(request, flags);
        flush(request, new int[0]);
        awaitAck(request);
    }

    private void sendU64(int request, long value, boolean ack) throws ErrnoException {
        begin(request, 0).putLong(value);
        flush(request, new int[0]);
        if (ack) {
            awaitAck(request);
        } else {
            pendingAck = false;
        }
    }

    private void sendU64WithFd(int request, int index, int fd) throws ErrnoException {
        begin(request, 0).putLong(index);
        flush(request, new int[] {fd});
        awaitAck(request);
    }

    private void sendState(int request, int index, int num) throws ErrnoException {
        begin(request, 0).putInt(index).putInt(num);
        flush(request, new int[0]);
        awaitAck(request);
    }

    private long requestU64(int request) throws ErrnoException {
        begin(request, 0);
        flush(request, new int[0]);
        ByteBuffer reply = reply(request);
        if (reply.remaining() != 8) {
            throw protocolError(name(request) + " reply of " + reply.remaining() + " bytes, expected 8");
        }
        return reply.getLong();
    }

    /** Reads the reply to {@code request}: its payload, checked against the header. */
    private ByteBuffer reply(int request) throws ErrnoException {
        long ready = Sys.pollReadable(new int[] {socket}, REPLY_TIMEOUT_MILLIS, describe());
        if (ready == 0) {
            throw new ErrnoException(Errno.ETIMEDOUT, describe() + ": no reply to " + name(request) + " within "
                    + REPLY_TIMEOUT_MILLIS / 1000 + " s");
        }
        in.clear().limit(HEADER);
        Sys.readFully(socket, in, describe() + " reply to " + name(request));
        int code = in.getInt(0);
        int flags = in.getInt(4);
        int size = in.getInt(8);
        if (code != request || (flags & FLAG_REPLY) == 0 || (flags & 3) != VERSION) {
            throw protocolError("expected the reply to " + name(request) + ", got " + name(code) + " with flags 0x"
                    + Integer.toHexString(flags));
        }
        if (size < 0 || size > MAX_REPLY) {
            throw protocolError("reply to " + name(request) + " of " + Integer.toUnsignedString(size)
                    + " bytes (at most " + MAX_REPLY + ")");
        }
        in.clear().limit(size);
        Sys.readFully(socket, in, describe() + " reply to " + name(request));
        return in.duplicate().order(ByteOrder.nativeOrder());
    }

    private ErrnoException protocolError(String what) {
        return new ErrnoException(Errno.EPROTO, describe() + ": " + what);
    }

    @Override
    public String toString() {
        return "VhostUserTransport[" + path + ", features 0x" + Long.toHexString(deviceFeatures) + ", protocol 0x"
                + Long.toHexString(protocolFeatures) + "]";
    }
}
