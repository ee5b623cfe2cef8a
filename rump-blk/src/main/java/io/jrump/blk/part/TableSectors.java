package io.jrump.blk.part;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;

/**
 * A disk seen in the sector unit of its partition table, which need not be the device's: an
 * image file of a 4096-byte-sector disk is read through a 512-byte-sector device, and its GPT
 * counts in 4096-byte LBAs. Reads and writes of table sectors are turned into byte ranges of the
 * device, widened to its sector size where the table's unit is smaller.
 */
final class TableSectors {
    /** The sector sizes a table may use: powers of two, as {@link io.jrump.blk.HostDisk} allows. */
    static final int MIN_SECTOR = 512;
    static final int MAX_SECTOR = 65536;

    private final BlockDevice disk;
    private final int sectorSize;

    TableSectors(BlockDevice disk, int sectorSize) throws ErrnoException {
        if (sectorSize < MIN_SECTOR || sectorSize > MAX_SECTOR || Integer.bitCount(sectorSize) != 1) {
            throw new ErrnoException(Errno.EINVAL, disk.name() + ": sector size " + sectorSize
                    + " is not a power of two from 512 to 65536");
        }
        this.disk = disk;
        this.sectorSize = sectorSize;
    }

    BlockDevice disk() {
        return disk;
    }

    String name() {
        return disk.name();
    }

    int sectorSize() {
        return sectorSize;
    }

    /** Whole table sectors on the device (a partial last one does not count). */
    long sectorCount() {
        return disk.size() / sectorSize;
    }

    /** {@code count} sectors from {@code lba}, which the caller has checked lie on the disk. */
    ByteBuffer read(long lba, int count) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(count * sectorSize);
        readBytes(disk, lba * sectorSize, b);
        return b;
    }

    /** Writes whole table sectors at {@code lba}, merging with the device's sectors around them. */
    void write(long lba, ByteBuffer src) throws ErrnoException {
        long offset = lba * sectorSize;
        int ds = disk.sectorSize();
        if (offset % ds == 0 && src.remaining() % ds == 0) {
            disk.write(offset, src);
            return;
        }
        long from = offset - offset % ds;
        long to = roundUp(offset + src.remaining(), ds);
        ByteBuffer merged = ByteBuffer.allocate((int) (to - from));
        disk.read(from, merged);
        merged.position((int) (offset - from)).put(src.duplicate());
        disk.write(from, merged.clear());
    }

    /** Bytes at any offset of the device, read in whole device sectors. */
    static void readBytes(BlockDevice disk, long offset, ByteBuffer dst) throws ErrnoException {
        int ds = disk.sectorSize();
        if (offset % ds == 0 && dst.remaining() % ds == 0) {
            disk.read(offset, dst);
            return;
        }
        long from = offset - offset % ds;
        long to = roundUp(offset + dst.remaining(), ds);
        ByteBuffer wide = ByteBuffer.allocate((int) (to - from));
        disk.read(from, wide);
        dst.duplicate().put(wide.position((int) (offset - from)).limit((int) (offset - from) + dst.remaining()));
    }

    private static long roundUp(long v, long unit) {
        return (v + unit - 1) / unit * unit;
    }
}
