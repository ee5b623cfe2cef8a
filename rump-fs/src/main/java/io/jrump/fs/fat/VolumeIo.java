package io.jrump.fs.fat;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;

/**
 * Byte ranges of a block device, at any offset and length: the aligned middle of a range goes
 * to the device as it is, a partial sector at either end is read, patched and written back. FAT
 * structures are 32-byte directory entries and 12-bit FAT entries, so most metadata writes are
 * partial; the buffer cache below makes the read of such a sector cheap.
 */
public final class VolumeIo {
    private final BlockDevice dev;
    private final int sector;

    public VolumeIo(BlockDevice dev) {
        this.dev = dev;
        this.sector = dev.sectorSize();
    }

    public BlockDevice device() {
        return dev;
    }

    /** Reads {@code dst.remaining()} bytes at {@code offset}; the position moves to the limit. */
    public void read(long offset, ByteBuffer dst) throws ErrnoException {
        int n = dst.remaining();
        if (n == 0) {
            return;
        }
        if (offset % sector == 0 && n % sector == 0) {
            dev.read(offset, dst);
            dst.position(dst.limit());
            return;
        }
        long start = offset - offset % sector;
        long end = roundUp(offset + n);
        ByteBuffer whole = ByteBuffer.allocate((int) (end - start));
        dev.read(start, whole);
        dst.put(whole.position((int) (offset - start)).limit((int) (offset - start) + n));
    }

    /** Writes {@code src.remaining()} bytes at {@code offset}; the position moves to the limit. */
    public void write(long offset, ByteBuffer src) throws ErrnoException {
        int n = src.remaining();
        if (n == 0) {
            return;
        }
        if (offset % sector == 0 && n % sector == 0) {
            dev.write(offset, src);
            src.position(src.limit());
            return;
        }
        long start = offset - offset % sector;
        long end = roundUp(offset + n);
        ByteBuffer whole = ByteBuffer.allocate((int) (end - start));
        dev.read(start, whole);
        whole.position((int) (offset - start));
        whole.put(src);
        whole.clear();
        dev.write(start, whole);
    }

    /** Writes {@code length} zero bytes at {@code offset}, in pieces of at most 1 MiB. */
    public void zero(long offset, long length) throws ErrnoException {
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
        long done = 0;
        while (done < length) {
            int n = (int) Math.min(zeros.capacity(), length - done);
            write(offset + done, zeros.clear().limit(n));
            done += n;
        }
    }

    private long roundUp(long x) {
        return (x + sector - 1) / sector * sector;
    }
}
