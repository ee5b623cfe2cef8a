package io.jrump.blk.part;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.part.PartitionTable.Scheme;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostRandom;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Creates and edits a partition table in memory, then writes it whole with {@link #write()}:
 * for GPT both headers, both entry arrays and the protective MBR, with their CRCs; for MBR the
 * four primary entries, keeping the boot code. New partitions start on 1 MiB boundaries, as
 * sfdisk and sgdisk place them. Editing an MBR that has logical partitions is not supported
 * (reading it is). Sectors are the table's unit: 4096 bytes for a 4Kn disk, also when its image
 * file is read through a device of 512-byte sectors.
 *
 * <p>A table with a bad partition ({@link Partition#problem()}: past the end of a truncated
 * disk, overlapping another, outside the usable sectors) can only be mended by deleting a bad
 * partition: every other edit, and writing while a bad partition remains, is refused with
 * {@code EUCLEAN} naming it, since writing would keep or spread the damage. After a delete the
 * layout is checked again, so deleting one of two overlapping partitions clears the other.
 * Not thread-safe.
 */
public final class PartitionEditor {
    private final BlockDevice disk;
    private final TableSectors sectors;
    private final Scheme scheme;
    private final String diskId;
    private final long firstUsable;
    private final long lastUsable;
    private final HostRandom random;
    private List<Partition> partitions;

    private PartitionEditor(TableSectors sectors, Scheme scheme, String diskId, long firstUsable, long lastUsable,
            HostRandom random, List<Partition> partitions) {
        this.sectors = sectors;
        this.disk = sectors.disk();
        this.scheme = scheme;
        this.diskId = diskId;
        this.firstUsable = firstUsable;
        this.lastUsable = lastUsable;
        this.random = random;
        this.partitions = new ArrayList<>(partitions);
    }

    /** A new, empty table for the whole disk; nothing is written until {@link #write()}. */
    public static PartitionEditor create(BlockDevice disk, Scheme scheme, HostRandom random) throws ErrnoException {
        return create(disk, scheme, disk.sectorSize(), random);
    }

    /** As {@link #create(BlockDevice, Scheme, HostRandom)}, in sectors of {@code sectorSize} bytes (4096 for a 4Kn disk). */
    public static PartitionEditor create(BlockDevice disk, Scheme scheme, int sectorSize, HostRandom random)
            throws ErrnoException {
        TableSectors sectors = new TableSectors(disk, sectorSize);
        long last = sectors.sectorCount() - 1;
        int ss = sectorSize;
        if (scheme == Scheme.GPT) {
            long arraySectors = GptCodec.arraySectors(GptCodec.ENTRY_COUNT, GptCodec.ENTRY_SIZE, ss);
            long firstUsable = 2 + arraySectors;
            long lastUsable = last - 1 - arraySectors;
            if (lastUsable < firstUsable + alignment(ss)) {
                throw new ErrnoException(Errno.ENOSPC, disk.name() + ": " + disk.size() + " bytes is too small for a GPT");
            }
            return new PartitionEditor(sectors, scheme, Guid.random(random).toString(), firstUsable, lastUsable, random,
                    List.of());
        }
        if (last > 0xffff_ffffL) {
            last = 0xffff_ffffL; // MBR addresses 2^32 sectors at most
        }
        String id = String.format("0x%08x", (int) random.nextLong());
        if (sectors.sectorCount() < 2) {
            throw new ErrnoException(Errno.ENOSPC, disk.name() + ": " + disk.size() + " bytes is too small for an MBR");
        }
        return new PartitionEditor(sectors, scheme, id, 1, last, random, List.of());
    }

    /** An editor over the disk's current table, in the sector unit {@link PartitionTable#read(BlockDevice)} finds. */
    public static PartitionEditor open(BlockDevice disk, HostRandom random) throws ErrnoException {
        return open(disk, PartitionTable.detectSectorSize(disk), random);
    }

    /** An editor over the disk's current table, its LBAs taken as {@code sectorSize}-byte sectors. */
    public static PartitionEditor open(BlockDevice disk, int sectorSize, HostRandom random) throws ErrnoException {
        TableSectors sectors = new TableSectors(disk, sectorSize);
        PartitionTable t = PartitionTable.read(sectors);
        if (t.scheme() == Scheme.MBR && t.partitions().stream().anyMatch(p -> p.number() > 4)) {
            throw new ErrnoException(Errno.EOPNOTSUPP, disk.name() + ": editing an MBR with logical partitions is not supported");
        }
        long firstUsable = t.firstUsableLba();
        long lastUsable = t.lastUsableLba();
        if (t.scheme() == Scheme.GPT) {
            // What this editor writes: 128 entries after LBA 1 and before the backup header in the
            // disk's last sector (which, on a disk that shrank, is not where the table said).
            long arraySectors = GptCodec.arraySectors(GptCodec.ENTRY_COUNT, GptCodec.ENTRY_SIZE, sectorSize);
            long roomFirst = 2 + arraySectors;
            long roomLast = sectors.sectorCount() - 2 - arraySectors;
            if (roomLast < roomFirst) {
                throw new ErrnoException(Errno.ENOSPC, disk.name() + ": " + disk.size()
                        + " bytes is too small for a GPT of " + GptCodec.ENTRY_COUNT + " entries");
            }
            firstUsable = Math.max(firstUsable, roomFirst);
            lastUsable = Math.min(lastUsable, roomLast);
            if (lastUsable < firstUsable) {
                // The disk has room; the header's own usable range does not overlap it.
                throw new ErrnoException(Errno.EUCLEAN, disk.name() + ": GPT header: usable LBAs " + t.firstUsableLba()
                        + "-" + t.lastUsableLba() + " lie outside the sectors between the tables (" + roomFirst + "-"
                        + roomLast + ")");
            }
            for (Partition p : t.partitions()) {
                if (p.number() > GptCodec.ENTRY_COUNT) {
                    throw new ErrnoException(Errno.EOPNOTSUPP, disk.name() + ": partition " + p.number() + " is past entry "
                            + GptCodec.ENTRY_COUNT + "; editing a GPT of more entries is not supported");
                }
                if (!p.isBad() && (p.firstLba() < firstUsable || p.lastLba() > lastUsable)) {
                    throw new ErrnoException(Errno.EOPNOTSUPP, disk.name() + ": partition " + p.number() + " (sectors "
                            + p.firstLba() + "-" + p.lastLba() + ") lies where a GPT of " + GptCodec.ENTRY_COUNT
                            + " entries keeps its arrays (usable sectors " + firstUsable + "-" + lastUsable
                            + "); editing it is not supported");
                }
            }
        }
        return new PartitionEditor(sectors, t.scheme(), t.diskId(), firstUsable, lastUsable, random, t.partitions());
    }

    /** The table as edited so far. */
    public PartitionTable table() {
        List<Partition> sorted = new ArrayList<>(partitions);
        sorted.sort(Comparator.comparingInt(Partition::number));
        return new PartitionTable(scheme, diskId, sectors.sectorSize(), firstUsable, lastUsable, sorted, List.of());
    }

    /** The table's sector unit in bytes. */
    public int sectorSize() {
        return sectors.sectorSize();
    }

    /** Refuses {@code edit} while a partition is bad: the table must be mended first (by deleting it). */
    private void requireNoBad(String edit) throws ErrnoException {
        for (Partition p : partitions) {
            if (p.isBad()) {
                throw new ErrnoException(Errno.EUCLEAN, disk.name() + ": cannot " + edit + ": partition " + p.number()
                        + " (sectors " + p.firstLba() + "-" + p.lastLba() + ") " + p.problem()
                        + "; delete it first, or mend the table with sfdisk or sgdisk");
            }
        }
    }

    private static long alignment(int sectorSize) {
        return (1 << 20) / sectorSize;
    }

    /**
     * Adds a partition of {@code sizeBytes} (0: all of the first free gap) at {@code startLba}, or
     * at the first 1 MiB-aligned place it fits if {@code startLba} is negative.
     *
     * @param type a type name ({@code linux}, {@code efi}, {@code fat32}, {@code swap}, …), an MBR
     *             hex code or a GPT type GUID
     * @param name the GPT name (at most 36 UTF-16 units); must be empty for MBR
     * @return the new partition
     * @throws ErrnoException {@code ENOSPC} if it does not fit or no entry is free, {@code EINVAL}
     *     for a bad size, start, type or name
     */
    public Partition add(long sizeBytes, String type, String name, long startLba) throws ErrnoException {
        requireNoBad("add a partition");
        int ss = sectors.sectorSize();
        if (sizeBytes < 0 || sizeBytes % ss != 0) {
            throw new ErrnoException(Errno.EINVAL, disk.name() + ": partition size " + sizeBytes
                    + " is not a non-negative multiple of the " + ss + "-byte sector");
        }
        String[] resolved = resolveType(type);
        if (scheme == Scheme.MBR && !name.isEmpty()) {
            throw new ErrnoException(Errno.EINVAL, "MBR partitions have no names");
        }
        if (name.length() > GptCodec.NAME_CHARS) {
            throw new ErrnoException(Errno.EINVAL, "partition name '" + name + "' is longer than 36 characters");
        }
        int number = freeNumber();
        long sectors = sizeBytes / ss;
        long first;
        if (startLba >= 0) {
            first = startLba;
            long last = sectors == 0 ? gapEnd(first) : first + sectors - 1;
            if (last < first || !fits(first, last)) {
                throw new ErrnoException(Errno.ENOSPC, disk.name() + ": sectors " + first + "-" + last
                        + " are not free in " + firstUsable + "-" + lastUsable);
            }
            sectors = last - first + 1;
        } else {
            first = findGap(sectors);
            if (sectors == 0) {
                sectors = gapEnd(first) - first + 1;
            }
        }
        Partition p = new Partition(number, first, first + sectors - 1, resolved[0], resolved[1], name,
                scheme == Scheme.GPT ? Guid.random(random) : null, 0);
        partitions.add(p);
        return p;
    }

    /**
     * Removes partition {@code number}. While the table has a bad partition only a bad one may be
     * deleted; the others are checked again afterwards (one of two overlapping ones is then sound).
     */
    public void delete(int number) throws ErrnoException {
        Partition p = find(number);
        if (!p.isBad()) {
            requireNoBad("delete the sound partition " + number);
        }
        partitions.remove(p);
        if (p.isBad()) {
            List<Partition> sound = new ArrayList<>();
            for (Partition q : partitions) {
                sound.add(q.sound());
            }
            partitions = new ArrayList<>(PartitionLayout.check(disk.name(), scheme.name(), sound, firstUsable, lastUsable,
                    sectors.sectorCount() - 1, MbrCodec.isIsoHybrid(disk), new ArrayList<>()));
        }
    }

    /** Gives partition {@code number} a new size, keeping its start. */
    public void resize(int number, long sizeBytes) throws ErrnoException {
        requireNoBad("resize partition " + number);
        Partition p = find(number);
        int ss = sectors.sectorSize();
        if (sizeBytes <= 0 || sizeBytes % ss != 0) {
            throw new ErrnoException(Errno.EINVAL, "partition size " + sizeBytes + " is not a positive multiple of " + ss);
        }
        partitions.remove(p);
        long last = p.firstLba() + sizeBytes / ss - 1;
        if (!fits(p.firstLba(), last)) {
            partitions.add(p);
            throw new ErrnoException(Errno.ENOSPC, disk.name() + ": partition " + number + " cannot grow to sector " + last);
        }
        partitions.add(new Partition(p.number(), p.firstLba(), last, p.type(), p.typeName(), p.name(), p.uuid(),
                p.attributes()));
    }

    /** Sets the type of partition {@code number}. */
    public void setType(int number, String type) throws ErrnoException {
        requireNoBad("change the type of partition " + number);
        Partition p = find(number);
        String[] resolved = resolveType(type);
        partitions.remove(p);
        partitions.add(new Partition(p.number(), p.firstLba(), p.lastLba(), resolved[0], resolved[1], p.name(), p.uuid(),
                p.attributes()));
    }

    /** A type name or code as this scheme stores it: {code, friendly name}. */
    private String[] resolveType(String type) throws ErrnoException {
        try {
            if (scheme == Scheme.GPT) {
                Guid g = PartitionType.gptType(type);
                return new String[] {g.toString(), PartitionType.describeGpt(g)};
            }
            int code = PartitionType.mbrCode(type);
            return new String[] {String.format("%x", code), PartitionType.describeMbr(code)};
        } catch (IllegalArgumentException e) {
            throw new ErrnoException(Errno.EINVAL, e.getMessage());
        }
    }

    /** Sets the GPT name of partition {@code number}. */
    public void setName(int number, String name) throws ErrnoException {
        if (scheme != Scheme.GPT) {
            throw new ErrnoException(Errno.EINVAL, "MBR partitions have no names");
        }
        if (name.length() > GptCodec.NAME_CHARS) {
            throw new ErrnoException(Errno.EINVAL, "partition name '" + name + "' is longer than 36 characters");
        }
        requireNoBad("rename partition " + number);
        Partition p = find(number);
        partitions.remove(p);
        partitions.add(new Partition(p.number(), p.firstLba(), p.lastLba(), p.type(), p.typeName(), name, p.uuid(),
                p.attributes()));
    }

    private Partition find(int number) throws ErrnoException {
        return partitions.stream().filter(p -> p.number() == number).findFirst().orElseThrow(
                () -> new ErrnoException(Errno.ENXIO, disk.name() + ": no partition " + number));
    }

    private int freeNumber() throws ErrnoException {
        int max = scheme == Scheme.GPT ? GptCodec.ENTRY_COUNT : 4;
        for (int n = 1; n <= max; n++) {
            int k = n;
            if (partitions.stream().noneMatch(p -> p.number() == k)) {
                return n;
            }
        }
        throw new ErrnoException(Errno.ENOSPC, disk.name() + ": all " + max + " partition entries are in use");
    }

    private boolean fits(long first, long last) {
        if (first < firstUsable || last > lastUsable || last < first) {
            return false;
        }
        return partitions.stream().noneMatch(p -> first <= p.lastLba() && p.firstLba() <= last);
    }

    /** The last free sector of the gap that starts at {@code first}. */
    private long gapEnd(long first) {
        long end = lastUsable;
        for (Partition p : partitions) {
            if (p.firstLba() > first) {
                end = Math.min(end, p.firstLba() - 1);
            }
        }
        return end;
    }

    /** The first aligned start where {@code sectors} (or, if 0, at least one aligned unit) fit. */
    private long findGap(long sectors) throws ErrnoException {
        long align = alignment(this.sectors.sectorSize());
        long candidate = roundUp(firstUsable, align);
        List<Partition> sorted = new ArrayList<>(partitions);
        sorted.sort(Comparator.comparingLong(Partition::firstLba));
        long need = Math.max(sectors, 1);
        for (Partition p : sorted) {
            if (candidate + need - 1 < p.firstLba()) {
                return candidate;
            }
            candidate = Math.max(candidate, roundUp(p.lastLba() + 1, align));
        }
        if (candidate + need - 1 <= lastUsable) {
            return candidate;
        }
        throw new ErrnoException(Errno.ENOSPC, disk.name() + ": no free space for " + need * this.sectors.sectorSize()
                + " bytes at 1 MiB alignment");
    }

    private static long roundUp(long v, long align) {
        return (v + align - 1) / align * align;
    }

    /** Writes the table to the disk and flushes it; refused while a partition is bad. */
    public void write() throws ErrnoException {
        requireNoBad("write the table");
        if (scheme == Scheme.GPT) {
            writeGpt();
        } else {
            writeMbr();
        }
        disk.flush();
    }

    private void writeMbr() throws ErrnoException {
        ByteBuffer mbr = sectors.read(0, 1);
        for (int i = MbrCodec.ENTRIES; i < 510; i++) {
            mbr.put(i, (byte) 0);
        }
        mbr.duplicate().order(ByteOrder.LITTLE_ENDIAN).putInt(MbrCodec.DISK_SIGNATURE, (int) Long.decode(diskId).longValue());
        for (Partition p : partitions) {
            new MbrCodec.Entry((int) (p.attributes() & 0x80), Integer.parseInt(p.type(), 16), p.firstLba(), p.sectors())
                    .write(mbr, p.number() - 1);
        }
        MbrCodec.writeSignature(mbr);
        sectors.write(0, mbr);
    }

    private void writeGpt() throws ErrnoException {
        int ss = sectors.sectorSize();
        long last = sectors.sectorCount() - 1;
        int arrayBytes = GptCodec.ENTRY_COUNT * GptCodec.ENTRY_SIZE;
        long arraySectors = GptCodec.arraySectors(GptCodec.ENTRY_COUNT, GptCodec.ENTRY_SIZE, ss);
        ByteBuffer array = ByteBuffer.allocate((int) (arraySectors * ss));
        ByteBuffer le = array.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (Partition p : partitions) {
            int at = (p.number() - 1) * GptCodec.ENTRY_SIZE;
            Guid.parse(p.type()).write(array, at);
            p.uuid().write(array, at + 16);
            le.putLong(at + 32, p.firstLba());
            le.putLong(at + 40, p.lastLba());
            le.putLong(at + 48, p.attributes());
            GptCodec.writeName(array, at + 56, p.name());
        }
        int arrayCrc = GptCodec.crc(array, 0, arrayBytes, -1);
        Guid guid = Guid.parse(diskId);
        long backupArray = last - arraySectors;
        ByteBuffer header = ByteBuffer.allocate(ss);
        new GptCodec.Header(last, 1, firstUsable, lastUsable, guid, backupArray, GptCodec.ENTRY_COUNT,
                GptCodec.ENTRY_SIZE, arrayCrc).write(header);
        sectors.write(backupArray, array);
        sectors.write(last, header);
        new GptCodec.Header(1, last, firstUsable, lastUsable, guid, 2, GptCodec.ENTRY_COUNT, GptCodec.ENTRY_SIZE,
                arrayCrc).write(header);
        sectors.write(2, array);
        sectors.write(1, header);
        ByteBuffer mbr = sectors.read(0, 1);
        for (int i = MbrCodec.DISK_SIGNATURE; i < 510; i++) {
            mbr.put(i, (byte) 0);
        }
        new MbrCodec.Entry(0, 0xee, 1, Math.min(last, 0xffff_ffffL)).write(mbr, 0);
        MbrCodec.writeSignature(mbr);
        sectors.write(0, mbr);
    }
}
