package io.jrump.fs.iso;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;

/**
 * The device as ISO9660 reads it: 2048-byte logical blocks and byte ranges, over a device of
 * 512- or 4096-byte sectors. Unaligned ends go through a bounce buffer; aligned middles are read
 * straight into the caller's buffer. A mounted filesystem's device also keeps a read-ahead
 * window: small reads (directory blocks, small files, which mastering tools lay out one after
 * another) are served from the last {@link #WINDOW} bytes read, so extracting a tree of small
 * files costs one device request per window rather than one per file.
 */
final class IsoDevice {
    static final int BLOCK = 2048;
    /** The largest bounce or direct read in one call, so no request allocates without bound. */
    private static final int MAX_CHUNK = 1 << 20;

    /** The read-ahead window, and the largest read served from it. */
    static final int WINDOW = 256 * 1024;
    private static final int SMALL = 64 * 1024;

    private final BlockDevice dev;
    private final int sectorSize;
    private final long size;
    private final ByteBuffer window; // null: no read-ahead (the probe reads a few blocks only)
    private long windowStart;
    private int windowLength;

    IsoDevice(BlockDevice dev) {
        this(dev, false);
    }

    IsoDevice(BlockDevice dev, boolean readAhead) {
        this.dev = dev;
        this.sectorSize = dev.sectorSize();
        this.size = dev.size();
        this.window = readAhead ? ByteBuffer.allocate(WINDOW) : null;
    }

    String name() {
        return dev.name();
    }

    long size() {
        return size;
    }

    /** Blocks the device holds, whole or not. */
    long blocks() {
        return size / BLOCK;
    }

    /** Logical block {@code lba}, whole; EUCLEAN naming {@code what} if it lies past the end. */
    byte[] block(long lba, String what) throws ErrnoException {
        if (lba < 0 || lba >= blocks()) {
            throw IsoErrors.corrupt(what + ": block " + lba + " lies past the end of the device (" + blocks()
                    + " blocks)");
        }
        byte[] b = new byte[BLOCK];
        read(lba * BLOCK, ByteBuffer.wrap(b));
        return b;
    }

    /** {@code length} bytes at {@code offset}, checked against the device's end. */
    byte[] bytes(long offset, int length, String what) throws ErrnoException {
        if (offset < 0 || length < 0 || offset > size - length) {
            throw IsoErrors.corrupt(what + ": " + length + " bytes at offset " + offset + " run past the end of the "
                    + "device (" + size + " bytes)");
        }
        byte[] b = new byte[length];
        read(offset, ByteBuffer.wrap(b));
        return b;
    }

    /** Fills {@code dst} from its position with the bytes at {@code offset}; moves its position. */
    void read(long offset, ByteBuffer dst) throws ErrnoException {
        if (offset < 0 || offset > size - dst.remaining()) {
            throw new ErrnoException(Errno.EIO, dev.name() + ": iso9660: read of " + dst.remaining() + " bytes at "
                    + offset + " runs past the end of the device (" + size + " bytes)");
        }
        if (window != null && dst.remaining() <= SMALL && fromWindow(offset, dst)) {
            return;
        }
        while (dst.hasRemaining()) {
            int n;
            int head = (int) (offset % sectorSize);
            if (head == 0 && dst.remaining() >= sectorSize) {
                n = Math.min(MAX_CHUNK, dst.remaining() / sectorSize * sectorSize);
                ByteBuffer part = dst.slice(dst.position(), n);
                dev.read(offset, part);
            } else {
                // A partial sector at either end: read the sectors around it and copy the part wanted.
                int span = (int) Math.min(MAX_CHUNK, roundUp(head + (long) dst.remaining(), sectorSize));
                ByteBuffer bounce = ByteBuffer.allocate(span);
                dev.read(offset - head, bounce);
                n = Math.min(span - head, dst.remaining());
                dst.put(dst.position(), bounce, head, n);
            }
            dst.position(dst.position() + n);
            offset += n;
        }
    }

    /** Serves a small read from the window, reading a new window where it starts if need be; false if it cannot. */
    private synchronized boolean fromWindow(long offset, ByteBuffer dst) throws ErrnoException {
        int n = dst.remaining();
        if (offset < windowStart || offset + n > windowStart + windowLength) {
            long start = offset - offset % sectorSize;
            int length = (int) Math.min(WINDOW, size - start); // size is whole sectors, so length is too
            if (start + length < offset + n) {
                return false;
            }
            windowLength = 0; // invalid until the read succeeds
            dev.read(start, window.duplicate().clear().limit(length));
            windowStart = start;
            windowLength = length;
        }
        dst.put(dst.position(), window, (int) (offset - windowStart), n);
        dst.position(dst.position() + n);
        return true;
    }

    private static long roundUp(long v, int unit) {
        return (v + unit - 1) / unit * unit;
    }
}
