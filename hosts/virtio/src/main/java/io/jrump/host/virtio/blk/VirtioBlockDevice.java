package io.jrump.host.virtio.blk;

import io.jrump.host.kit.BlockRequests;
import io.jrump.host.virtio.ring.BrokenDeviceException;
import io.jrump.host.virtio.ring.DmaMemory;
import io.jrump.host.virtio.ring.SplitQueue;
import io.jrump.host.virtio.ring.VirtioFeatures;
import io.jrump.host.virtio.ring.VirtioTransport;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostBlockDevice;
import io.jrump.hypercall.HostScheduler;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A virtio-blk device (virtio 1.2, 5.2) as a {@link HostBlockDevice}, over any
 * {@link VirtioTransport}: one request queue, {@value #SLOTS} requests in flight, each with a slot
 * of DMA memory for its header, status byte and up to {@value #MAX_CHUNK} bytes of data. A call
 * larger than a slot becomes several requests that run in parallel; a call not aligned to the
 * device's block size reads the blocks at its edges first (see {@link BlockOp}). Calls beyond the
 * slots wait in order, and every request a call issues at once goes out with one index update and
 * at most one notification.
 *
 * <p>Reads copy from the slot to the caller's buffer and writes the other way: the caller's buffer
 * is not memory the device can reach. Flush is {@code VIRTIO_BLK_T_FLUSH} (a device without
 * {@code VIRTIO_BLK_F_FLUSH} writes through and needs none); discard is {@code WRITE_ZEROES} with
 * the unmap flag, since only that guarantees the range reads as zeros ({@code EOPNOTSUPP} without
 * the feature).
 *
 * <p>Completions are found as {@link Completions} says (by default a thread of the device's own
 * that waits for its interrupts) and run on the kernel's event loop. A device that breaks the
 * contract (see {@link SplitQueue}) fails every call in flight and every later one with
 * {@code EIO}, and its slots are never reused: the device may still write to them. One that goes
 * away is waited for and reconnected where the transport can (vhost-user: a restarted back-end),
 * its calls in flight sent again; else, or if it does not come back, it is broken the same way.
 *
 * <p>Thread-safe: the object's lock guards the queue and the bookkeeping.
 */
public final class VirtioBlockDevice implements HostBlockDevice {
    private static final Logger LOG = LoggerFactory.getLogger(VirtioBlockDevice.class);

    static final int T_IN = 0;
    static final int T_OUT = 1;
    static final int T_FLUSH = 4;
    static final int T_WRITE_ZEROES = 13;
    static final int S_OK = 0;
    static final int S_IOERR = 1;
    static final int S_UNSUPP = 2;
    private static final int WRITE_ZEROES_UNMAP = 1;

    /** How the driver learns that the device has used requests. */
    public enum Completions {
        /** A thread of the device's own sleeps until the device interrupts (eventfd, MSI-X). */
        INTERRUPTS,
        /** That thread spins on the used ring instead: less latency, one CPU kept busy. */
        BUSY_POLL,
        /**
         * No thread: the owner calls {@link #poll()} (from an event loop that polls, or a
         * deterministic test); the device's interrupts are not used.
         */
        CALLER_POLLS
    }

    /** How long close waits for requests in flight before it gives up on the device. */
    static final long CLOSE_WAIT_MILLIS = 30_000;
    /** How long a back-end that went away has to come back before the device is broken. */
    static final long RECONNECT_MILLIS = 10_000;

    /** Requests in flight at most. */
    static final int SLOTS = 64;
    /** Data bytes per request at most (less if the device's {@code size_max} says so). */
    static final int MAX_CHUNK = 128 * 1024;
    private static final int QUEUE_SIZE = 256;
    /** Header (16), write-zeroes segment (16), status byte, padded. */
    private static final int SLOT_HEADER = 64;

    /** The device features this driver can use. */
    static final long DRIVER_FEATURES = VirtioFeatures.bit(VirtioFeatures.VERSION_1)
            | VirtioFeatures.bit(VirtioFeatures.RING_EVENT_IDX) | VirtioFeatures.bit(VirtioFeatures.RING_INDIRECT_DESC)
            | VirtioFeatures.bit(BlkConfig.F_SIZE_MAX) | VirtioFeatures.bit(BlkConfig.F_SEG_MAX)
            | VirtioFeatures.bit(BlkConfig.F_RO) | VirtioFeatures.bit(BlkConfig.F_BLK_SIZE)
            | VirtioFeatures.bit(BlkConfig.F_FLUSH) | VirtioFeatures.bit(BlkConfig.F_TOPOLOGY)
            | VirtioFeatures.bit(BlkConfig.F_WRITE_ZEROES);

    private final String name;
    private final VirtioTransport transport;
    private final HostScheduler loop;
    private final Consumer<VirtioBlockDevice> onClose;
    private final BlkConfig config;
    private final long features;
    private final boolean readOnly;
    private final int chunkBytes;
    private final SplitQueue queue;
    private final ByteBuffer shared;
    private final DmaMemory memory;
    private final Slot[] byHead;
    private final ArrayDeque<Slot> freeSlots = new ArrayDeque<>();
    private final ArrayDeque<BlockOp> waiting = new ArrayDeque<>();
    /** Every op accepted and not yet answered, waiting or in flight: what a broken device fails. */
    private final Set<BlockOp> live = new LinkedHashSet<>();
    private final Completions completions;
    private final Thread interrupts;
    private int opsRunning;
    private boolean exclusiveRunning;
    private boolean closed;
    private boolean released;
    /** The transport is reaching a restarted back-end: requests wait. */
    private boolean reconnecting;
    private String broken;

    /** One request's DMA memory and what it is doing. */
    private static final class Slot {
        final int header;
        final int data;
        BlockOp op;
        int type;
        long pieceStart;
        int pieceLength;
        boolean merging;

        Slot(int header, int data) {
            this.header = header;
            this.data = data;
        }
    }

    private VirtioBlockDevice(String name, VirtioTransport transport, HostScheduler loop, boolean readOnly,
            Completions completions, Consumer<VirtioBlockDevice> onClose) throws ErrnoException {
        this.name = name;
        this.completions = completions;
        this.transport = transport;
        this.loop = loop;
        this.onClose = onClose;
        long offered = transport.deviceFeatures();
        this.features = offered & DRIVER_FEATURES;
        BlkConfig c = BlkConfig.read(transport, features);
        if (!readOnly && VirtioFeatures.has(features, BlkConfig.F_RO)) {
            throw new ErrnoException(Errno.EACCES, name + ": the device is read-only (VIRTIO_BLK_F_RO)");
        }
        this.config = c;
        this.readOnly = readOnly;
        int chunk = MAX_CHUNK;
        if (c.sizeMax() > 0) {
            chunk = Math.min(chunk, c.sizeMax() & -c.blockSize());
        }
        if (chunk < c.blockSize()) {
            throw new BrokenDeviceException(name + ": size_max " + c.sizeMax() + " is smaller than a block of "
                    + c.blockSize());
        }
        this.chunkBytes = chunk;
        transport.setFeatures(features);
        int size = Math.min(QUEUE_SIZE, transport.maxQueueSize(0));
        if (size < 3) {
            throw new ErrnoException(Errno.ENODEV, name + ": the device has no usable request queue (size " + size + ")");
        }
        size = Integer.highestOneBit(size);
        boolean indirect = VirtioFeatures.has(features, VirtioFeatures.RING_INDIRECT_DESC);
        int slots = Math.min(SLOTS, indirect ? size : size / 3);
        this.memory = transport.allocateMemory(SplitQueue.bytesNeeded(size, indirect ? 3 : 0)
                + slots * (SLOT_HEADER + chunk + 4096) + 4096);
        this.queue = new SplitQueue(name, 0, size, memory, VirtioFeatures.has(features, VirtioFeatures.RING_EVENT_IDX),
                indirect ? 3 : 0);
        this.shared = memory.buffer();
        this.byHead = new Slot[size];
        for (int i = 0; i < slots; i++) {
            int header = memory.allocate(SLOT_HEADER, 64);
            int data = memory.allocate(chunk, 4096);
            freeSlots.add(new Slot(header, data));
        }
        if (completions != Completions.INTERRUPTS) {
            queue.disableInterrupts();
        }
        transport.startQueue(queue);
        transport.driverOk();
        if (completions == Completions.CALLER_POLLS) {
            this.interrupts = null;
        } else {
            this.interrupts = new Thread(this::serviceCompletions, "jrump-virtio-blk " + name);
            interrupts.setDaemon(true);
            interrupts.start();
        }
    }

    /**
     * Drives the virtio-blk device behind {@code transport}, which it then owns.
     *
     * @param loop where completions run
     * @param completions how the driver finds the device's answers
     * @param onClose told once the device has closed
     * @throws ErrnoException {@code EACCES} to open a read-only device for writing, {@code EIO} if
     *     its configuration is broken; the transport is closed then
     */
    public static VirtioBlockDevice open(String name, VirtioTransport transport, HostScheduler loop, boolean readOnly,
            Completions completions, Consumer<VirtioBlockDevice> onClose) throws ErrnoException {
        try {
            return new VirtioBlockDevice(name, transport, loop, readOnly, completions, onClose);
        } catch (ErrnoException | RuntimeException e) {
            transport.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long size() {
        return config.sizeBytes();
    }

    @Override
    public int sectorSize() {
        return config.blockSize();
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public boolean isGrowable() {
        return false;
    }

    /** The features in use, for tools and tests. */
    public long negotiatedFeatures() {
        return features;
    }

    /** The physical block size: logical blocks of {@link #sectorSize()} times 2^exponent. */
    public int physicalBlockSize() {
        return config.blockSize() << config.physicalBlockExponent();
    }

    /** The optimal I/O size in bytes the device reports, 0 if it says none. */
    public long optimalIoSize() {
        return (long) config.optimalIoBlocks() * config.blockSize();
    }

    @Override
    public void read(long offset, ByteBuffer dst, IoCompletion completion) {
        Errno bad = BlockRequests.checkRead(offset, dst, size());
        submit(bad, new BlockOp(BlockOp.Kind.READ, offset, dst.remaining(), dst.duplicate(), completion,
                config.blockSize()));
    }

    @Override
    public void write(long offset, ByteBuffer src, IoCompletion completion) {
        Errno bad = BlockRequests.checkWrite(offset, src.remaining(), size(), readOnly, false);
        submit(bad, new BlockOp(BlockOp.Kind.WRITE, offset, src.remaining(), src.duplicate(), completion,
                config.blockSize()));
    }

    @Override
    public void flush(IoCompletion completion) {
        submit(null, new BlockOp(BlockOp.Kind.FLUSH, 0, 0, null, completion, config.blockSize()));
    }

    @Override
    public void discard(long offset, long length, IoCompletion completion) {
        Errno bad = BlockRequests.checkDiscard(offset, length, size(), readOnly);
        if (bad == null && !VirtioFeatures.has(features, BlkConfig.F_WRITE_ZEROES)) {
            bad = Errno.EOPNOTSUPP;
        }
        submit(bad, new BlockOp(BlockOp.Kind.DISCARD, offset, length, null, completion, config.blockSize()));
    }

    private void submit(Errno invalid, BlockOp op) {
        boolean kick;
        List<BlockOp> done = new ArrayList<>();
        synchronized (this) {
            Errno refused = closed ? Errno.EBADF : broken != null ? Errno.EIO : invalid;
            boolean trivial = op.length == 0 && op.kind != BlockOp.Kind.FLUSH
                    || op.kind == BlockOp.Kind.FLUSH && !VirtioFeatures.has(features, BlkConfig.F_FLUSH);
            if (refused != null || trivial) {
                op.error = refused;
                done.add(op);
            } else {
                waiting.add(op);
                live.add(op);
            }
            kick = dispatch(done);
        }
        finish(kick, done);
    }

    /** Issues requests for waiting ops while slots last; true if the device must be notified. */
    private boolean dispatch(List<BlockOp> done) {
        if (broken != null || reconnecting) {
            return false;
        }
        try {
            while (!waiting.isEmpty() && !freeSlots.isEmpty()) {
                BlockOp op = waiting.peek();
                if (op.error != null) { // a request of it failed: issue no more of it
                    waiting.poll();
                    if (op.inFlight == 0) {
                        end(op);
                        done.add(op);
                    }
                    continue;
                }
                if (!op.started) {
                    if (exclusiveRunning || op.exclusive && opsRunning > 0) {
                        break;
                    }
                    op.started = true;
                    opsRunning++;
                    exclusiveRunning = op.exclusive;
                }
                Slot slot = freeSlots.poll();
                issueNext(op, slot);
                if (op.fullyIssued()) {
                    waiting.poll();
                }
            }
            return queue.publish();
        } catch (BrokenDeviceException e) {
            markBroken(e.getMessage(), done);
            return false;
        }
    }

    /** Cuts the op's next request and adds it to the queue in {@code slot}. */
    private void issueNext(BlockOp op, Slot slot) throws BrokenDeviceException {
        slot.op = op;
        op.inFlight++;
        int blockSize = config.blockSize();
        switch (op.kind) {
            case FLUSH -> {
                op.cursor = 0;
                slot.type = T_FLUSH;
                slot.pieceStart = 0;
                slot.pieceLength = 0;
                slot.merging = false;
            }
            case READ, WRITE -> {
                long pieceEnd = Math.min(op.end, op.cursor + chunkBytes);
                slot.pieceStart = op.cursor;
                slot.pieceLength = (int) (pieceEnd - op.cursor);
                slot.merging = op.kind == BlockOp.Kind.WRITE && op.needsMerge(op.cursor, pieceEnd);
                slot.type = op.kind == BlockOp.Kind.READ || slot.merging ? T_IN : T_OUT;
                if (slot.type == T_OUT) {
                    copyIn(slot);
                }
                op.cursor = pieceEnd;
            }
            case DISCARD -> {
                long blockEnd = op.cursor + blockSize;
                if (op.needsMerge(op.cursor, blockEnd)) {
                    slot.pieceStart = op.cursor;
                    slot.pieceLength = blockSize;
                    slot.merging = true;
                    slot.type = T_IN;
                    op.cursor = blockEnd;
                } else {
                    long wholeEnd = Math.floorDiv(op.offset + op.length, blockSize) * (long) blockSize;
                    long pieceEnd = Math.min(wholeEnd, op.cursor + config.maxWriteZeroesSectors() * 512
                            / blockSize * blockSize);
                    slot.pieceStart = op.cursor;
                    slot.pieceLength = 0;
                    slot.merging = false;
                    slot.type = T_WRITE_ZEROES;
                    shared.putLong(slot.header + 16, op.cursor / 512);
                    shared.putInt(slot.header + 24, (int) ((pieceEnd - op.cursor) / 512));
                    shared.putInt(slot.header + 28, WRITE_ZEROES_UNMAP);
                    op.cursor = pieceEnd;
                }
            }
            default -> throw new IllegalStateException();
        }
        enqueue(slot);
    }

    private final long[] addresses = new long[3];
    private final int[] lengths = new int[3];

    /** Writes the slot's request header and adds its chain: header, data or segment, status. */
    private void enqueue(Slot slot) throws BrokenDeviceException {
        shared.putInt(slot.header, slot.type);
        shared.putInt(slot.header + 4, 0);
        shared.putLong(slot.header + 8, slot.pieceStart / 512);
        shared.put(slot.header + 32, (byte) 0xff); // a status the device must overwrite
        int n = 0;
        addresses[n] = memory.deviceAddress(slot.header);
        lengths[n++] = 16;
        int readable = 1;
        if (slot.type == T_WRITE_ZEROES) {
            addresses[n] = memory.deviceAddress(slot.header + 16);
            lengths[n++] = 16;
            readable = 2;
        } else if (slot.pieceLength > 0) {
            addresses[n] = memory.deviceAddress(slot.data);
            lengths[n++] = slot.pieceLength;
            readable = slot.type == T_OUT ? 2 : 1;
        }
        addresses[n] = memory.deviceAddress(slot.header + 32);
        lengths[n++] = 1;
        int head = queue.add(addresses, lengths, readable, n - readable);
        if (head < 0) {
            throw queue.brake("no free descriptors for a request although a slot was free"); // a driver bug
        }
        byHead[head] = slot;
    }

    /** Copies the caller's bytes (or zeros, for a discard) that fall in the slot's piece into the slot. */
    private void copyIn(Slot slot) {
        BlockOp op = slot.op;
        long from = Math.max(op.offset, slot.pieceStart);
        long to = Math.min(op.offset + op.length, slot.pieceStart + slot.pieceLength);
        int at = slot.data + (int) (from - slot.pieceStart);
        int n = (int) (to - from);
        if (op.kind == BlockOp.Kind.DISCARD) {
            for (int i = 0; i < n; i++) {
                shared.put(at + i, (byte) 0);
            }
        } else {
            shared.put(at, op.data, op.data.position() + (int) (from - op.offset), n);
        }
    }

    /** Copies the piece's bytes that the caller asked for from the slot into the caller's buffer. */
    private void copyOut(Slot slot) {
        BlockOp op = slot.op;
        long from = Math.max(op.offset, slot.pieceStart);
        long to = Math.min(op.offset + op.length, slot.pieceStart + slot.pieceLength);
        op.data.put(op.data.position() + (int) (from - op.offset), shared, slot.data + (int) (from - slot.pieceStart),
                (int) (to - from));
    }

    /**
     * Takes the device's answers, issues what waits, and completes calls: what the device's own
     * thread does after each interrupt, for the owner to call in {@link Completions#CALLER_POLLS}
     * mode. Returns whether any request was answered. Any thread; never blocks on the device.
     */
    public boolean poll() {
        List<BlockOp> done = new ArrayList<>();
        boolean kick;
        boolean answered;
        synchronized (this) {
            if (broken != null || released) {
                return false;
            }
            try {
                answered = collect(done);
                kick = dispatch(done);
            } catch (BrokenDeviceException e) {
                markBroken(e.getMessage(), done);
                answered = true;
                kick = false;
            } catch (RuntimeException e) {
                markBroken(driverBug(e), done);
                answered = true;
                kick = false;
            }
        }
        finish(kick, done);
        return answered;
    }

    private void serviceCompletions() {
        List<BlockOp> done = new ArrayList<>();
        while (true) {
            boolean kick;
            boolean sleep;
            synchronized (this) {
                if (broken != null || closed && opsRunning == 0) {
                    return;
                }
                try {
                    boolean answered = collect(done);
                    kick = dispatch(done);
                    sleep = broken == null && (completions == Completions.INTERRUPTS ? !queue.enableInterrupts() : !answered);
                } catch (BrokenDeviceException e) {
                    markBroken(e.getMessage(), done);
                    kick = false;
                    sleep = false;
                } catch (RuntimeException e) {
                    markBroken(driverBug(e), done);
                    kick = false;
                    sleep = false;
                }
            }
            finish(kick, done);
            done.clear();
            if (!sleep) {
                continue;
            }
            if (completions == Completions.BUSY_POLL) {
                Thread.onSpinWait();
                continue;
            }
            try {
                transport.awaitInterrupt(0);
            } catch (ErrnoException e) {
                synchronized (this) {
                    if (closed && opsRunning == 0) {
                        return;
                    }
                }
                if (e.errno() == Errno.ECONNRESET && transport.canReconnect()) {
                    if (reconnect(e.getMessage())) {
                        continue;
                    }
                    return; // broken by now, or closed meanwhile
                }
                synchronized (this) {
                    markBroken(e.getMessage(), done);
                }
                finish(false, done);
                return;
            }
        }
    }

    /**
     * After the back-end went away ({@code why}): reaches it again through the transport, starts
     * the queue again, empty, and sends every request that was in flight once more — reads and
     * writes of whole blocks and flushes may run twice. False, the device broken, if it does not
     * come back within {@value #RECONNECT_MILLIS} ms.
     */
    private boolean reconnect(String why) {
        List<BlockOp> done = new ArrayList<>();
        synchronized (this) {
            if (broken != null) {
                return false;
            }
            reconnecting = true;
        }
        LOG.warn("{}: {}; waiting up to {} s for the back-end to come back", name, why, RECONNECT_MILLIS / 1000);
        boolean kick;
        try {
            transport.reconnect(RECONNECT_MILLIS);
            int again;
            synchronized (this) {
                reconnecting = false;
                List<Slot> inFlight = new ArrayList<>();
                for (Slot slot : byHead) {
                    if (slot != null) {
                        inFlight.add(slot);
                    }
                }
                Arrays.fill(byHead, null);
                queue.reset();
                if (completions != Completions.INTERRUPTS) {
                    queue.disableInterrupts();
                }
                transport.startQueue(queue);
                transport.driverOk();
                for (Slot slot : inFlight) {
                    enqueue(slot);
                }
                again = inFlight.size();
                kick = dispatch(done) | queue.publish();
            }
            LOG.info("{}: the back-end is back; {} requests sent again", name, again);
        } catch (ErrnoException e) {
            synchronized (this) {
                reconnecting = false;
                if (!(closed && opsRunning == 0)) { // else close interrupted the wait: nothing is broken
                    markBroken(why + "; " + e.getMessage(), done);
                }
            }
            finish(false, done);
            return false;
        }
        finish(kick, done);
        return true;
    }

    /**
     * Takes every used request off the queue; ops that have all their answers go to {@code done}.
     * Returns whether there was any.
     */
    private boolean collect(List<BlockOp> done) throws BrokenDeviceException {
        int head;
        boolean any = false;
        while ((head = queue.nextUsed()) >= 0) {
            any = true;
            Slot slot = byHead[head];
            byHead[head] = null;
            BlockOp op = slot.op;
            int status = Byte.toUnsignedInt(shared.get(slot.header + 32));
            boolean ok = false;
            switch (status) {
                case S_OK -> ok = true;
                case S_IOERR -> op.fail(Errno.EIO);
                case S_UNSUPP -> op.fail(Errno.EOPNOTSUPP);
                default -> throw queue.brake("request of type " + slot.type + " for sector " + slot.pieceStart / 512
                        + " ended with status " + status + " (not OK, IOERR or UNSUPP)");
            }
            if (ok && slot.merging && op.error == null) {
                // The blocks around the op's bytes are read: merge them and write the piece back.
                slot.merging = false;
                copyIn(slot);
                slot.type = T_OUT;
                enqueue(slot);
                continue;
            }
            if (ok && op.kind == BlockOp.Kind.READ) { // not the read half of a merge whose op failed
                copyOut(slot);
            }
            slot.op = null;
            freeSlots.push(slot);
            if (--op.inFlight == 0 && (op.fullyIssued() || op.error != null)) {
                waiting.remove(op);
                end(op);
                done.add(op);
            }
        }
        return any;
    }

    private void end(BlockOp op) {
        live.remove(op);
        if (op.started) {
            op.started = false;
            opsRunning--;
            if (op.exclusive) {
                exclusiveRunning = false;
            }
        }
        if (opsRunning == 0) {
            notifyAll();
        }
    }

    /** The broken-device reason for a bug of ours: the calls waiting on the device must still hear. */
    private String driverBug(RuntimeException e) {
        LOG.error("{}: driver bug; failing every request", name, e);
        return DRIVER_BUG + e;
    }

    /** How {@link #brokenReason()} starts when the driver, not the device, failed. */
    public static final String DRIVER_BUG = "driver bug: ";

    /**
     * Fails every op not yet answered, in flight or waiting; the device is not used again, nor
     * its slots (it may still write to them).
     */
    private void markBroken(String reason, List<BlockOp> done) {
        if (broken == null) {
            broken = reason;
            LOG.error("{}: device broken, failing every request: {}", name, reason);
        }
        for (BlockOp op : List.copyOf(live)) {
            op.fail(Errno.EIO);
            op.inFlight = 0;
            end(op);
            done.add(op);
        }
        Arrays.fill(byHead, null);
        waiting.clear();
        opsRunning = 0;
        exclusiveRunning = false;
        notifyAll();
    }

    /** Notifies the device if asked, then posts the completions of {@code done} to the event loop. */
    private void finish(boolean kick, List<BlockOp> done) {
        if (kick) {
            try {
                transport.kick(0);
            } catch (ErrnoException e) {
                if (transport.canReconnect()) {
                    // The interrupt thread sees the back-end gone too: it reconnects and sends again.
                    LOG.debug("{}: kick failed: {}", name, e.getMessage());
                } else {
                    List<BlockOp> failed = new ArrayList<>();
                    synchronized (this) {
                        markBroken(e.getMessage(), failed);
                    }
                    finish(false, failed);
                }
            }
        }
        for (int i = 0; i < done.size(); i++) { // indexed: no iterator per call, which busy polling makes often
            BlockOp op = done.get(i);
            long bytes = op.error == null ? (op.kind == BlockOp.Kind.FLUSH ? 0 : op.length) : 0;
            Errno error = op.error;
            IoCompletion c = op.completion;
            try {
                loop.execute(() -> c.done(bytes, error));
            } catch (IllegalStateException e) {
                LOG.debug("{}: event loop closed, completion dropped", name);
            }
        }
    }

    /** Why the device is broken, or null. */
    public synchronized String brokenReason() {
        return broken;
    }

    /**
     * Refuses new calls, waits for those in flight, stops the device and releases its memory.
     * A device that has not answered within {@value #CLOSE_WAIT_MILLIS} ms (in
     * {@link Completions#CALLER_POLLS} mode: by the time one last {@link #poll()} looks) is
     * given up on: its calls fail with {@code EIO}, so close always returns.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (completions == Completions.CALLER_POLLS) {
            poll();
        }
        List<BlockOp> abandoned = new ArrayList<>();
        synchronized (this) {
            long deadline = System.nanoTime() + CLOSE_WAIT_MILLIS * 1_000_000;
            boolean interrupted = false;
            while (opsRunning > 0 && broken == null && completions != Completions.CALLER_POLLS) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (opsRunning > 0 && broken == null) {
                markBroken("closed with " + opsRunning + " calls the device never answered", abandoned);
            }
        }
        finish(false, abandoned);
        if (interrupts != null) {
            transport.wakeUp(0);
            interrupts.interrupt(); // ends at once a wait for a back-end that went away
            try {
                interrupts.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            released = true; // the memory goes with the transport: no poll may touch it after this
        }
        transport.close();
        onClose.accept(this);
    }

    @Override
    public String toString() {
        return "VirtioBlockDevice[" + name + ", " + size() + " bytes, block " + sectorSize() + ", features 0x"
                + Long.toHexString(features) + (broken != null ? ", broken" : "") + "]";
    }
}
