package io.jrump.host.linux;

import io.jrump.host.kit.FrameChecks;
import io.jrump.host.kit.VirtioNetHeader;
import io.jrump.host.linux.nat.Sys;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.HostScheduler;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.hypercall.NicOffload;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
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
 * <p><b>Offloads.</b> When the opener asks for any ({@link io.jrump.hypercall.NicOptions#offloads()}),
 * the TAP is opened with {@code IFF_VNET_HDR}: every frame read or written starts with a 10-byte
 * {@link VirtioNetHeader}. That alone lets us send frames with partial checksums and TCP/IPv4
 * segments up to 64 KiB that Linux segments ({@link NicOffload#TX_CHECKSUM},
 * {@link NicOffload#TX_TCP4_SEGMENTATION}, {@link NicOffload#TX_TCP6_SEGMENTATION});
 * {@code TUNSETOFFLOAD} with {@code TUN_F_CSUM}, {@code TUN_F_TSO4} and {@code TUN_F_TSO6} lets Linux
 * hand us the same ({@link NicOffload#RX_CHECKSUM}, {@link NicOffload#RX_TCP4_LARGE_SEGMENTS},
 * {@link NicOffload#RX_TCP6_LARGE_SEGMENTS}). A frame whose header does not check out is dropped
 * and counted ({@link #badHeaders()}).
 *
 * <p><b>Receiving.</b> A receive thread polls the descriptor (waking every {@link #POLL_MILLIS}
 * ms to notice {@link #close()}), then reads every frame there is, until {@code EAGAIN}, into
 * {@link FrameBatch}es of up to {@link #BATCH_FRAMES} frames or {@link #BATCH_BYTES} bytes, and
 * queues each batch on the event loop as one task; the thread hand-off per frame was the cost that
 * mattered. At most {@link #QUEUE_LIMIT} frames, in at most {@link #MAX_BATCHES} batches, may
 * wait there, beyond which frames are dropped and counted ({@link #receiveDrops()}), as a full NIC
 * ring would drop them. Sends write straight to the descriptor from the caller's thread; a frame
 * the TAP refuses because its queue is full fails with {@code ENOBUFS}, one refused because the
 * interface is down is dropped and counted.
 *
 * <p>Thread-safe. Delivery and {@link #close()} share the NIC's lock, so once close returns no
 * frame reaches the receiver.
 */
final class TapNic implements HostNic {
    private static final Logger LOG = LoggerFactory.getLogger(TapNic.class);
    static final int QUEUE_LIMIT = 4096;
    static final int POLL_MILLIS = 100;
    static final int BATCH_FRAMES = 64;
    static final int BATCH_BYTES = 256 * 1024;
    /** Batches waiting or being delivered at most: the frame limit in 64-frame batches. */
    static final int MAX_BATCHES = QUEUE_LIMIT / BATCH_FRAMES;
    /** The longest read: a virtio-net header and the longest frame an offload allows, 8-aligned. */
    private static final int MAX_READ = (VirtioNetHeader.LENGTH + MAX_OFFLOAD_FRAME_LENGTH + 7) & ~7;

    private final String name;
    private final String ifname;
    private final String what;
    private final int fd;
    private final MacAddress mac;
    private final int mtu;
    private final Set<NicOffload> offloads;
    private final boolean vnet;
    private final FrameReceiver receiver;
    private final HostScheduler loop;
    private final Consumer<TapNic> onClose;
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicInteger batches = new AtomicInteger();
    private final ConcurrentLinkedQueue<FrameBatch> freeBatches = new ConcurrentLinkedQueue<>();
    private final AtomicLong receiveDrops = new AtomicLong();
    private final AtomicLong sendDrops = new AtomicLong();
    private final AtomicLong badHeaders = new AtomicLong();
    private final AtomicLong receiveBatches = new AtomicLong();
    private final ThreadLocal<ByteBuffer> sendBuffers = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(MAX_READ));
    private final ThreadLocal<ByteBuffer> sendHeaders =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(VirtioNetHeader.LENGTH));
    private final Thread reader;
    private volatile boolean closed;

    private TapNic(String name, String ifname, int fd, MacAddress mac, int mtu, Set<NicOffload> offloads,
            FrameReceiver receiver, HostScheduler loop, Consumer<TapNic> onClose) {
        this.name = name;
        this.ifname = ifname;
        this.what = "TAP " + ifname;
        this.fd = fd;
        this.mac = mac;
        this.mtu = mtu;
        this.offloads = offloads;
        this.vnet = !offloads.isEmpty();
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
     * @param wanted the offloads the opener can handle; none opens the TAP without a vnet header
     */
    static TapNic open(String name, String ifname, MacAddress mac, int mtu, Set<NicOffload> wanted,
            FrameReceiver receiver, HostScheduler loop, Consumer<TapNic> onClose) throws ErrnoException {
        int fd;
        try {
            fd = Sys.open("/dev/net/tun", Sys.O_RDWR | Sys.O_NONBLOCK, 0);
        } catch (ErrnoException e) {
            throw new ErrnoException(e.errno() == Errno.ENOENT ? Errno.ENODEV : e.errno(),
                    "open /dev/net/tun for " + name, e);
        }
        try {
            Set<NicOffload> granted = grantable(wanted);
            if (!granted.isEmpty() && (Sys.tunFeatures(fd) & Sys.IFF_VNET_HDR) == 0) {
                LOG.warn("{}: the TUN driver has no IFF_VNET_HDR; no offloads", name);
                granted = NicOffload.NONE;
            }
            short flags = (short) (Sys.IFF_TAP | Sys.IFF_NO_PI | (granted.isEmpty() ? 0 : Sys.IFF_VNET_HDR));
            String actual = Sys.tunSetIff(fd, ifname, flags);
            if (!granted.isEmpty()) {
                Sys.tunSetVnetHeaderSize(fd, VirtioNetHeader.LENGTH, "TAP " + actual);
                Sys.tunSetOffload(fd, tunOffloadFlags(granted), "TAP " + actual);
            } else {
                // The device's offload features outlive the file: a persistent TAP once opened with
                // TUN_F_CSUM would go on handing over partial checksums, with no header to say so.
                Sys.tunSetOffload(fd, 0, "TAP " + actual);
            }
            int linkMtu = Sys.interfaceMtu(actual);
            TapNic nic = new TapNic(name, actual, fd, mac, mtu == 0 ? linkMtu : mtu, granted, receiver, loop, onClose);
            nic.reader.start();
            LOG.debug("{}: TAP {} attached, MAC {}, MTU {}, offloads {}", name, actual, mac, nic.mtu, granted);
            return nic;
        } catch (ErrnoException | RuntimeException e) {
            Sys.close(fd, "/dev/net/tun for " + ifname);
            throw e;
        }
    }

    /** What a TAP can do of {@code wanted}: all of it, less what lacks its prerequisite. */
    static Set<NicOffload> grantable(Set<NicOffload> wanted) {
        EnumSet<NicOffload> g = wanted.isEmpty() ? EnumSet.noneOf(NicOffload.class) : EnumSet.copyOf(wanted);
        if (!g.contains(NicOffload.TX_CHECKSUM)) {
            g.remove(NicOffload.TX_TCP4_SEGMENTATION);
            g.remove(NicOffload.TX_TCP6_SEGMENTATION);
        }
        if (!g.contains(NicOffload.RX_CHECKSUM)) {
            g.remove(NicOffload.RX_TCP4_LARGE_SEGMENTS);
            g.remove(NicOffload.RX_TCP6_LARGE_SEGMENTS);
        }
        return g.isEmpty() ? NicOffload.NONE : Set.copyOf(g);
    }

    /** {@code TUNSETOFFLOAD}'s flags: what Linux may hand us, i.e. the receive offloads. */
    static int tunOffloadFlags(Set<NicOffload> granted) {
        int f = 0;
        if (granted.contains(NicOffload.RX_CHECKSUM)) {
            f |= Sys.TUN_F_CSUM;
            if (granted.contains(NicOffload.RX_TCP4_LARGE_SEGMENTS)) {
                f |= Sys.TUN_F_TSO4;
            }
            if (granted.contains(NicOffload.RX_TCP6_LARGE_SEGMENTS)) {
                f |= Sys.TUN_F_TSO6;
            }
        }
        return f;
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

    @Override
    public Set<NicOffload> offloads() {
        return offloads;
    }

    /** Frames received from Linux but dropped because the event loop's queue was full. */
    long receiveDrops() {
        return receiveDrops.get();
    }

    /** Frames sent but dropped by the TAP device (interface down). */
    long sendDrops() {
        return sendDrops.get();
    }

    /** Frames received with a virtio-net header that did not check out, dropped. */
    long badHeaders() {
        return badHeaders.get();
    }

    /** Batches handed to the event loop so far (each one task). */
    long receiveBatches() {
        return receiveBatches.get();
    }

    @Override
    public void send(ByteBuffer frame) throws ErrnoException {
        FrameChecks.checkSend(this, closed, frame);
        write(frame, FrameOffload.NONE);
    }

    @Override
    public void send(ByteBuffer frame, FrameOffload offload) throws ErrnoException {
        FrameChecks.checkSend(this, closed, frame, offload);
        write(frame, offload);
    }

    /**
     * One {@code write(2)}: a frame in direct memory goes out as it is, after its virtio-net header
     * ({@code writev(2)}, no copy); any other is first copied into a direct buffer with room for
     * the header in front.
     */
    private void write(ByteBuffer frame, FrameOffload offload) throws ErrnoException {
        try {
            if (vnet && frame.isDirect()) {
                ByteBuffer header = sendHeaders.get().clear();
                VirtioNetHeader.emit(header, 0, offload, FrameOffload.isIpv6(frame));
                header.limit(VirtioNetHeader.LENGTH);
                Sys.writev(fd, header, frame, what);
                return;
            }
            ByteBuffer b = sendBuffers.get().clear();
            if (vnet) {
                VirtioNetHeader.emit(b, 0, offload, FrameOffload.isIpv6(frame));
                b.position(VirtioNetHeader.LENGTH);
            }
            b.put(frame.duplicate()).flip();
            Sys.write(fd, b, what);
        } catch (ErrnoException e) {
            switch (e.errno()) {
                case EAGAIN -> throw new ErrnoException(Errno.ENOBUFS, what + " queue is full", e);
                case EIO, ENETDOWN -> sendDrops.incrementAndGet(); // interface down: the wire drops it
                case EINVAL -> throw new ErrnoException(Errno.EINVAL, what + " refused the virtio-net header for "
                        + offload, e);
                default -> throw e;
            }
        }
    }

    private void receiveLoop() {
        ByteBuffer scratch = ByteBuffer.allocateDirect(MAX_READ); // for frames read only to drop them
        boolean rxChecksum = offloads.contains(NicOffload.RX_CHECKSUM);
        boolean rxLarge = offloads.contains(NicOffload.RX_TCP4_LARGE_SEGMENTS);
        boolean rxLarge6 = offloads.contains(NicOffload.RX_TCP6_LARGE_SEGMENTS);
        try {
            while (!closed) {
                int revents = Sys.poll(fd, Sys.POLLIN, POLL_MILLIS, what);
                if ((revents & Sys.POLLIN) == 0) {
                    continue;
                }
                FrameBatch batch = takeBatch();
                while (!closed) {
                    if (batch == null) {
                        if (Sys.read(fd, scratch.clear(), what) <= 0) {
                            break;
                        }
                        receiveDrops.incrementAndGet(); // every batch is waiting: the ring is full
                        batch = takeBatch();
                        continue;
                    }
                    int at = batch.readOffset();
                    int n = Sys.read(fd, batch.readRoom(), what);
                    if (n <= 0) {
                        break;
                    }
                    int flags = 0;
                    int start = at;
                    int length = n;
                    if (vnet) {
                        try {
                            flags = VirtioNetHeader.parse(batch.buffer(), at, n - VirtioNetHeader.LENGTH, rxChecksum,
                                    rxLarge, rxLarge6);
                        } catch (ErrnoException e) {
                            if (badHeaders.incrementAndGet() == 1) {
                                LOG.debug("{}: frame dropped: {}", name, e.getMessage());
                            }
                            continue;
                        }
                        start += VirtioNetHeader.LENGTH;
                        length -= VirtioNetHeader.LENGTH;
                    }
                    if (queued.get() + batch.count() >= QUEUE_LIMIT) {
                        receiveDrops.incrementAndGet();
                        continue;
                    }
                    batch.add(start, length, flags, n);
                    if (batch.isFull()) {
                        post(batch);
                        batch = takeBatch();
                    }
                }
                if (batch != null) {
                    if (batch.count() > 0) {
                        post(batch);
                    } else {
                        recycle(batch);
                    }
                }
            }
        } catch (ErrnoException e) {
            if (!closed) {
                LOG.warn("{}: receiving stopped: {}", name, e.getMessage());
            }
        }
    }

    /** A free batch, a new one while fewer than {@link #MAX_BATCHES} exist, else null. */
    private FrameBatch takeBatch() {
        FrameBatch b = freeBatches.poll();
        if (b != null) {
            return b;
        }
        if (batches.incrementAndGet() > MAX_BATCHES) {
            batches.decrementAndGet();
            return null;
        }
        return new FrameBatch(BATCH_BYTES, BATCH_FRAMES, MAX_READ);
    }

    private void recycle(FrameBatch b) {
        b.clear();
        freeBatches.offer(b);
    }

    /** Queues the batch's frames on the event loop as one task. */
    private void post(FrameBatch batch) {
        int n = batch.count();
        queued.addAndGet(n);
        receiveBatches.incrementAndGet();
        try {
            loop.execute(() -> {
                try {
                    synchronized (this) {
                        if (!closed) {
                            batch.deliverTo(receiver);
                        }
                    }
                } finally {
                    queued.addAndGet(-n);
                    recycle(batch);
                }
            });
        } catch (IllegalStateException e) {
            queued.addAndGet(-n); // the host's loop has closed
            receiveDrops.addAndGet(n);
            recycle(batch);
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
        Sys.close(fd, what);
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "TapNic[" + ifname + " " + mac + " offloads " + offloads + "]";
    }
}
