package io.jrump.blk.part;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The MBR: four 16-byte entries at offset 446, the 0x55AA signature at 510, the disk signature at
 * 440; an extended partition holds a chain of EBRs, each with one logical partition (offsets
 * relative to the EBR) and a link to the next (relative to the extended partition).
 */
final class MbrCodec {
    static final int ENTRIES = 446;
    static final int DISK_SIGNATURE = 440;
    static final int ENTRY_SIZE = 16;
    /** More logical partitions than any tool makes; a longer chain is a loop or an attack. */
    static final int MAX_LOGICAL = 128;

    private MbrCodec() {
    }

    /** One 16-byte entry: status, CHS start, type, CHS end, first LBA, sector count. */
    record Entry(int status, int type, long firstLba, long sectors) {
        static Entry read(ByteBuffer sector, int slot) {
            ByteBuffer b = sector.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            int at = ENTRIES + slot * ENTRY_SIZE;
            return new Entry(b.get(at) & 0xff, b.get(at + 4) & 0xff, Integer.toUnsignedLong(b.getInt(at + 8)),
                    Integer.toUnsignedLong(b.getInt(at + 12)));
        }

        void write(ByteBuffer sector, int slot) {
            ByteBuffer b = sector.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            int at = ENTRIES + slot * ENTRY_SIZE;
            b.put(at, (byte) status);
            chs(b, at + 1, firstLba);
            b.put(at + 4, (byte) type);
            chs(b, at + 5, firstLba + sectors - 1);
            b.putInt(at + 8, (int) firstLba);
            b.putInt(at + 12, (int) sectors);
        }

        boolean isEmpty() {
            return type == 0;
        }
    }

    /** CHS for 255 heads and 63 sectors per track, saturating at 1023/254/63 as fdisk does. */
    private static void chs(ByteBuffer b, int at, long lba) {
        long c = lba / (255 * 63);
        long h = (lba / 63) % 255;
        long s = lba % 63 + 1;
        if (c > 1023) {
            c = 1023;
            h = 254;
            s = 63;
        }
        b.put(at, (byte) h);
        b.put(at + 1, (byte) ((s & 0x3f) | ((c >> 2) & 0xc0)));
        b.put(at + 2, (byte) c);
    }

    static boolean hasSignature(ByteBuffer sector) {
        return (sector.get(510) & 0xff) == 0x55 && (sector.get(511) & 0xff) == 0xaa;
    }

    static boolean isProtective(ByteBuffer sector) {
        for (int i = 0; i < 4; i++) {
            if (Entry.read(sector, i).type() == 0xee) {
                return true;
            }
        }
        return false;
    }

    static void writeSignature(ByteBuffer sector) {
        sector.put(510, (byte) 0x55);
        sector.put(511, (byte) 0xaa);
    }

    /**
     * The primary entries and the logical partitions of the extended one. An entry of 0 sectors
     * is skipped, as Linux skips it; partitions that run past the disk or overlap are listed, marked bad.
     */
    static PartitionTable read(TableSectors disk, ByteBuffer mbr) throws ErrnoException {
        long lastLba = disk.sectorCount() - 1;
        List<Partition> parts = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        int extendedSlot = -1;
        for (int i = 0; i < 4; i++) {
            Entry e = Entry.read(mbr, i);
            if (e.isEmpty()) {
                continue;
            }
            if (e.sectors() == 0) {
                warnings.add(String.format("%s: MBR entry %d (offset 0x%x) has type 0x%02x but 0 sectors; ignored",
                        disk.name(), i + 1, ENTRIES + i * ENTRY_SIZE, e.type()));
                continue;
            }
            if (PartitionType.isExtended(e.type())) {
                if (extendedSlot >= 0) {
                    throw new ErrnoException(Errno.EUCLEAN, disk.name() + ": MBR has two extended partitions ("
                            + (extendedSlot + 1) + " and " + (i + 1) + ")");
                }
                extendedSlot = i;
            }
            parts.add(partition(i + 1, e, e.firstLba()));
        }
        if (extendedSlot >= 0) {
            Entry ext = Entry.read(mbr, extendedSlot);
            readLogicals(disk, ext, parts, warnings);
        }
        // isohybrid images start an entry at sector 0 over the ISO volume: the layout check accepts it there.
        parts = PartitionLayout.check(disk.name(), "MBR", parts, 1, lastLba, lastLba, isIsoHybrid(disk.disk()), warnings);
        String id = String.format("0x%08x", mbr.duplicate().order(ByteOrder.LITTLE_ENDIAN).getInt(DISK_SIGNATURE));
        return new PartitionTable(PartitionTable.Scheme.MBR, id, disk.sectorSize(), 1, lastLba, parts, warnings);
    }

    private static Partition partition(int number, Entry e, long firstLba) {
        return new Partition(number, firstLba, firstLba + e.sectors() - 1, String.format("%x", e.type()),
                PartitionType.describeMbr(e.type()), "", null, e.status() == 0x80 ? 0x80 : 0);
    }

    /**
     * Follows the EBR chain, bounded and loop-checked. A chain that leaves the extended partition
     * is refused; one that runs past the end of a truncated disk ends there, with a warning.
     */
    private static void readLogicals(TableSectors disk, Entry ext, List<Partition> parts, List<String> warnings)
            throws ErrnoException {
        long extStart = ext.firstLba();
        long extEnd = extStart + ext.sectors() - 1;
        long ebr = extStart;
        Set<Long> seen = new HashSet<>();
        for (int n = 5; ; n++) {
            if (n - 5 >= MAX_LOGICAL) {
                throw new ErrnoException(Errno.EUCLEAN, disk.name() + ": more than " + MAX_LOGICAL
                        + " logical partitions in the EBR chain at sector " + ebr);
            }
            if (!seen.add(ebr)) {
                throw new ErrnoException(Errno.EUCLEAN, disk.name() + ": EBR chain loops back to sector " + ebr);
            }
            if (ebr < extStart || ebr > extEnd) {
                throw new ErrnoException(Errno.EUCLEAN, disk.name() + ": EBR at sector " + ebr
                        + " lies outside the extended partition (" + extStart + "-" + extEnd + ")");
            }
            if (ebr >= disk.sectorCount()) {
                warnings.add(disk.name() + ": EBR at sector " + ebr + " lies past the end of the disk (its last sector is "
                        + (disk.sectorCount() - 1) + "); logical partitions from " + n
                        + " on are not listed: the image may be truncated");
                return;
            }
            ByteBuffer sector = disk.read(ebr, 1);
            if (!hasSignature(sector)) {
                throw new ErrnoException(Errno.EUCLEAN, disk.name() + ": EBR at sector " + ebr + " lacks the 0x55AA signature");
            }
            Entry logical = Entry.read(sector, 0);
            Entry next = Entry.read(sector, 1);
            if (!logical.isEmpty() && logical.sectors() > 0) {
                long first = ebr + logical.firstLba();
                Partition p = partition(n, logical, first);
                if (first + logical.sectors() - 1 > extEnd) {
                    String why = "ends past its extended partition (sectors " + extStart + "-" + extEnd + ")";
                    warnings.add(disk.name() + ": logical partition " + n + " (EBR at sector " + ebr + ") " + why
                            + "; it is listed but cannot be opened");
                    p = p.withProblem(why);
                }
                parts.add(p);
            }
            if (next.isEmpty() || next.sectors() == 0) {
                return;
            }
            ebr = extStart + next.firstLba();
        }
    }

    /** Whether an ISO9660 volume descriptor ("CD001") sits at byte 32768, where isohybrid images have it. */
    static boolean isIsoHybrid(BlockDevice disk) throws ErrnoException {
        int n = Math.max(2048, disk.sectorSize());
        if (disk.size() < 32768L + n || 32768 % disk.sectorSize() != 0) {
            return false;
        }
        ByteBuffer b = ByteBuffer.allocate(n);
        disk.read(32768, b);
        return b.get(1) == 'C' && b.get(2) == 'D' && b.get(3) == '0' && b.get(4) == '0' && b.get(5) == '1';
    }
}
