package io.jrump.blk.part;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.HostDisk;
import io.jrump.blk.part.PartitionTable.Scheme;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Hostile tables: each gives a precise ErrnoException, never an unchecked one or a hang. */
class PartitionTableBadInputTest {
    private final SimWorld world = new SimWorld(1);
    private final SimHost host = world.newHost("t");

    private HostDisk disk(long size) throws ErrnoException {
        return HostDisk.create(host, "d" + world.now(), size);
    }

    private static ByteBuffer sector(HostDisk d, long lba) throws ErrnoException {
        ByteBuffer b = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        d.read(lba * 512, b);
        return b;
    }

    private static ErrnoException fails(HostDisk d, Errno errno, String fragment) {
        ErrnoException e = assertThrows(ErrnoException.class, () -> PartitionTable.read(d));
        assertEquals(errno, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains(fragment), e.getMessage() + " should mention " + fragment);
        return e;
    }

    private static void mbrEntry(ByteBuffer s, int slot, int type, long first, long sectors) {
        int at = 446 + slot * 16;
        s.put(at + 4, (byte) type);
        s.putInt(at + 8, (int) first);
        s.putInt(at + 12, (int) sectors);
        s.put(510, (byte) 0x55).put(511, (byte) 0xaa);
    }

    @Test
    void aBlankDiskHasNoTable() throws Exception {
        fails(disk(1 << 20), Errno.ENODATA, "no partition table");
    }

    /** Opening partition {@code n} fails with EUCLEAN naming it and the fragment. */
    private static void refusesToOpen(HostDisk d, int n, String fragment) {
        ErrnoException e = assertThrows(ErrnoException.class, () -> Partitions.open(d, n));
        assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("partition " + n + " ") && e.getMessage().contains(fragment),
                e.getMessage() + " should name partition " + n + " and " + fragment);
    }

    @Test
    void overlappingMbrPartitionsAreListedBadAndOnlyTheyAreRefused() throws Exception {
        HostDisk d = disk(8 << 20);
        ByteBuffer s = sector(d, 0);
        mbrEntry(s, 0, 0x83, 2048, 4096);
        mbrEntry(s, 1, 0x83, 4000, 100);
        mbrEntry(s, 2, 0x83, 8192, 2048);
        d.write(0, s);
        PartitionTable t = PartitionTable.read(d);
        assertEquals(3, t.partitions().size());
        assertTrue(t.warnings().stream().anyMatch(w -> w.contains(
                "partitions 1 (sectors 2048-6143) and 2 (sectors 4000-4099) overlap")), t.warnings().toString());
        assertEquals("overlaps partition 2 (sectors 4000-4099)", t.partition(1).orElseThrow().problem());
        assertEquals("overlaps partition 1 (sectors 2048-6143)", t.partition(2).orElseThrow().problem());
        assertFalse(t.partition(3).orElseThrow().isBad());
        refusesToOpen(d, 1, "overlaps partition 2");
        refusesToOpen(d, 2, "overlaps partition 1");
        assertEquals(2048L * 512, Partitions.open(d, 3).size());
    }

    /** Partition 1 covers 2 and 3, which do not touch each other: all three are bad. */
    @Test
    void aPartitionOverlappingTwoMarksAllThree() throws Exception {
        HostDisk d = disk(8 << 20);
        ByteBuffer s = sector(d, 0);
        mbrEntry(s, 0, 0x83, 2048, 8192);
        mbrEntry(s, 1, 0x83, 3000, 100);
        mbrEntry(s, 2, 0x83, 6000, 100);
        d.write(0, s);
        PartitionTable t = PartitionTable.read(d);
        assertTrue(t.partitions().stream().allMatch(Partition::isBad), t.partitions().toString());
    }

    @Test
    void aPartitionPastTheEndOfTheDiskIsListedBadAndTheOthersOpen() throws Exception {
        HostDisk d = disk(8 << 20);
        ByteBuffer s = sector(d, 0);
        mbrEntry(s, 0, 0x83, 2048, 0xffff_fff0L);
        mbrEntry(s, 1, 0x83, 1, 2047);
        d.write(0, s);
        PartitionTable t = PartitionTable.read(d);
        assertEquals(2, t.partitions().size());
        assertTrue(t.partition(1).orElseThrow().problem().contains("runs past the end of the disk (its last sector is 16383)"));
        assertTrue(t.warnings().get(0).contains("MBR partition 1 (sectors 2048-4294969327) runs past the end of the disk"),
                t.warnings().toString());
        refusesToOpen(d, 1, "runs past the end of the disk");
        assertEquals(2047L * 512, Partitions.open(d, 2).size());
    }

    @Test
    void anMbrEntryStartingAtSectorZeroIsBadOnAPlainDisk() throws Exception {
        HostDisk d = disk(8 << 20);
        ByteBuffer s = sector(d, 0);
        mbrEntry(s, 0, 0x83, 0, 100);
        mbrEntry(s, 1, 0x83, 2048, 0); // 0 sectors: skipped, as Linux does
        d.write(0, s);
        PartitionTable t = PartitionTable.read(d);
        assertEquals(1, t.partitions().size());
        assertTrue(t.warnings().stream().anyMatch(w -> w.contains("MBR entry 2 (offset 0x1ce) has type 0x83 but 0 sectors")),
                t.warnings().toString());
        refusesToOpen(d, 1, "lies outside the usable sectors 1-16383");
    }

    @Test
    void anEbrChainThatLoopsIsRefused() throws Exception {
        HostDisk d = disk(8 << 20);
        ByteBuffer s = sector(d, 0);
        mbrEntry(s, 0, 0x05, 2048, 8192);
        d.write(0, s);
        ByteBuffer ebr = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        mbrEntry(ebr, 0, 0x83, 1, 100);
        mbrEntry(ebr, 1, 0x05, 0, 200); // next EBR: the extended partition's start, i.e. itself
        d.write(2048 * 512L, ebr);
        fails(d, Errno.EUCLEAN, "EBR chain loops back to sector 2048");
    }

    @Test
    void anEbrOutsideTheExtendedPartitionIsRefused() throws Exception {
        HostDisk d = disk(8 << 20);
        ByteBuffer s = sector(d, 0);
        mbrEntry(s, 0, 0x05, 2048, 4096);
        d.write(0, s);
        ByteBuffer ebr = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
        mbrEntry(ebr, 0, 0x83, 1, 100);
        mbrEntry(ebr, 1, 0x05, 100_000, 200);
        d.write(2048 * 512L, ebr);
        fails(d, Errno.EUCLEAN, "outside the extended partition");
    }

    private HostDisk gpt() throws ErrnoException {
        HostDisk d = disk(8 << 20);
        PartitionEditor ed = PartitionEditor.create(d, Scheme.GPT, host.random());
        ed.add(1 << 20, "linux", "a", -1);
        ed.write();
        return d;
    }

    /** Rewrites a header with a changed field and a correct CRC, so only the field is wrong. */
    private static void patchHeader(HostDisk d, long lba, int offset, long value, int width) throws ErrnoException {
        ByteBuffer h = sector(d, lba);
        if (width == 4) {
            h.putInt(offset, (int) value);
        } else {
            h.putLong(offset, value);
        }
        h.putInt(16, 0);
        h.putInt(16, GptCodec.crc(h, 0, 92, 16));
        d.write(lba * 512, h);
    }

    @Test
    void bothGptHeadersBadIsEuclean() throws Exception {
        HostDisk d = gpt();
        long last = d.sectorCount() - 1;
        for (long lba : new long[] {1, last}) {
            ByteBuffer h = sector(d, lba);
            h.put(0, (byte) 'X');
            d.write(lba * 512, h);
        }
        fails(d, Errno.EUCLEAN, "no EFI PART signature");
    }

    @Test
    void aHugeEntryArrayIsRefusedBeforeAllocation() throws Exception {
        HostDisk d = gpt();
        long last = d.sectorCount() - 1;
        patchHeader(d, 1, 80, 0x7fff_ffff, 4);
        patchHeader(d, last, 80, 0x7fff_ffff, 4);
        fails(d, Errno.EUCLEAN, "entry array of 2147483647 entries");
    }

    @Test
    void usableRangesThatDoNotFitTheDiskAreRefused() throws Exception {
        HostDisk d = gpt();
        long last = d.sectorCount() - 1;
        patchHeader(d, 1, 48, Long.MAX_VALUE, 8);
        patchHeader(d, last, 48, -5, 8);
        fails(d, Errno.EUCLEAN, "usable sectors");
    }

    @Test
    void aCorruptEntryArrayFallsBackToTheBackup() throws Exception {
        HostDisk d = gpt();
        ByteBuffer arr = sector(d, 2);
        arr.put(100, (byte) 0x7f);
        d.write(1024, arr);
        PartitionTable t = PartitionTable.read(d);
        assertEquals(1, t.partitions().size());
        assertTrue(t.warnings().get(0).contains("entry array of the header at LBA 1: CRC"), t.warnings().toString());
    }

    @Test
    void gptEntriesOutsideTheUsableRangeAreListedBad() throws Exception {
        HostDisk d = gpt();
        long last = d.sectorCount() - 1;
        for (long[] where : new long[][] {{2, 1}, {last - 32, last}}) {
            ByteBuffer arr = sector(d, where[0]);
            arr.putLong(40, last); // last_lba of entry 1: into the backup array
            d.write(where[0] * 512, arr);
            ByteBuffer h = sector(d, where[1]);
            ByteBuffer full = ByteBuffer.allocate(128 * 128);
            d.read(where[0] * 512, full);
            h.putInt(88, GptCodec.crc(full, 0, 128 * 128, -1));
            h.putInt(16, 0);
            h.putInt(16, GptCodec.crc(h, 0, 92, 16));
            d.write(where[1] * 512, h);
        }
        PartitionTable t = PartitionTable.read(d);
        assertTrue(t.partition(1).orElseThrow().problem().startsWith("lies outside the usable sectors 34-"),
                t.partitions().toString());
        assertTrue(t.warnings().get(0).contains("GPT partition 1 (sectors 2048-16383) lies outside the usable sectors"),
                t.warnings().toString());
        refusesToOpen(d, 1, "lies outside the usable sectors");
    }

    @Test
    void theEditorRefusesWhatDoesNotFit() throws Exception {
        HostDisk d = disk(8 << 20);
        PartitionEditor ed = PartitionEditor.create(d, Scheme.GPT, host.random());
        assertEquals(Errno.ENOSPC, assertThrows(ErrnoException.class, () -> ed.add(16 << 20, "linux", "", -1)).errno());
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> ed.add(1000, "linux", "", -1)).errno());
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> ed.add(1 << 20, "nonsense", "", -1)).errno());
        ed.add(1 << 20, "linux", "", 2048);
        assertEquals(Errno.ENOSPC, assertThrows(ErrnoException.class, () -> ed.add(1 << 20, "linux", "", 2100)).errno());
        assertEquals(Errno.ENXIO, assertThrows(ErrnoException.class, () -> ed.delete(7)).errno());
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class,
                () -> ed.add(1 << 20, "linux", "a name that is far too long for a GPT entry", -1)).errno());
    }

    /** The first {@code size} bytes of {@code d} as a new disk: an image cut short. */
    private HostDisk truncated(HostDisk d, long size) throws ErrnoException {
        HostDisk t = disk(size);
        ByteBuffer b = ByteBuffer.allocate((int) size);
        d.read(0, b);
        t.write(0, b);
        return t;
    }

    @Test
    void aTruncatedGptImageListsItsPartitionsAndOpensThoseStillOnIt() throws Exception {
        HostDisk full = disk(8 << 20);
        PartitionEditor ed = PartitionEditor.create(full, Scheme.GPT, host.random());
        ed.add(2 << 20, "linux", "whole", -1); // sectors 2048-6143
        ed.add(2 << 20, "linux", "cut", -1); // sectors 6144-10239
        ed.write();
        HostDisk d = truncated(full, 4 << 20); // sectors 0-8191: the backup GPT and half of partition 2 are gone
        PartitionTable t = PartitionTable.read(d);
        assertEquals(2, t.partitions().size());
        assertFalse(t.partition(1).orElseThrow().isBad());
        assertEquals("runs past the end of the disk (its last sector is 8191); the image may be truncated",
                t.partition(2).orElseThrow().problem());
        String all = String.join("\n", t.warnings());
        assertTrue(all.contains("GPT header LBA 16383 lies outside the disk"), all);
        assertTrue(all.contains("the GPT describes usable sectors up to 16350 but the disk ends at sector 8191"), all);
        assertTrue(all.contains("GPT partition 2 (sectors 6144-10239) runs past the end of the disk"), all);
        assertEquals(2L << 20, Partitions.open(d, "whole").size());
        refusesToOpen(d, 2, "runs past the end of the disk");
        // Mended by deleting the cut partition: the table is rewritten to fit the disk as it is.
        PartitionEditor mend = PartitionEditor.open(d, host.random());
        mend.delete(2);
        mend.write();
        PartitionTable after = PartitionTable.read(d);
        assertTrue(after.warnings().isEmpty(), after.warnings().toString());
        assertEquals(8191 - 33, after.lastUsableLba());
        assertEquals(java.util.List.of("whole"), after.partitions().stream().map(Partition::name).toList());
    }

    private HostDisk overlapping() throws ErrnoException {
        HostDisk d = disk(8 << 20);
        ByteBuffer s = sector(d, 0);
        mbrEntry(s, 0, 0x83, 2048, 4096);
        mbrEntry(s, 1, 0x83, 4000, 100);
        mbrEntry(s, 2, 0x83, 8192, 2048);
        d.write(0, s);
        return d;
    }

    /** Only deleting a bad partition is allowed; then the layout is checked again and the table can be written. */
    @Test
    void theEditorOnlyDeletesBadPartitionsUntilTheTableIsSound() throws Exception {
        HostDisk d = overlapping();
        PartitionEditor ed = PartitionEditor.open(d, host.random());
        for (org.junit.jupiter.api.function.Executable edit : java.util.List.<org.junit.jupiter.api.function.Executable>of(
                () -> ed.add(1 << 20, "linux", "", -1), () -> ed.delete(3), () -> ed.resize(3, 1 << 20),
                () -> ed.setType(3, "swap"), ed::write)) {
            ErrnoException e = assertThrows(ErrnoException.class, edit);
            assertEquals(Errno.EUCLEAN, e.errno());
            assertTrue(e.getMessage().contains("partition 1 (sectors 2048-6143) overlaps partition 2")
                    && e.getMessage().contains("delete it first"), e.getMessage());
        }
        ed.delete(2);
        assertTrue(ed.table().partitions().stream().noneMatch(Partition::isBad), ed.table().toString());
        ed.write();
        PartitionTable t = PartitionTable.read(d);
        assertEquals(java.util.List.of(1, 3), t.partitions().stream().map(Partition::number).toList());
        assertTrue(t.warnings().isEmpty(), t.warnings().toString());
    }

    /** Sets a header's entry count (and its entry array CRC to that of so many entries) with a correct header CRC. */
    private static void setEntryCount(HostDisk d, long lba, int count) throws ErrnoException {
        ByteBuffer h = sector(d, lba);
        long arrayLba = h.getLong(72);
        ByteBuffer array = ByteBuffer.allocate(128 * 128);
        d.read(arrayLba * 512, array);
        patchHeader(d, lba, 88, GptCodec.crc(array, 0, count * 128, -1), 4);
        patchHeader(d, lba, 80, count, 4);
    }

    @Test
    void aPrimaryGptWithNoEntriesWhileTheBackupHasSomeIsReadFromTheBackup() throws Exception {
        HostDisk d = gpt();
        setEntryCount(d, 1, 0);
        PartitionTable t = PartitionTable.read(d);
        assertEquals(1, t.partitions().size());
        assertEquals("a", t.partitions().get(0).name());
        assertEquals(1, t.warnings().size(), t.warnings().toString());
        assertTrue(t.warnings().get(0).contains("the primary GPT (LBA 1) has no partition entries but the backup (LBA 16383)"
                + " lists 1 partitions; the primary was probably damaged or wiped, using the backup"), t.warnings().get(0));
        assertEquals(1L << 20, Partitions.open(d, "a").size());
    }

    @Test
    void primaryAndBackupGptsThatDifferAreReadFromThePrimaryWithAWarning() throws Exception {
        HostDisk d = disk(8 << 20);
        PartitionEditor ed = PartitionEditor.create(d, Scheme.GPT, host.random());
        ed.add(1 << 20, "linux", "a", -1);
        ed.add(1 << 20, "linux", "b", -1);
        ed.write();
        // The primary keeps only entry 1: its array from entry 2 on zeroed, its CRCs made to match.
        ByteBuffer arr = ByteBuffer.allocate(128 * 128);
        d.read(1024, arr);
        arr.put(128, new byte[128]);
        d.write(1024, arr);
        patchHeader(d, 1, 88, GptCodec.crc(arr, 0, 128 * 128, -1), 4);
        PartitionTable t = PartitionTable.read(d);
        assertEquals(java.util.List.of("a"), t.partitions().stream().map(Partition::name).toList());
        assertEquals(1, t.warnings().size(), t.warnings().toString());
        assertTrue(t.warnings().get(0).contains("the primary GPT (LBA 1) and its backup (LBA 16383) differ: the primary lists 1"
                + " partitions, the backup 2; using the primary"), t.warnings().get(0));
    }

    /** A GPT in 4096-byte sectors on a device of 512-byte ones, as an image file of a 4Kn disk is read. */
    @Test
    void aGptOf4096ByteSectorsIsFoundAndItsLbasCountThatUnit() throws Exception {
        HostDisk d = disk(16 << 20);
        PartitionEditor ed = PartitionEditor.create(d, Scheme.GPT, 4096, host.random());
        ed.add(2 << 20, "linux", "four-k", -1);
        ed.write();
        assertEquals(4096, PartitionTable.detectSectorSize(d));
        PartitionTable t = PartitionTable.read(d);
        assertEquals(4096, t.sectorSize());
        assertEquals(6, t.firstUsableLba()); // LBA 2 + 4 sectors of entries
        Partition p = t.partition(1).orElseThrow();
        assertEquals(256, p.firstLba()); // 1 MiB
        assertEquals(512, p.sectors());
        assertTrue(t.warnings().isEmpty(), t.warnings().toString());
        ByteBuffer mark = ByteBuffer.allocate(512);
        mark.put(0, (byte) 0x4b);
        d.write(1 << 20, mark);
        var part = Partitions.open(d, "four-k");
        assertEquals(2L << 20, part.size());
        ByteBuffer first = ByteBuffer.allocate(512);
        part.read(0, first);
        assertEquals(0x4b, first.get(0));
        // The protective MBR counts 4096-byte sectors too.
        ByteBuffer mbr = sector(d, 0);
        assertEquals(1, mbr.getInt(446 + 8));
        assertEquals(4095, mbr.getInt(446 + 12));
        // Taken as 512-byte sectors, as sfdisk and the kernel do on a 512-byte device, there is no GPT.
        ErrnoException e = assertThrows(ErrnoException.class, () -> PartitionTable.read(d, 512));
        assertEquals(Errno.EUCLEAN, e.errno());
        assertTrue(e.getMessage().contains("no EFI PART signature"), e.getMessage());
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> PartitionTable.read(d, 1000)).errno());
    }

    @Test
    void a4096ByteSectorGptWithADamagedPrimaryIsFoundByItsBackup() throws Exception {
        HostDisk d = disk(16 << 20);
        PartitionEditor ed = PartitionEditor.create(d, Scheme.GPT, 4096, host.random());
        ed.add(2 << 20, "linux", "x", -1);
        ed.write();
        d.write(4096, ByteBuffer.allocate(4096)); // the primary header zeroed
        assertEquals(4096, PartitionTable.detectSectorSize(d));
        PartitionTable t = PartitionTable.read(d);
        assertEquals(256, t.partition(1).orElseThrow().firstLba());
        assertTrue(t.warnings().get(0).contains("GPT header at LBA 1: no EFI PART signature; using the backup GPT at LBA 4095"),
                t.warnings().toString());
    }

    /** The editor on a 4Kn table edits in its unit; deleting and adding keep the table readable. */
    @Test
    void editsOfA4096ByteSectorTableStayInThatUnit() throws Exception {
        HostDisk d = disk(16 << 20);
        PartitionEditor ed = PartitionEditor.create(d, Scheme.GPT, 4096, host.random());
        ed.add(2 << 20, "linux", "a", -1);
        ed.write();
        PartitionEditor again = PartitionEditor.open(d, host.random());
        assertEquals(4096, again.sectorSize());
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class, () -> again.add(512 * 3, "linux", "", -1)).errno());
        Partition b = again.add(1 << 20, "swap", "b", -1);
        assertEquals(768, b.firstLba());
        again.write();
        assertEquals(2, PartitionTable.read(d).partitions().size());
        PartitionEditor mbr = PartitionEditor.create(disk(8 << 20), Scheme.MBR, 4096, host.random());
        assertEquals(256, mbr.add(1 << 20, "linux", "", -1).firstLba());
    }

    /**
     * The other way round: a table of 512-byte sectors on a device of 4096-byte ones is read (and
     * edited) when asked for, its sectors read and written inside whole device sectors.
     */
    @Test
    void aTableOf512ByteSectorsOnA4096ByteDeviceIsReadWhenAskedFor() throws Exception {
        HostDisk small = disk(16 << 20);
        PartitionEditor ed = PartitionEditor.create(small, Scheme.GPT, host.random());
        ed.add(2 << 20, "linux", "a", -1);
        ed.write();
        HostDisk big = HostDisk.open(host, small.name(), io.jrump.hypercall.BlockDevices.OpenMode.READ_WRITE, 4096);
        assertEquals(4096, PartitionTable.detectSectorSize(big)); // the device's: no 4096-byte GPT, none looked for in 512
        assertEquals(Errno.EUCLEAN, assertThrows(ErrnoException.class, () -> PartitionTable.read(big)).errno());
        PartitionTable t = PartitionTable.read(big, 512);
        assertEquals(2048, t.partition(1).orElseThrow().firstLba());
        assertEquals(2L << 20, Partitions.open(big, "1", 512).size());
        PartitionEditor again = PartitionEditor.open(big, 512, host.random());
        again.add(1 << 20, "swap", "b", -1);
        again.write();
        PartitionTable after = PartitionTable.read(small);
        assertEquals(java.util.List.of("a", "b"), after.partitions().stream().map(Partition::name).toList());
        assertTrue(after.warnings().isEmpty(), after.warnings().toString());
    }
}
