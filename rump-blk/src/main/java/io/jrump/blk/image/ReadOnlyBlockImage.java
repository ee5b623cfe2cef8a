package io.jrump.blk.image;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.BlockStats;
import io.jrump.blk.internal.Requests;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostClock;
import java.nio.ByteBuffer;

/**
 * An image format read through a table of fixed-size blocks (VHD's BAT, VDI's block map): a read
 * is cut at block boundaries, each piece read from where the format says its block lies in the
 * file, or zeros for a block that is not there. Read-only; writes and discards are {@code EROFS}.
 * Thread-safe: reads are serialized.
 */
abstract class ReadOnlyBlockImage implements BlockDevice {
    /** What {@link #blockOffset} answers for a block that reads as zeros. */
    static final long ZEROS = -1;

    final ImageFile file;
    private final String name;
    private final String format;
    private final long size;
    private final int blockSize;
    private final BlockStats stats;
    private boolean closed;

    ReadOnlyBlockImage(ImageFile file, String format, long size, int blockSize, HostClock clock) {
        this.file = file;
        this.name = file.name();
        this.format = format;
        this.size = size;
        this.blockSize = blockSize;
        this.stats = new BlockStats(clock);
    }

    /** Where block {@code block}'s data starts in the file, or {@link #ZEROS}. */
    abstract long blockOffset(int block);

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
        return true;
    }

    @Override
    public BlockStats stats() {
        return stats;
    }

    @Override
    public synchronized void read(long offset, ByteBuffer dst) throws ErrnoException {
        if (closed) {
            throw new ErrnoException(Errno.EBADF, name + " is closed");
        }
        int length = dst.remaining();
        Requests.checkRead(name, 512, size, offset, length);
        stats.time(BlockStats.Op.READ, length, () -> {
            int done = 0;
            while (done < length) {
                long pos = offset + done;
                int within = (int) (pos % blockSize);
                int n = (int) Math.min(length - done, (long) blockSize - within);
                ByteBuffer part = dst.duplicate().position(dst.position() + done).limit(dst.position() + done + n);
                long at = blockOffset((int) (pos / blockSize));
                if (at == ZEROS) {
                    while (part.hasRemaining()) {
                        part.put((byte) 0);
                    }
                } else {
                    file.read(at + within, part);
                }
                done += n;
            }
        });
    }

    @Override
    public void write(long offset, ByteBuffer src) throws ErrnoException {
        throw new ErrnoException(Errno.EROFS, name + ": opened read-only (writing " + format + " is not supported yet)");
    }

    @Override
    public void flush() {
    }

    @Override
    public void discard(long offset, long length) throws ErrnoException {
        throw new ErrnoException(Errno.EROFS, name + ": opened read-only");
    }

    @Override
    public synchronized void close() throws ErrnoException {
        if (!closed) {
            closed = true;
            file.close();
        }
    }

    @Override
    public String toString() {
        return format + "[" + name + ", " + size + " bytes]";
    }
}
