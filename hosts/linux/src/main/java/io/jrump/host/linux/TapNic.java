package io.jrump.host.linux;

import io.jrump.host.linux.nat.Sys;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.HostScheduler;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.hypercall.hostkit.FrameChecks;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A NIC on a Linux TAP device: {@code /dev/net/tun} attached with {@code TUNSETIFF} to the
 * interface {@code IFF_TAP | IFF_NO_PI}, so that each {@code read(2)} and {@code write(2)} is one
 * whole Ethernet frame. The TAP interface is the Linux side of the link; this NIC is the kernel's
 * side, with its own MAC (asked for, or a random locally administered one), never the
 * interface's.
 *
 * <p>A receive thread polls the descriptor (waking every {@link #POLL_MILLIS} ms to notice
 * {@link #close()}), reads frames and queues them on the kernel's event loop; at most
 * {@link #QUEUE_LIMIT} may wait there, beyond which frames are dropped and counted
 * ({@link #receiveDrops()}), as a full NIC ring would drop them. Sends write straight to the
 * descriptor from the caller's thread; a frame the TAP refuses because its queue is full fails
 * with {@code ENOBUFS}, one refused because the interface is down is dropped and counted.
 *
 * <p>Thread-safe. Delivery and {@link #close()} share the NIC's lock, so once close returns no
 * frame reaches the receiver.
 */
final class TapNic implements HostNic {
    private static final Logger LOG = LoggerFactory.getLogger(TapNic.class);
    static final int QUEUE_LIMIT = 4096;
    static final int POLL_MILLIS = 100;
    /** Larger than any frame a TAP without offloads delivers (64 KiB MTU plus headers). */
    private static final int READ_BUFFER = 65536 + 64;

    private final String name;
    private final String ifname;
    private final int fd;
    private final MacAddress mac;
    private final int mtu;
    private final FrameReceiver receiver;
    private final HostScheduler loop;
    private final Consumer<TapNic> onClose;
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong receiveDrops = new AtomicLong();
    private final AtomicLong sendDrops = new AtomicLong();
    private final ThreadLocal<ByteBuffer> sendBuffers = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(READ_BUFFER));
    private final Thread reader;
    private volatile boolean closed;

    private TapNic(String name, String ifname, int fd, MacAddress mac, int mtu, FrameReceiver receiver,
            HostScheduler loop, Consumer<TapNic> onClose) {
        this.name = name;
        this.ifname = ifname;
        this.fd = fd;
        this.mac = mac;
        this.mtu = mtu;
        this.receiver = receiver;
        this.loop = loop;
        this.onClose = onClose;
        this.reader = new Thread(this::receiveLoop, "jrump-tap-" + ifname);
        reader.setDaemon(true);
    }

    /**
     * Attaches to the TAP interface {@code ifname}, creating it if there is none (it then lives
     * as long as this NIC), and starts receiving.
     *
     * @param mac our side's address
     * @param mtu the MTU wanted, or 0 for the interface's own
     */
    static TapNic open(String name, String ifname, MacAddress mac, int mtu, FrameReceiver receiver,
            HostScheduler loop, Consumer<TapNic> onClose) throws ErrnoException {
        int fd;
        try {
            fd = Sys.open("/dev/net/tun", Sys.O_RDWR | Sys.O_NONBLOCK, 0);
        } catch (ErrnoException e) {
            throw new ErrnoException(e.errno() == Errno.ENOENT ? Errno.ENODEV : e.errno(),
                    "open /dev/net/tun for " + name, e);
        }
        try {
            String actual = Sys.tunSetIff(fd, ifname, (short) (Sys.IFF_TAP | Sys.IFF_NO_PI));
            int linkMtu = Sys.interfaceMtu(actual);
            TapNic nic = new TapNic(name, actual, fd, mac, mtu == 0 ? linkMtu : mtu, receiver, loop, onClose);
            nic.reader.start();
            LOG.debug("{}: TAP {} attached, MAC {}, MTU {}", name, actual, mac, nic.mtu);
            return nic;
        } catch (ErrnoException | RuntimeException e) {
            Sys.close(fd, "/dev/net/tun for " + ifname);
            throw e;
        }
    }

    @Override
    public String name() {
        return name;
    }

    /** The TAP interface's name in Linux. */
    String interfaceName() {
        return ifname;
    }

    @Override
    public MacAddress mac() {
        return mac;
    }

    @Override
    public int mtu() {
        return mtu;
    }

    /** Frames received from Linux but dropped because the event loop's queue was full. */
    long receiveDrops() {
        return receiveDrops.get();
    }

    /** Frames sent but dropped by the TAP device (interface down). */
    long sendDrops() {
        return sendDrops.get();
    }

    @Override
    public void send(ByteBuffer frame) throws ErrnoException {
        FrameChecks.checkSend(this, closed, frame);
        ByteBuffer b = sendBuffers.get().clear();
        b.put(frame.duplicate()).flip();
        try {
            Sys.write(fd, b, "TAP " + ifname);
        } catch (ErrnoException e) {
            switch (e.errno()) {
                case EAGAIN -> throw new ErrnoException(Errno.ENOBUFS, "TAP " + ifname + " queue is full", e);
                case EIO, ENETDOWN -> sendDrops.incrementAndGet(); // interface down: the wire drops it
                default -> throw e;
            }
        }
    }

    private void receiveLoop() {
        ByteBuffer buf = ByteBuffer.allocateDirect(READ_BUFFER);
        String what = "TAP " + ifname;
        try {
            while (!closed) {
                int revents = Sys.poll(fd, Sys.POLLIN, POLL_MILLIS, what);
                if ((revents & Sys.POLLIN) == 0) {
                    continue;
                }
                while (!closed) {
                    int n = Sys.read(fd, buf.clear(), what);
                    if (n <= 0) {
                        break;
                    }
                    byte[] frame = new byte[n];
                    buf.get(0, frame);
                    deliver(frame);
                }
            }
        } catch (ErrnoException e) {
            if (!closed) {
                LOG.warn("{}: receiving stopped: {}", name, e.getMessage());
            }
        }
    }

    private void deliver(byte[] frame) {
        if (queued.incrementAndGet() > QUEUE_LIMIT) {
            queued.decrementAndGet();
            receiveDrops.incrementAndGet();
            return;
        }
        try {
            loop.execute(() -> {
                queued.decrementAndGet();
                synchronized (this) {
                    if (!closed) {
                        receiver.frameReceived(ByteBuffer.wrap(frame).asReadOnlyBuffer());
                    }
                }
            });
        } catch (IllegalStateException e) {
            queued.decrementAndGet(); // the host's loop has closed
            receiveDrops.incrementAndGet();
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (Thread.currentThread() != reader) {
            try {
                reader.join(10L * POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (reader.isAlive()) {
            LOG.warn("{}: receive thread did not stop; closing the descriptor anyway", name);
        }
        Sys.close(fd, "TAP " + ifname);
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "TapNic[" + ifname + " " + mac + "]";
    }
}
