package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.blk.part.Partition;
import io.jrump.blk.part.PartitionEditor;
import io.jrump.blk.part.PartitionTable;
import io.jrump.blk.part.Partitions;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * Arbitrary bytes as the first sectors of a 2 MiB disk and, past the head, as its last sectors
 * (where GPT keeps its backup): reading the table, opening each partition and mending a table
 * with bad partitions either work or fail with a defined errno. A partition the table lists as
 * sound lies on the disk and opens (an extended one excepted); a bad one is refused with EUCLEAN;
 * the editor refuses every edit but deleting a bad partition, and once they are gone writes a
 * table that reads back with none bad.
 *
 * <p>{@link #tableReadingIsTotal}: a head of 34 sectors of 512 bytes (MBR, GPT header, 128
 * entries) and a tail of up to 33. Seeds are real tables: {@code truncate -s 2M x.img}, then
 * sfdisk or sgdisk (see the seed names), then the first 17408 and last 16896 bytes
 * concatenated. {@code sgdisk}: {@code sgdisk -n 1:2048:+512K -t 1:8300 -c 1:alpha -n 2:0:+256K
 * -t 2:ef00 -c 2:efi}; {@code sfdisk-dos-logical}: a primary at sector 2, an extended partition
 * at 8 holding logical ones at 10, 16 and 22, so that their EBRs lie inside the head;
 * {@code overlapping-mbr} is an MBR whose partitions 1 and 2 overlap, and
 * {@code sgdisk-primary-no-entries} the sgdisk seed with the primary header's entry count set
 * to 0 (its CRCs fixed).
 *
 * <p>{@link #fourKnTableReadingIsTotal}: the same for a disk of 4096-byte sectors read through
 * 512-byte ones, as an image file of a 4Kn disk is: a head of 6 sectors of 4096 bytes (MBR, GPT
 * header, 128 entries) and a tail of up to 5. Seed: {@code truncate -s 2M x.img}, then
 * {@code fdisk -b 4096} with the script {@code g n 1 (defaults) w}, then the first 24576 and
 * last 20480 bytes.
 */
class PartitionTableFuzzTest {
    static final int DISK = 2 << 20;
    private static final Set<Errno> DEFINED = Set.of(Errno.ENODATA, Errno.EUCLEAN, Errno.EINVAL);

    @FuzzTest(maxDuration = "60s")
    void tableReadingIsTotal(byte[] input) throws Exception {
        exercise(input, 34 * 512, 33 * 512);
    }

    @FuzzTest(maxDuration = "60s")
    void fourKnTableReadingIsTotal(byte[] input) throws Exception {
        exercise(input, 6 * 4096, 5 * 4096);
    }

    private static void exercise(byte[] input, int headBytes, int tailBytes) throws Exception {
        SimWorld world = new SimWorld(1);
        SimHost host = world.newHost("fuzz");
        HostDisk disk = HostDisk.create(host, "d", DISK);
        int head = Math.min(input.length, headBytes);
        disk.write(0, ByteBuffer.wrap(pad(input, 0, head)));
        if (input.length > headBytes) {
            byte[] tail = pad(input, headBytes, Math.min(input.length - headBytes, tailBytes));
            disk.write(DISK - tail.length, ByteBuffer.wrap(tail));
        }
        exerciseDisk(disk, host);
    }

    /** Reads the table of {@code disk} (of {@link #DISK} bytes), opens each partition, mends a table with bad ones. */
    static void exerciseDisk(HostDisk disk, SimHost host) throws Exception {
        PartitionTable t;
        try {
            t = PartitionTable.read(disk);
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
            return;
        }
        long sectors = DISK / t.sectorSize();
        boolean anyBad = false;
        for (Partition p : t.partitions()) {
            try {
                BlockDevice part = Partitions.open(disk, t, p.number());
                assertTrue(!p.isBad() && p.firstLba() >= 1 && p.lastLba() < sectors && p.firstLba() <= p.lastLba(),
                        p.toString());
                part.read(0, ByteBuffer.allocate(512));
            } catch (ErrnoException e) {
                assertTrue(DEFINED.contains(e.errno()), e.getMessage());
                if (p.isBad()) {
                    assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
                }
            }
            anyBad |= p.isBad();
        }
        if (anyBad) {
            mend(disk, host);
        }
    }

    /** Deletes the bad partitions one by one (nothing else is allowed meanwhile), writes, reads back. */
    private static void mend(HostDisk disk, SimHost host) throws Exception {
        PartitionEditor ed;
        try {
            ed = PartitionEditor.open(disk, host.random());
        } catch (ErrnoException e) {
            // logical partitions, a GPT of > 128 entries; a header whose usable range lies outside the disk's
            assertTrue(e.errno() == Errno.EOPNOTSUPP || e.errno() == Errno.EUCLEAN, e.getMessage());
            return;
        }
        for (int round = 0; ; round++) {
            Partition bad = ed.table().partitions().stream().filter(Partition::isBad).findFirst().orElse(null);
            if (bad == null) {
                break;
            }
            assertTrue(round <= 4096, "deleting bad partitions does not end");
            try {
                ed.add(1 << 20, "linux", "", -1);
                throw new AssertionError("add allowed while partition " + bad.number() + " is bad");
            } catch (ErrnoException e) {
                assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
            }
            ed.delete(bad.number());
        }
        ed.write();
        PartitionTable after = PartitionTable.read(disk, ed.sectorSize());
        assertTrue(after.partitions().stream().noneMatch(Partition::isBad), after.toString());
    }

    /** {@code length} bytes from {@code from}, zero-padded to whole sectors. */
    private static byte[] pad(byte[] in, int from, int length) {
        byte[] out = new byte[(length + 511) / 512 * 512];
        System.arraycopy(in, from, out, 0, length);
        return out;
    }
}
