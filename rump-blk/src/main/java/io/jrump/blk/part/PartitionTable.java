package io.jrump.blk.part;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A disk's partition table as read: its scheme, the disk identifier (MBR disk signature or GPT
 * disk GUID), the partitions in number order, and warnings about what was wrong but survivable
 * (a damaged primary GPT read from its backup, say).
 *
 * @param firstUsableLba the first sector partitions may use (GPT), or 1 (MBR)
 * @param lastUsableLba  the last sector partitions may use (GPT), or the disk's last sector (MBR)
 */
public record PartitionTable(Scheme scheme, String diskId, int sectorSize, long firstUsableLba, long lastUsableLba,
                             List<Partition> partitions, List<String> warnings) {

    /** The kinds of table. */
    public enum Scheme {
        MBR, GPT
    }

    public PartitionTable {
        partitions = List.copyOf(partitions);
        warnings = List.copyOf(warnings);
    }

    /**
     * Reads the table of a disk. A protective MBR (a type 0xEE entry) means GPT.
     *
     * @throws ErrnoException {@code ENOENT} if sector 0 holds no partition table; {@code EUCLEAN}
     *     for a corrupt table (both GPT copies bad, an EBR loop, partitions overlapping or out of
     *     range), naming the structure and sector; {@code EIO} from the disk
     */
    public static PartitionTable read(BlockDevice disk) throws ErrnoException {
        ByteBuffer mbr = ByteBuffer.allocate(disk.sectorSize());
        if (disk.size() < 2L * disk.sectorSize()) {
            throw new ErrnoException(Errno.ENOENT, disk.name() + ": too small for a partition table");
        }
        disk.read(0, mbr);
        if (!MbrCodec.hasSignature(mbr)) {
            throw new ErrnoException(Errno.ENOENT, disk.name() + ": no partition table (sector 0 lacks the 0x55AA signature)");
        }
        if (MbrCodec.isProtective(mbr)) {
            return GptCodec.read(disk);
        }
        return MbrCodec.read(disk, mbr);
    }

    /** The partition with this number. */
    public java.util.Optional<Partition> partition(int number) {
        return partitions.stream().filter(p -> p.number() == number).findFirst();
    }
}
