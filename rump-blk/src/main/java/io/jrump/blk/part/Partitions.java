package io.jrump.blk.part;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/** Opens a partition of a disk as a device of its own. */
public final class Partitions {
    private Partitions() {
    }

    /** Partition {@code number} (1-based; logical MBR partitions from 5) as a slice of the disk. */
    public static BlockDevice open(BlockDevice disk, int number) throws ErrnoException {
        PartitionTable t = PartitionTable.read(disk);
        Partition p = t.partition(number).orElseThrow(() -> new ErrnoException(Errno.ENOENT,
                disk.name() + ": no partition " + number));
        return slice(disk, p);
    }

    /** A partition by number ({@code "2"}) or, failing that, by GPT name ({@code "root"}). */
    public static BlockDevice open(BlockDevice disk, String spec) throws ErrnoException {
        if (spec.matches("\\d{1,3}")) {
            return open(disk, Integer.parseInt(spec));
        }
        return openByName(disk, spec);
    }

    /** The GPT partition with this name. */
    public static BlockDevice openByName(BlockDevice disk, String name) throws ErrnoException {
        PartitionTable t = PartitionTable.read(disk);
        Partition p = t.partitions().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow(
                () -> new ErrnoException(Errno.ENOENT, disk.name() + ": no partition named '" + name + "'"));
        return slice(disk, p);
    }

    private static BlockDevice slice(BlockDevice disk, Partition p) throws ErrnoException {
        if (PartitionType.isExtendedType(p)) {
            throw new ErrnoException(Errno.EINVAL, disk.name() + ": partition " + p.number()
                    + " is an extended partition, a container of logical ones");
        }
        return disk.slice(disk.name() + ":" + p.number(), p.firstLba() * disk.sectorSize(), p.sizeBytes(disk.sectorSize()));
    }
}
