package io.jrump.blk.part;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * GPT (UEFI 2.10, section 5.3): the header at LBA 1 and its backup at the last LBA, each pointing
 * at a partition entry array; CRC32 over the header (its CRC field zeroed) and over the array.
 * Reading checks the primary and falls back to the backup, saying so; writing writes both copies
 * and the protective MBR.
 */
final class GptCodec {
    static final long SIGNATURE = 0x5452415020494645L; // "EFI PART", little-endian
    static final int REVISION = 0x00010000;
    static final int HEADER_SIZE = 92;
    static final int ENTRY_SIZE = 128;
    static final int ENTRY_COUNT = 128;
    /** Entry arrays larger than this are refused before anything is allocated. */
    static final int MAX_ARRAY_BYTES = 1 << 20;
    static final int NAME_CHARS = 36;

    private GptCodec() {
    }

    /** The fields of a GPT header. */
    record Header(long myLba, long alternateLba, long firstUsable, long lastUsable, Guid diskGuid, long entriesLba,
                  int entryCount, int entrySize, int entriesCrc) {

        /** Parses and checks a header sector; the message says what is wrong, or null if nothing. */
        static String problem(ByteBuffer sector, long lba, long lastLba, int sectorSize) {
            ByteBuffer b = sector.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            if (b.getLong(0) != SIGNATURE) {
                return "GPT header at LBA " + lba + ": no EFI PART signature";
            }
            if (b.getInt(8) != REVISION) {
                return "GPT header at LBA " + lba + ": revision 0x" + Integer.toHexString(b.getInt(8)) + " unsupported";
            }
            int size = b.getInt(12);
            if (size < HEADER_SIZE || size > sectorSize) {
                return "GPT header at LBA " + lba + ": header size " + Integer.toUnsignedString(size) + " outside "
                        + HEADER_SIZE + ".." + sectorSize;
            }
            int stored = b.getInt(16);
            int actual = crc(sector, 0, size, 16);
            if (stored != actual) {
                return String.format("GPT header at LBA %d: CRC 0x%08x, expected 0x%08x", lba, stored, actual);
            }
            Header h = parse(sector);
            if (h.myLba() != lba) {
                return "GPT header at LBA " + lba + ": says it is at LBA " + h.myLba();
            }
            if (h.entrySize() < ENTRY_SIZE || h.entrySize() % ENTRY_SIZE != 0 || h.entryCount() < 0
                    || (long) h.entryCount() * h.entrySize() > MAX_ARRAY_BYTES) {
                return "GPT header at LBA " + lba + ": entry array of " + Integer.toUnsignedString(h.entryCount())
                        + " entries of " + Integer.toUnsignedString(h.entrySize()) + " bytes";
            }
            long arraySectors = arraySectors(h.entryCount(), h.entrySize(), sectorSize);
            // The usable range must lie between the two headers; it may reach past the disk's end
            // (a truncated image), which makes partitions there bad, not the table.
            long headerAfter = Math.max(h.myLba(), h.alternateLba());
            if (h.firstUsable() < 2 || h.lastUsable() >= headerAfter || h.firstUsable() > h.lastUsable() + 1) {
                return "GPT header at LBA " + lba + ": usable sectors " + h.firstUsable() + "-" + h.lastUsable()
                        + " do not fit between the headers at LBA " + h.myLba() + " and " + h.alternateLba();
            }
            boolean arrayOutside = h.entriesLba() + arraySectors - 1 < h.firstUsable() || h.entriesLba() > h.lastUsable();
            if (h.entriesLba() < 2 || h.entriesLba() > lastLba || arraySectors > lastLba - h.entriesLba() + 1 || !arrayOutside
                    || h.entriesLba() == lba) {
                return "GPT header at LBA " + lba + ": entry array at LBA " + h.entriesLba() + " (" + arraySectors
                        + " sectors) is out of place";
            }
            return null;
        }

        static Header parse(ByteBuffer sector) {
            ByteBuffer b = sector.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            return new Header(b.getLong(24), b.getLong(32), b.getLong(40), b.getLong(48), Guid.read(sector, 56),
                    b.getLong(72), b.getInt(80), b.getInt(84), b.getInt(88));
        }

        void write(ByteBuffer sector) {
            ByteBuffer b = sector.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < sector.capacity(); i++) {
                b.put(i, (byte) 0);
            }
            b.putLong(0, SIGNATURE);
            b.putInt(8, REVISION);
            b.putInt(12, HEADER_SIZE);
            b.putLong(24, myLba);
            b.putLong(32, alternateLba);
            b.putLong(40, firstUsable);
            b.putLong(48, lastUsable);
            diskGuid.write(sector, 56);
            b.putLong(72, entriesLba);
            b.putInt(80, entryCount);
            b.putInt(84, entrySize);
            b.putInt(88, entriesCrc);
            b.putInt(16, crc(sector, 0, HEADER_SIZE, 16));
        }
    }

    static long arraySectors(int count, int size, int sectorSize) {
        return ((long) count * size + sectorSize - 1) / sectorSize;
    }

    /** CRC32 of {@code length} bytes at 0, with the four bytes at {@code zeroAt} taken as zero (or -1 for none). */
    static int crc(ByteBuffer buf, int from, int length, int zeroAt) {
        CRC32 crc = new CRC32();
        ByteBuffer b = buf.duplicate().position(from).limit(from + length);
        if (zeroAt < 0) {
            crc.update(b);
        } else {
            crc.update(b.duplicate().limit(zeroAt));
            crc.update(new byte[4]);
            crc.update(b.duplicate().position(zeroAt + 4));
        }
        return (int) crc.getValue();
    }

    /** One copy of the table, header and entry array, both checked. */
    record Copy(long lba, Header header, List<Partition> entries) {
        /** Entries in use. */
        int used() {
            return entries.size();
        }
    }

    /** The copy at {@code lba}, or the reason it cannot be used (a String). */
    private static Object copy(TableSectors disk, long lba) throws ErrnoException {
        long lastLba = disk.sectorCount() - 1;
        if (lba < 1 || lba > lastLba) {
            return "GPT header LBA " + lba + " lies outside the disk (its last sector is " + lastLba
                    + "); the image may be truncated";
        }
        ByteBuffer sector = disk.read(lba, 1);
        String problem = Header.problem(sector, lba, lastLba, disk.sectorSize());
        if (problem != null) {
            return problem;
        }
        Header h = Header.parse(sector);
        ByteBuffer array = disk.read(h.entriesLba(), (int) arraySectors(h.entryCount(), h.entrySize(), disk.sectorSize()));
        int actual = crc(array, 0, h.entryCount() * h.entrySize(), -1);
        if (actual != h.entriesCrc()) {
            return String.format("GPT entry array of the header at LBA %d: CRC 0x%08x, expected 0x%08x", lba,
                    h.entriesCrc(), actual);
        }
        return new Copy(lba, h, entries(h, array));
    }

    /**
     * Reads the primary copy and the backup it names (or, if the primary is unreadable, the one
     * in the disk's last sector). As sfdisk and sgdisk do, the primary is used when it is sound,
     * with a warning if the backup is bad or differs; but a primary that holds no entries at all
     * (an entry count of 0) while the backup lists partitions was damaged or wiped, and the
     * backup is used, with a warning. Partitions that run past the end of a truncated disk or
     * overlap are listed, marked bad.
     */
    static PartitionTable read(TableSectors disk) throws ErrnoException {
        long lastLba = disk.sectorCount() - 1;
        List<String> warnings = new ArrayList<>();
        Object primary = copy(disk, 1);
        long backupLba = primary instanceof Copy p ? p.header().alternateLba() : lastLba;
        Object backup = copy(disk, backupLba);
        Copy use;
        if (primary instanceof Copy p) {
            use = p;
            if (backup instanceof Copy b) {
                if (p.header().entryCount() == 0 && b.used() > 0) {
                    warnings.add(disk.name() + ": the primary GPT (LBA 1) has no partition entries but the backup (LBA "
                            + b.lba() + ") lists " + b.used() + " partitions; the primary was probably damaged or wiped,"
                            + " using the backup");
                    use = b;
                } else {
                    String difference = difference(p, b);
                    if (difference != null) {
                        warnings.add(disk.name() + ": the primary GPT (LBA 1) and its backup (LBA " + b.lba()
                                + ") differ: " + difference + "; using the primary, as sfdisk and sgdisk do");
                    }
                }
            } else {
                warnings.add(disk.name() + ": " + backup + "; the primary GPT is intact");
            }
        } else if (backup instanceof Copy b) {
            warnings.add(disk.name() + ": " + primary + "; using the backup GPT at LBA " + b.lba());
            use = b;
        } else {
            throw new ErrnoException(Errno.EUCLEAN, disk.name() + ": " + primary + "; backup: " + backup);
        }
        Header h = use.header();
        if (h.lastUsable() > lastLba) {
            warnings.add(disk.name() + ": the GPT describes usable sectors up to " + h.lastUsable()
                    + " but the disk ends at sector " + lastLba + "; the image may be truncated");
        }
        List<Partition> parts = PartitionLayout.check(disk.name(), "GPT", use.entries(), h.firstUsable(), h.lastUsable(),
                lastLba, MbrCodec.isIsoHybrid(disk.disk()), warnings);
        return new PartitionTable(PartitionTable.Scheme.GPT, h.diskGuid().toString(), disk.sectorSize(), h.firstUsable(),
                h.lastUsable(), parts, warnings);
    }

    /** How two copies' partitions differ, or null if they are the same. */
    private static String difference(Copy primary, Copy backup) {
        if (primary.entries().equals(backup.entries())) {
            return null;
        }
        if (primary.used() != backup.used()) {
            return "the primary lists " + primary.used() + " partitions, the backup " + backup.used();
        }
        for (int i = 0; i < primary.used(); i++) {
            if (!primary.entries().get(i).equals(backup.entries().get(i))) {
                return "partition " + primary.entries().get(i).number() + " is not the same in both";
            }
        }
        return "their entries differ";
    }

    /** The used entries of an array whose size the header check has bounded. */
    private static List<Partition> entries(Header h, ByteBuffer array) {
        List<Partition> parts = new ArrayList<>();
        ByteBuffer b = array.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < h.entryCount(); i++) {
            int at = i * h.entrySize();
            Guid type = Guid.read(array, at);
            if (type.isZero()) {
                continue;
            }
            parts.add(new Partition(i + 1, b.getLong(at + 32), b.getLong(at + 40), type.toString(),
                    PartitionType.describeGpt(type), name(array, at + 56), Guid.read(array, at + 16), b.getLong(at + 48)));
        }
        return parts;
    }

    /** The UTF-16LE name, up to its first NUL. */
    private static String name(ByteBuffer array, int at) {
        byte[] raw = new byte[NAME_CHARS * 2];
        array.get(at, raw);
        int len = 0;
        while (len < NAME_CHARS && (raw[2 * len] != 0 || raw[2 * len + 1] != 0)) {
            len++;
        }
        return new String(raw, 0, 2 * len, StandardCharsets.UTF_16LE);
    }

    static void writeName(ByteBuffer array, int at, String name) {
        byte[] enc = name.getBytes(StandardCharsets.UTF_16LE);
        array.put(at, enc, 0, Math.min(enc.length, NAME_CHARS * 2));
    }
}
