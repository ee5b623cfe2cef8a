package io.jrump.host.virtio.net;

import io.jrump.host.kit.FrameChecks;
import io.jrump.host.kit.VirtioNetHeader;
import io.jrump.host.virtio.ring.BrokenDeviceException;
import io.jrump.host.virtio.ring.DmaMemory;
import io.jrump.host.virtio.ring.SplitQueue;
import io.jrump.host.virtio.ring.VirtioFeatures;
import io.jrump.host.virtio.ring.VirtioTransport;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.FrameOffload;
import io.jrump.hypercall.HostNic;
import io.jrump.hypercall.HostRandom;
import io.jrump.hypercall.HostScheduler;
import io.jrump.hypercall.MacAddress;
import io.jrump.hypercall.NetworkInterfaces.FrameReceiver;
import io.jrump.hypercall.NicOffload;
import io.jrump.hypercall.NicOptions;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A virtio-net device (virtio 1.2, 5.1) as a {@link HostNic}: receive queue 0, transmit queue 1,
 * the 12-byte {@code virtio_net_hdr} before every frame (the codec the Linux host's TAP uses,
 * {@link VirtioNetHeader}).
 *
 * <p><b>Offloads</b> map one to one: {@link NicOffload#TX_CHECKSUM} is {@code VIRTIO_NET_F_CSUM},
 * TSO4/TSO6 {@code HOST_TSO4/6}, {@link NicOffload#RX_CHECKSUM} {@code GUEST_CSUM}, large
 * receive {@code GUEST_TSO4/6}; the NIC grants those both the opener asked for and the device
 * offers.
 *
 * <p><b>Receive</b>: the receive queue is kept full of buffers in DMA memory (4 KiB each with
 * {@code MRG_RXBUF}, a frame spanning {@code num_buffers} of them; else each as large as the
 * largest frame). A thread of the NIC's own waits for the device's interrupt, takes what the
 * device used and hands it to the event loop as one task, which delivers each frame — a slice of
 * DMA memory when it fits one buffer, no copy — then gives the buffers back to the device. Every
 * header is checked as hostile input ({@link VirtioNetHeader#parse}); a bad one drops its frame
 * and is counted. A device that breaks the ring's contract, or sends {@code num_buffers} that
 * cannot be, is broken: nothing more is received and sends fail with {@code EIO}.
 *
 * <p><b>Transmit</b>: each frame is copied with its header into a slot of DMA memory and made
 * available at once; slots the device has used are reclaimed by the next send (no transmit
 * interrupts). No free slot is {@code ENOBUFS}, as the contract says.
 *
 * <p><b>Reconnect</b> (where the transport can, vhost-user): when the back-end closes the
 * connection the NIC waits up to {@value #RECONNECT_MILLIS} ms for one on the same socket, repeats
 * the handshake and starts both queues again, empty — like a cable pulled and plugged back in.
 * Frames in flight either way are lost, sends meanwhile are refused with {@code ENOBUFS}, and frames
 * already taken from the receive queue are still delivered. No back-end in time: broken.
 *
 * <p>Thread-safe.
 */
public final class VirtioNic implements HostNic {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioNic.class);

    static final int F_CSUM = 0;
    static final int F_GUEST_CSUM = 1;
    static final int F_MTU = 3;
    static final int F_MAC = 5;
    static final int F_GUEST_TSO4 = 7;
    static final int F_GUEST_TSO6 = 8;
    static final int F_HOST_TSO4 = 11;
    static final int F_HOST_TSO6 = 12;
    static final int F_MRG_RXBUF = 15;
    static final int F_STATUS = 16;
    static final int STATUS_LINK_UP = 1;

    static final int RX = 0;
    static final int TX = 1;
    private static final int QUEUE_SIZE = 256;
    /** How long a back-end that went away has to come back before the NIC is broken. */
    static final long RECONNECT_MILLIS = 10_000;
    /** A receive buffer with mergeable buffers. */
    public static final int MERGEABLE_BUFFER = 4096;
    private static final int HEADER = VirtioNetHeader.LENGTH_V1;
    /** Configuration: mac[6], status, max_virtqueue_pairs, mtu. */
    private static final int CONFIG = 12;

    private final String name;
    private final VirtioTransport transport;
    private final HostScheduler loop;
    private final FrameReceiver receiver;
    private final Consumer<VirtioNic> onClose;
    private final long features;
    private final MacAddress mac;
    private final int mtu;
    private final Set<NicOffload> offloads;
    private final boolean linkUp;
    private final DmaMemory memory;
    private final ByteBuffer shared;
    private final SplitQueue rxq;
    private final SplitQueue txq;
    private final boolean mergeable;
    private final int rxBufferBytes;
    private final int[] rxBufferAt;
    private final int[] rxBufferOfHead;
    private final int[] txSlotAt;
    private final int txSlotBytes;
    private final int[] txSlotOfHead;
    private final ArrayDeque<Integer> freeTxSlots = new ArrayDeque<>();
    private final Thread receiveThread;
    private final Object rxLock = new Object();
    private final Object txLock = new Object();
    private final long[] oneAddress = new long[1];
    private final int[] oneLength = new int[1];
    private final long[] txAddress = new long[1];
    private final int[] txLength = new int[1];
    /** Received buffers of a frame whose {@code num_buffers} reach into the next batch (loop only). */
    private final List<int[]> partial = new ArrayList<>();
    private ByteBuffer reassembly;
    private ByteBuffer reassemblyView;
    /** Per receive buffer, a read-only view from the frame's first byte: frames go out without an allocation. */
    private final ByteBuffer[] rxView;
    /** Per receive buffer, whether the device has it (under rxLock): what a reconnect gives again. */
    private final boolean[] rxWithDevice;
    /** Buffers given back while reconnecting, for the new queue (under rxLock). */
    private final List<Integer> rxFreeWhileReconnecting = new ArrayList<>();
    /** Counts the connections to the back-end; a batch of buffers belongs to one (under rxLock). */
    private int connection;
    /** The connection the buffers in {@link #partial} came from (loop only). */
    private int partialConnection;
    private volatile boolean closed;
    /** The back-end went away and may come back: sends are refused, buffers wait (set under both locks). */
    private volatile boolean reconnecting;
    private volatile String broken;
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong badHeaders = new AtomicLong();
    private final AtomicLong sendsRefused = new AtomicLong();

    private VirtioNic(String name, VirtioTransport transport, NicOptions options, FrameReceiver receiver,
            HostScheduler loop, HostRandom random, Consumer<VirtioNic> onClose) throws ErrnoException {
        this.name = name;
        this.transport = transport;
        this.loop = loop;
        this.receiver = receiver;
        this.onClose = onClose;
        long offered = transport.deviceFeatures();
        long wanted = VirtioFeatures.bit(VirtioFeatures.VERSION_1) | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX)
                | VirtioFeatures.bit(F_MAC) | VirtioFeatures.bit(F_MTU) | VirtioFeatures.bit(F_STATUS)
                | VirtioFeatures.bit(F_MRG_RXBUF) | offloadFeatures(options.offloads());
        long f = offered & wanted;
        // The specification's dependencies (5.1.3.1): segmentation needs the checksum it completes.
        if (!VirtioFeatures.has(f, F_CSUM)) {
            f &= ~(VirtioFeatures.bit(F_HOST_TSO4) | VirtioFeatures.bit(F_HOST_TSO6));
        }
        if (!VirtioFeatures.has(f, F_GUEST_CSUM)) {
            f &= ~(VirtioFeatures.bit(F_GUEST_TSO4) | VirtioFeatures.bit(F_GUEST_TSO6));
        }
        ByteBuffer config = ByteBuffer.allocate(CONFIG).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (transport.hasConfigSpace()) {
            transport.readConfig(0, config);
            ByteBuffer again = ByteBuffer.allocate(CONFIG).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            transport.readConfig(0, again);
            if (!config.equals(again)) {
                throw new BrokenDeviceException(name + ": virtio-net configuration changed between two reads");
            }
        } else {
            // No configuration to read (a vhost-user back-end): MAC and MTU are ours to choose.
            f &= ~(VirtioFeatures.bit(F_MAC) | VirtioFeatures.bit(F_MTU) | VirtioFeatures.bit(F_STATUS));
        }
        this.features = f;
        int deviceMtu = VirtioFeatures.has(f, F_MTU) ? Short.toUnsignedInt(config.getShort(10)) : 0;
        if (VirtioFeatures.has(f, F_MTU) && deviceMtu < NicOptions.MIN_MTU) {
            throw new BrokenDeviceException(name + ": virtio-net mtu " + deviceMtu + " is below " + NicOptions.MIN_MTU);
        }
        int wantMtu = options.mtu() != 0 ? options.mtu() : deviceMtu != 0 ? Math.min(deviceMtu, NicOptions.DEFAULT_MTU)
                : NicOptions.DEFAULT_MTU;
        if (deviceMtu != 0 && wantMtu > deviceMtu) {
            throw new ErrnoException(Errno.EINVAL, name + ": MTU " + wantMtu + " is more than the device's " + deviceMtu);
        }
        this.mtu = wantMtu;
        MacAddress m = options.mac();
        if (m == null && VirtioFeatures.has(f, F_MAC)) {
            byte[] b = new byte[6];
            config.get(0, b);
            m = MacAddress.of(b);
            if (m.isMulticast()) {
                throw new BrokenDeviceException(name + ": virtio-net mac " + m + " is a multicast address");
            }
        }
        if (m == null) {
            m = MacAddress.randomLocal(random);
        } else if (m.isMulticast()) {
            throw new ErrnoException(Errno.EINVAL, "MAC " + m + " is a multicast address");
        }
        this.mac = m;
        this.linkUp = !VirtioFeatures.has(f, F_STATUS) || (config.getShort(6) & STATUS_LINK_UP) != 0;
        this.offloads = grantedOffloads(f);
        this.mergeable = VirtioFeatures.has(f, F_MRG_RXBUF);
        boolean largeRx = VirtioFeatures.has(f, F_GUEST_TSO4) || VirtioFeatures.has(f, F_GUEST_TSO6);
        boolean largeTx = VirtioFeatures.has(f, F_HOST_TSO4) || VirtioFeatures.has(f, F_HOST_TSO6);
        this.rxBufferBytes = mergeable ? MERGEABLE_BUFFER
                : roundUp(HEADER + (largeRx ? MAX_OFFLOAD_FRAME_LENGTH : maxFrameLength()), 64);
        int rxBuffers = mergeable ? QUEUE_SIZE : largeRx ? 64 : QUEUE_SIZE;
        this.txSlotBytes = roundUp(HEADER + (largeTx ? MAX_OFFLOAD_FRAME_LENGTH : maxFrameLength()), 64);
        int txSlots = largeTx ? 64 : QUEUE_SIZE;

        transport.setFeatures(f);
        int size = Integer.highestOneBit(Math.min(QUEUE_SIZE, Math.min(transport.maxQueueSize(RX), transport.maxQueueSize(TX))));
        if (size < 2) {
            throw new ErrnoException(Errno.ENODEV, name + ": the device has no usable receive and transmit queues");
        }
        rxBuffers = Math.min(rxBuffers, size);
        txSlots = Math.min(txSlots, size);
        this.memory = transport.allocateMemory(2 * SplitQueue.bytesNeeded(size, 0) + rxBuffers * (rxBufferBytes + 64)
                + txSlots * (txSlotBytes + 64) + 4096);
        boolean eventIdx = VirtioFeatures.has(f, VirtioFeatures.RING_EVENT_IDX);
        this.rxq = new SplitQueue(name + " rx", RX, size, memory, eventIdx, 0);
        this.txq = new SplitQueue(name + " tx", TX, size, memory, eventIdx, 0);
        this.shared = memory.buffer();
        this.rxBufferAt = new int[rxBuffers];
        this.rxBufferOfHead = new int[size];
        this.rxView = new ByteBuffer[rxBuffers];
        this.rxWithDevice = new boolean[rxBuffers];
        for (int i = 0; i < rxBuffers; i++) {
            rxBufferAt[i] = memory.allocate(rxBufferBytes, 64);
            rxView[i] = shared.slice(rxBufferAt[i] + HEADER, rxBufferBytes - HEADER).asReadOnlyBuffer();
        }
        this.txSlotAt = new int[txSlots];
        this.txSlotOfHead = new int[size];
        for (int i = 0; i < txSlots; i++) {
            txSlotAt[i] = memory.allocate(txSlotBytes, 64);
            freeTxSlots.add(i);
        }
        txq.disableInterrupts(); // used transmit slots are reclaimed by the next send
        for (int i = 0; i < rxBuffers; i++) {
            giveRxBuffer(i);
        }
        rxq.publish();
        transport.startQueue(rxq);
        transport.startQueue(txq);
        transport.driverOk();
        transport.kick(RX);
        this.receiveThread = new Thread(this::receiveLoop, "jrump-virtio-net " + name);
        receiveThread.setDaemon(true);
        receiveThread.start();
    }

    /**
     * Drives the virtio-net device behind {@code transport}, which it then owns.
     *
     * @param random for a MAC when neither the options nor the device give one
     * @throws ErrnoException {@code EINVAL} for an MTU beyond the device's or a multicast MAC,
     *     {@code EIO} for a broken configuration; the transport is closed then
     */
    public static VirtioNic open(String name, VirtioTransport transport, NicOptions options, FrameReceiver receiver,
            HostScheduler loop, HostRandom random, Consumer<VirtioNic> onClose) throws ErrnoException {
        try {
            return new VirtioNic(name, transport, options, receiver, loop, random, onClose);
        } catch (ErrnoException | RuntimeException e) {
            transport.close();
            throw e;
        }
    }

    private static int roundUp(int n, int unit) {
        return (n + unit - 1) / unit * unit;
    }

    static long offloadFeatures(Set<NicOffload> asked) {
        long f = 0;
        for (NicOffload o : asked) {
            f |= switch (o) {
                case TX_CHECKSUM -> VirtioFeatures.bit(F_CSUM);
                case TX_TCP4_SEGMENTATION -> VirtioFeatures.bit(F_HOST_TSO4);
                case TX_TCP6_SEGMENTATION -> VirtioFeatures.bit(F_HOST_TSO6);
                case RX_CHECKSUM -> VirtioFeatures.bit(F_GUEST_CSUM);
                case RX_TCP4_LARGE_SEGMENTS -> VirtioFeatures.bit(F_GUEST_TSO4);
                case RX_TCP6_LARGE_SEGMENTS -> VirtioFeatures.bit(F_GUEST_TSO6);
            };
        }
        return f;
    }

    static Set<NicOffload> grantedOffloads(long f) {
        EnumSet<NicOffload> s = EnumSet.noneOf(NicOffload.class);
        for (NicOffload o : NicOffload.values()) {
            if ((offloadFeatures(Set.of(o)) & f) != 0) {
                s.add(o);
            }
        }
        return s.isEmpty() ? NicOffload.NONE : Collections.unmodifiableSet(s);
    }

    @Override
    public String name() {
        return name;
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

    /** The features in use. */
    public long negotiatedFeatures() {
        return features;
    }

    /** Whether the device said its link was up when opened (always, without {@code VIRTIO_NET_F_STATUS}). */
    public boolean linkUp() {
        return linkUp;
    }

    /** Frames dropped for a header that failed the checks. */
    public long badHeaders() {
        return badHeaders.get();
    }

    /** How many times the NIC came back after its back-end went away. */
    public long reconnects() {
        return reconnects.get();
    }

    /** Sends refused with {@code ENOBUFS}: every transmit slot was with the device, or it was reconnecting. */
    public long sendsRefused() {
        return sendsRefused.get();
    }

    /** Why the device is broken, or null. */
    public String brokenReason() {
        return broken;
    }

    // ---- transmit ----------------------------------------------------------------------------

    @Override
    public void send(ByteBuffer frame) throws ErrnoException {
        FrameChecks.checkSend(this, closed, frame);
        transmit(frame, FrameOffload.NONE);
    }

    @Override
    public void send(ByteBuffer frame, FrameOffload offload) throws ErrnoException {
        FrameChecks.checkSend(this, closed, frame, offload);
        transmit(frame, offload);
    }

    private void transmit(ByteBuffer frame, FrameOffload offload) throws ErrnoException {
        // The kick under the lock too: a reconnect, which holds it, closes and replaces the eventfds.
        synchronized (txLock) {
            if (closed) {
                throw new ErrnoException(Errno.EBADF, "NIC " + mac + " on " + name + " is closed");
            }
            if (broken != null) {
                throw new ErrnoException(Errno.EIO, name + " is broken: " + broken);
            }
            if (reconnecting) {
                sendsRefused.incrementAndGet();
                throw new ErrnoException(Errno.ENOBUFS, name + ": the back-end went away; waiting for it to come back");
            }
            try {
                int head;
                while ((head = txq.nextUsed()) >= 0) {
                    freeTxSlots.push(txSlotOfHead[head]);
                }
                Integer slot = freeTxSlots.poll();
                if (slot == null) {
                    sendsRefused.incrementAndGet();
                    throw new ErrnoException(Errno.ENOBUFS, name + ": all " + txSlotAt.length
                            + " transmit slots are with the device");
                }
                int at = txSlotAt[slot];
                VirtioNetHeader.emit(shared, at, offload, offload.needsSegmentation() && FrameOffload.isIpv6(frame));
                shared.putShort(at + VirtioNetHeader.NUM_BUFFERS, (short) 0);
                int n = frame.remaining();
                shared.put(at + HEADER, frame, frame.position(), n);
                txAddress[0] = memory.deviceAddress(at);
                txLength[0] = HEADER + n;
                head = txq.add(txAddress, txLength, 1, 0);
                if (head < 0) { // a slot was free, so a descriptor must be: the device holds more than it may
                    throw txq.brake("no free transmit descriptor although a slot was free");
                }
                txSlotOfHead[head] = slot;
                if (txq.publish()) {
                    transport.kick(TX);
                }
            } catch (BrokenDeviceException e) {
                breakDevice(e.getMessage());
                throw e;
            }
        }
    }

    // ---- receive -----------------------------------------------------------------------------

    /** Makes receive buffer {@code i} available to the device (not yet published). Under rxLock or during setup. */
    private void giveRxBuffer(int i) throws BrokenDeviceException {
        oneAddress[0] = memory.deviceAddress(rxBufferAt[i]);
        oneLength[0] = rxBufferBytes;
        int head = rxq.add(oneAddress, oneLength, 0, 1);
        if (head < 0) {
            throw rxq.brake("no free receive descriptor for a returned buffer");
        }
        rxBufferOfHead[head] = i;
        rxWithDevice[i] = true;
    }

    private void receiveLoop() {
        while (!closed && broken == null) {
            List<int[]> used = new ArrayList<>();
            boolean sleep;
            int from;
            synchronized (rxLock) {
                from = connection;
                try {
                    int head;
                    while ((head = rxq.nextUsed()) >= 0) {
                        int buffer = rxBufferOfHead[head];
                        rxWithDevice[buffer] = false;
                        used.add(new int[] {buffer, (int) rxq.lastUsedLength()});
                    }
                    sleep = used.isEmpty() && !rxq.enableInterrupts();
                } catch (BrokenDeviceException e) {
                    breakDevice(e.getMessage());
                    return;
                }
            }
            if (!used.isEmpty()) {
                try {
                    loop.execute(() -> deliver(used, from));
                } catch (IllegalStateException e) {
                    return; // the event loop has closed: so has the kernel
                }
                continue;
            }
            if (sleep) {
                try {
                    transport.awaitInterrupt(RX);
                } catch (ErrnoException e) {
                    if (closed) {
                        return;
                    }
                    if (e.errno() == Errno.ECONNRESET && transport.canReconnect()) {
                        if (reconnect(e.getMessage())) {
                            continue;
                        }
                        return; // broken, or closed meanwhile
                    }
                    breakDevice(e.getMessage());
                    return;
                }
            }
        }
    }

    /**
     * On the event loop: the frames in {@code used} (buffer, length), taken on connection
     * {@code from}, to the receiver, then the buffers back.
     */
    private void deliver(List<int[]> used, int from) {
        synchronized (rxLock) { // close unmaps the memory under this lock: not while a frame is read
            if (closed || broken != null) {
                return;
            }
            deliverLocked(used, from);
        }
    }

    private void deliverLocked(List<int[]> used, int from) {
        List<int[]> done = new ArrayList<>(used.size());
        if (!partial.isEmpty() && partialConnection != from) {
            done.addAll(partial); // the rest of that frame went with the old back-end
            partial.clear();
        }
        try {
            for (int[] u : used) {
                if (partial.isEmpty()) {
                    partialConnection = from;
                }
                partial.add(u);
                int first = rxBufferAt[partial.get(0)[0]];
                int firstLength = partial.get(0)[1];
                if (firstLength < HEADER) {
                    throw new BrokenDeviceException(name + ": a receive buffer of " + firstLength
                            + " bytes cannot hold the virtio-net header");
                }
                int buffers = mergeable ? Short.toUnsignedInt(shared.getShort(first + VirtioNetHeader.NUM_BUFFERS)) : 1;
                int most = (HEADER + MAX_OFFLOAD_FRAME_LENGTH + rxBufferBytes - 1) / rxBufferBytes;
                if (buffers < 1 || buffers > most) {
                    throw new BrokenDeviceException(name + ": num_buffers " + buffers + " (1 to " + most
                            + " buffers of " + rxBufferBytes + " bytes hold any frame)");
                }
                if (partial.size() < buffers) {
                    continue; // the rest of this frame comes in a later batch
                }
                if (!closed) {
                    receiveFrame(first, firstLength);
                }
                done.addAll(partial);
                partial.clear();
            }
        } catch (BrokenDeviceException e) {
            breakDevice(e.getMessage());
            return;
        }
        returnBuffers(done);
    }

    private void receiveFrame(int first, int firstLength) {
        int frameLength = firstLength - HEADER;
        for (int i = 1; i < partial.size(); i++) {
            frameLength += partial.get(i)[1];
        }
        int flags;
        try {
            flags = VirtioNetHeader.parse(shared, first, frameLength, offloads.contains(NicOffload.RX_CHECKSUM),
                    offloads.contains(NicOffload.RX_TCP4_LARGE_SEGMENTS), offloads.contains(NicOffload.RX_TCP6_LARGE_SEGMENTS));
            if ((flags & FrameReceiver.RX_LARGE_SEGMENT) == 0 && frameLength > maxFrameLength()) {
                throw new ErrnoException(Errno.EBADMSG, "frame of " + frameLength + " bytes exceeds "
                        + maxFrameLength() + " without GSO");
            }
        } catch (ErrnoException e) {
            if (badHeaders.incrementAndGet() == 1) { // a device that breaks the rules once usually keeps on
                LOG.warn("{}: frame dropped: {} (later drops are counted, not logged)", name, e.getMessage());
            }
            return;
        }
        ByteBuffer frame;
        if (partial.size() == 1) {
            frame = rxView[partial.get(0)[0]].clear().limit(frameLength);
        } else {
            if (reassembly == null) {
                reassembly = ByteBuffer.allocateDirect(MAX_OFFLOAD_FRAME_LENGTH);
                reassemblyView = reassembly.asReadOnlyBuffer();
            }
            reassembly.clear();
            reassembly.put(shared.slice(first + HEADER, firstLength - HEADER));
            for (int i = 1; i < partial.size(); i++) {
                reassembly.put(shared.slice(rxBufferAt[partial.get(i)[0]], partial.get(i)[1]));
            }
            frame = reassemblyView.clear().limit(reassembly.position());
        }
        try {
            receiver.frameReceived(frame, flags);
        } catch (RuntimeException e) {
            LOG.warn("{}: receiver failed on a frame", name, e);
        }
    }

    /** Under rxLock. */
    private void returnBuffers(List<int[]> done) {
        if (reconnecting) { // the queue is about to start again: the buffers wait for it
            for (int[] u : done) {
                rxFreeWhileReconnecting.add(u[0]);
            }
            return;
        }
        boolean kick;
        try {
            for (int[] u : done) {
                giveRxBuffer(u[0]);
            }
            kick = rxq.publish();
        } catch (BrokenDeviceException e) {
            breakDevice(e.getMessage());
            return;
        }
        if (kick) {
            try {
                transport.kick(RX);
            } catch (ErrnoException e) {
                breakDevice(e.getMessage());
            }
        }
    }

    /**
     * On the receive thread, after the back-end closed the connection ({@code why}): waits for it
     * to come back and starts both queues again, empty. False, the NIC broken, if it does not.
     */
    private boolean reconnect(String why) {
        LOG.warn("{}: {}; waiting up to {} s for the back-end to come back", name, why, RECONNECT_MILLIS / 1000);
        synchronized (rxLock) {
            synchronized (txLock) {
                reconnecting = true;
            }
        }
        try {
            transport.reconnect(RECONNECT_MILLIS);
            synchronized (rxLock) {
                synchronized (txLock) {
                    if (closed) {
                        return false;
                    }
                    connection++;
                    rxq.reset();
                    txq.reset();
                    transport.startQueue(rxq);
                    transport.startQueue(txq);
                    transport.driverOk();
                    txq.disableInterrupts();
                    freeTxSlots.clear(); // what was in flight went with the old back-end
                    for (int i = 0; i < txSlotAt.length; i++) {
                        freeTxSlots.add(i);
                    }
                    for (int i = 0; i < rxWithDevice.length; i++) {
                        if (rxWithDevice[i]) {
                            giveRxBuffer(i);
                        }
                    }
                    for (int i : rxFreeWhileReconnecting) {
                        giveRxBuffer(i);
                    }
                    rxFreeWhileReconnecting.clear();
                    rxq.publish();
                    reconnecting = false;
                    transport.kick(RX);
                }
            }
        } catch (ErrnoException e) {
            if (!closed) { // else close interrupted the wait: nothing is broken
                breakDevice(why + "; " + e.getMessage());
            }
            return false;
        }
        reconnects.incrementAndGet();
        LOG.info("{}: the back-end is back", name);
        return true;
    }

    private void breakDevice(String reason) {
        if (broken == null) {
            broken = reason;
            LOG.error("{}: device broken, no more frames: {}", name, reason);
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
        transport.wakeUp(RX);
        receiveThread.interrupt(); // ends at once a wait for a back-end that went away
        try {
            receiveThread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (rxLock) {
            synchronized (txLock) {
                transport.close();
            }
        }
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "VirtioNic[" + name + ", " + mac + ", MTU " + mtu + ", features 0x" + Long.toHexString(features)
                + ", offloads " + offloads + (broken != null ? ", broken" : "") + "]";
    }
}
