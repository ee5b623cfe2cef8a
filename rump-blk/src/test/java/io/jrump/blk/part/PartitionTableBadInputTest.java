package io.jrump.blk.part;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
        fails(disk(1 << 20), Errno.ENOENT, "no partition table");
    }

    @Test
    void overlappingMbrPartitionsAreNamed() throws Exception {
        HostDisk d = disk(8 << 20);
        ByteBuffer s = sector(d, 0);
        mbrEntry(s, 0, 0x83, 2048, 4096);
        mbrEntry(s, 1, 0x83, 4000, 100);
        d.write(0, s);
        fails(d, Errno.EUCLEAN, "partitions 1 (sectors 2048-6143) and 2 (sectors 4000-4099) overlap");
    }

    @Test
    void partitionsPastTheEndOfTheDiskAreRefused() throws Exception {
        HostDisk d = disk(8 << 20);
        ByteBuffer s = sector(d, 0);
        mbrEntry(s, 0, 0x83, 2048, 0xffff_fff0L);
        d.write(0, s);
        fails(d, Errno.EUCLEAN, "lies outside sectors");
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
    void gptEntriesOutsideTheUsableRangeAreRefused() throws Exception {
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
        fails(d, Errno.EUCLEAN, "GPT partition 1");
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
        assertEquals(Errno.ENOENT, assertThrows(ErrnoException.class, () -> ed.delete(7)).errno());
        assertEquals(Errno.EINVAL, assertThrows(ErrnoException.class,
                () -> ed.add(1 << 20, "linux", "a name that is far too long for a GPT entry", -1)).errno());
    }
}
