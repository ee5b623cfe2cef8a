package io.jrump.blk.image;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.BlockStats;
import io.jrump.blk.internal.Requests;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import java.nio.ByteBuffer;

/**
 * An image format laid out as a table of fixed-size blocks (VHD's BAT, VDI's block map, VMDK's
 * grain tables, VHDX's BAT): a request is cut at block boundaries and each piece goes to where
 * the format says its block lies in the file. A block that is not there reads as zeros; writing
 * zeros to it allocates nothing, so converted images stay sparse; writing data to it asks the
 * format to {@link #allocateBlock allocate} it first. Formats whose blocks have finer state (a
 * differencing disk's sector bitmap) override {@link #readPiece}/{@link #writePiece}.
 * Thread-safe: requests are serialized.
 */
abstract class BlockMapImage implements BlockDevice {
    /** What {@link #blockOffset} answers for a block that reads as zeros. */
    static final long ZEROS = -1;

    final ImageFile file;
    private final String name;
    private final String format;
    private final long size;
    private final int blockSize;
    private final boolean readOnly;
    private final BlockStats stats;
    private boolean closed;

    BlockMapImage(ImageFile file, String format, long size, int blockSize, boolean readOnly, HostClock clock) {
        this.file = file;
        this.name = file.name();
        this.format = format;
        this.size = size;
        this.blockSize = blockSize;
        this.readOnly = readOnly;
        this.stats = new BlockStats(clock);
    }

    /** Where block {@code block}'s data starts in the file, or {@link #ZEROS}. */
    abstract long blockOffset(int block) throws ErrnoException;

    /**
     * Places block {@code block} in the file (reading as zeros), records it in the format's
     * table and returns where its data starts. Called only on a read-write image, for a block
     * whose {@link #blockOffset} is {@link #ZEROS}.
     */
    long allocateBlock(int block) throws ErrnoException {
        throw new ErrnoException(Errno.EROFS, name + ": writing " + format + " images is not supported");
    }

    /** Writes the format's metadata not yet in the file (counts, footers); before every host flush. */
    void flushMetadata() throws ErrnoException {
    }

    /** Reads {@code part} from block {@code block}, starting {@code within} bytes into it. */
    void readPiece(int block, int within, ByteBuffer part) throws ErrnoException {
        long at = blockOffset(block);
        if (at == ZEROS) {
            while (part.hasRemaining()) {
                part.put((byte) 0);
            }
        } else {
            file.read(at + within, part);
        }
    }

    /** Writes {@code part} into block {@code block}, {@code within} bytes into it. */
    void writePiece(int block, int within, ByteBuffer part) throws ErrnoException {
        long at = blockOffset(block);
        if (at == ZEROS) {
            if (isZero(part)) {
                return;
            }
            at = allocateBlock(block);
        }
        file.write(at + within, part);
    }

    /** The size of the format's blocks (VHD's and VHDX's blocks, VDI's, VMDK's grains). */
    public final int blockSize() {
        return blockSize;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int sectorSize() {
        return 512;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public BlockStats stats() {
        return stats;
    }

    private interface Piece {
        void run(int block, int within, ByteBuffer part) throws ErrnoException;
    }

    /** Cuts {@code length} bytes of {@code buf} from {@code offset} at block boundaries. */
    private void eachPiece(long offset, ByteBuffer buf, int length, Piece piece) throws ErrnoException {
        int done = 0;
        while (done < length) {
            long pos = offset + done;
            int within = (int) (pos % blockSize);
            int n = (int) Math.min(length - done, (long) blockSize - within);
            ByteBuffer part = buf.duplicate().position(buf.position() + done).limit(buf.position() + done + n);
            piece.run((int) (pos / blockSize), within, part);
            done += n;
        }
    }

    private void checkOpen() throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.EBADF, name + " is closed");
        }
    }

    @Override
    public synchronized void read(long offset, ByteBuffer dst) throws ErrnoException {
        checkOpen();
        int length = dst.remaining();
        Requests.checkRead(name, sectorSize(), size, offset, length);
        stats.time(BlockStats.Op.READ, length, () -> eachPiece(offset, dst, length, this::readPiece));
    }

    @Override
    public synchronized void write(long offset, ByteBuffer src) throws ErrnoException {
        checkOpen();
        int length = src.remaining();
        Requests.checkWrite(name, sectorSize(), size, readOnly, offset, length);
        stats.time(BlockStats.Op.WRITE, length, () -> eachPiece(offset, src, length, this::writePiece));
    }

    @Override
    public synchronized void flush() throws ErrnoException {
        checkOpen();
        if (!readOnly) {
            stats.time(BlockStats.Op.FLUSH, 0, () -> {
                flushMetadata();
                file.flush();
            });
        }
    }

    /** Checked and accepted; the blocks stay allocated (these formats have no way to free one in place). */
    @Override
    public synchronized void discard(long offset, long length) throws ErrnoException {
        checkOpen();
        Requests.checkWrite(name, sectorSize(), size, readOnly, offset, length);
    }

    @Override
    public synchronized void close() throws ErrnoException {
        if (closed) {
            return;
        }
        try {
            flush();
        } finally {
            closed = true;
            file.close();
        }
    }

    /**
     * Fills {@code part} (its position kept) from {@code parent} at {@code offset}, and with
     * zeros past the parent's end: a differencing disk may be larger than its parent.
     */
    static void readParent(BlockDevice parent, long offset, ByteBuffer part) throws ErrnoException {
        int have = (int) Math.max(0, Math.min(part.remaining(), parent.size() - offset));
        if (have > 0) {
            parent.read(offset, part.duplicate().limit(part.position() + have));
        }
        for (int i = part.position() + have; i < part.limit(); i++) {
            part.put(i, (byte) 0);
        }
    }

    /** 64 KiB of zeros that {@link #isZero} compares against. */
    private static final ByteBuffer ZERO_BYTES = ByteBuffer.allocateDirect(64 << 10).asReadOnlyBuffer();

    /** Whether {@code b}'s remaining bytes are all zero; by {@code mismatch}, which the JIT vectorizes. */
    static boolean isZero(ByteBuffer b) {
        for (int at = b.position(); at < b.limit(); at += ZERO_BYTES.capacity()) {
            int n = Math.min(ZERO_BYTES.capacity(), b.limit() - at);
            if (b.slice(at, n).mismatch(ZERO_BYTES.slice(0, n)) != -1) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return format + "[" + name + ", " + size + " bytes]";
    }
}
