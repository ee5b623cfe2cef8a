package io.jrump.blk.part;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
     * Reads the table of a disk, in the sector unit its GPT shows: a GPT header ("EFI PART") at
     * byte 4096 rather than 512 is the table of a disk of 4096-byte sectors, as an image file of a
     * 4Kn disk holds, and its LBAs count 4096-byte sectors. Without a GPT the device's sector size
     * is the unit. A protective MBR (a type 0xEE entry) means GPT.
     *
     * @throws ErrnoException {@code ENODATA} ("No data available") if sector 0 holds no partition
     *     table or the disk is too small for one; {@code EUCLEAN}
     *     for a table that cannot be read at all (both GPT copies bad, an EBR loop), naming the
     *     structure and sector; {@code EIO} from the disk. Partitions that run past the end of the
     *     disk or overlap do not fail the table: they are listed with a {@link Partition#problem()}.
     */
    public static PartitionTable read(BlockDevice disk) throws ErrnoException {
        return read(disk, detectSectorSize(disk));
    }

    /**
     * Reads the table of a disk taking its LBAs as {@code sectorSize}-byte sectors, whatever the
     * device's sector size (as {@code fdisk -b} does).
     *
     * @throws ErrnoException {@code EINVAL} for a sector size that is not a power of two from 512
     *     to 65536; else as {@link #read(BlockDevice)}
     */
    public static PartitionTable read(BlockDevice disk, int sectorSize) throws ErrnoException {
        return read(new TableSectors(disk, sectorSize));
    }

    static PartitionTable read(TableSectors disk) throws ErrnoException {
        if (disk.sectorCount() < 2) {
            throw new ErrnoException(Errno.ENODATA, disk.name() + ": too small for a partition table (" + disk.sectorCount() + " sector"
                    + (disk.sectorCount() == 1 ? "" : "s") + ")");
        }
        ByteBuffer mbr = disk.read(0, 1);
        if (!MbrCodec.hasSignature(mbr)) {
            throw new ErrnoException(Errno.ENODATA, disk.name() + ": no partition table (sector 0 lacks the 0x55AA signature)");
        }
        if (MbrCodec.isProtective(mbr)) {
            return GptCodec.read(disk);
        }
        return MbrCodec.read(disk, mbr);
    }

    /** The sector sizes a GPT is looked for in, the common ones. */
    private static final int[] GPT_SECTOR_SIZES = {512, 4096};

    /**
     * The sector unit of the disk's table: where a GPT header is found, at LBA 1 (one sector in)
     * or else at the last LBA (the backup); a header whose CRC checks wins over one that does not.
     * The device's own sector size if sector 0 holds no protective MBR, if no GPT header is found,
     * or if both units hold a sound one.
     */
    public static int detectSectorSize(BlockDevice disk) throws ErrnoException {
        int own = disk.sectorSize();
        if (disk.size() < 2L * own) {
            return own;
        }
        ByteBuffer mbr = ByteBuffer.allocate(own);
        disk.read(0, mbr);
        if (!MbrCodec.hasSignature(mbr) || !MbrCodec.isProtective(mbr)) {
            return own; // an MBR, or no table: only a GPT says its unit
        }
        int signed = 0;
        for (boolean primary : new boolean[] {true, false}) {
            int sound = 0;
            for (int ss : GPT_SECTOR_SIZES) {
                if (ss < own || disk.size() < 2L * ss) {
                    continue;
                }
                long lastLba = disk.size() / ss - 1;
                long lba = primary ? 1 : lastLba;
                ByteBuffer sector = ByteBuffer.allocate(ss);
                TableSectors.readBytes(disk, lba * ss, sector);
                if (sector.duplicate().order(ByteOrder.LITTLE_ENDIAN).getLong(0) != GptCodec.SIGNATURE) {
                    continue;
                }
                if (GptCodec.Header.problem(sector, lba, lastLba, ss) == null) {
                    sound = sound == 0 ? ss : -1;
                }
                signed = signed == 0 ? ss : signed;
            }
            if (sound != 0) {
                return sound > 0 ? sound : own; // two sound headers: no telling, keep the device's unit
            }
        }
        return signed == 0 ? own : signed;
    }

    /** The partition with this number. */
    public java.util.Optional<Partition> partition(int number) {
        return partitions.stream().filter(p -> p.number() == number).findFirst();
    }
}
