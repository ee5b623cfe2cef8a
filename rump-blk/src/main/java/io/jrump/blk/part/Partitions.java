package io.jrump.blk.part;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/**
 * Opens a partition of a disk as a device of its own: the byte range its table gives, LBAs
 * counted in the table's sector unit (4096 bytes for a 4Kn disk's GPT, whatever the device's).
 * A partition its table marks bad ({@link Partition#problem()}) is refused; the others open.
 * A disk without a table is {@code ENODATA} (from {@link PartitionTable#read}); a partition the
 * table does not have is {@code ENXIO} ("No such device or address"), as Linux answers for a
 * partition device that is gone.
 */
public final class Partitions {
    private Partitions() {
    }

    /** Partition {@code number} (1-based; logical MBR partitions from 5) as a slice of the disk. */
    public static BlockDevice open(BlockDevice disk, int number) throws ErrnoException {
        return open(disk, PartitionTable.read(disk), number);
    }

    /** A partition by number ({@code "2"}) or, failing that, by GPT name ({@code "root"}). */
    public static BlockDevice open(BlockDevice disk, String spec) throws ErrnoException {
        return open(disk, PartitionTable.read(disk), spec);
    }

    /** As {@link #open(BlockDevice, String)}, with the table's LBAs taken as {@code sectorSize}-byte sectors. */
    public static BlockDevice open(BlockDevice disk, String spec, int sectorSize) throws ErrnoException {
        return open(disk, PartitionTable.read(disk, sectorSize), spec);
    }

    /** The GPT partition with this name. */
    public static BlockDevice openByName(BlockDevice disk, String name) throws ErrnoException {
        return openByName(disk, PartitionTable.read(disk), name);
    }

    /** Partition {@code spec} (a number, or a GPT name) of {@code table}, a table read from {@code disk}. */
    public static BlockDevice open(BlockDevice disk, PartitionTable table, String spec) throws ErrnoException {
        if (spec.matches("\\d{1,3}")) {
            return open(disk, table, Integer.parseInt(spec));
        }
        return openByName(disk, table, spec);
    }

    /** Partition {@code number} of {@code table}, a table read from {@code disk}. */
    public static BlockDevice open(BlockDevice disk, PartitionTable table, int number) throws ErrnoException {
        Partition p = table.partition(number).orElseThrow(() -> new ErrnoException(Errno.ENXIO,
                disk.name() + ": no partition " + number));
        return slice(disk, table, p);
    }

    private static BlockDevice openByName(BlockDevice disk, PartitionTable table, String name) throws ErrnoException {
        Partition p = table.partitions().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow(
                () -> new ErrnoException(Errno.ENXIO, disk.name() + ": no partition named '" + name + "'"));
        return slice(disk, table, p);
    }

    private static BlockDevice slice(BlockDevice disk, PartitionTable table, Partition p) throws ErrnoException {
        if (p.isBad()) {
            throw new ErrnoException(Errno.EUCLEAN, disk.name() + ": partition " + p.number() + " (sectors "
                    + p.firstLba() + "-" + p.lastLba() + ") " + p.problem() + "; the table's other partitions can be opened");
        }
        if (PartitionType.isExtendedType(p)) {
            throw new ErrnoException(Errno.EINVAL, disk.name() + ": partition " + p.number()
                    + " is an extended partition, a container of logical ones");
        }
        int ss = table.sectorSize();
        long offset = p.firstLba() * ss;
        long length = p.sizeBytes(ss);
        if (offset % disk.sectorSize() != 0 || length % disk.sectorSize() != 0) {
            throw new ErrnoException(Errno.EINVAL, disk.name() + ": partition " + p.number() + " (sectors "
                    + p.firstLba() + "-" + p.lastLba() + " of " + ss + " bytes) does not fall on the device's "
                    + disk.sectorSize() + "-byte sectors");
        }
        return disk.slice(disk.name() + ":" + p.number(), offset, length);
    }
}
