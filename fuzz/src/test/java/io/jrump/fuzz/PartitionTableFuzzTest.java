package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.BlockDevice;
import io.jrump.blk.HostDisk;
import io.jrump.blk.part.Partition;
import io.jrump.blk.part.PartitionTable;
import io.jrump.blk.part.Partitions;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.Set;

/**
 * Arbitrary bytes as the first sectors of a 2 MiB disk and, past {@link #HEAD}, as its last
 * sectors (where GPT keeps its backup): reading the table, and opening each partition, either
 * works — every partition inside the disk, none overlapping — or fails with a defined errno.
 * Seeds are real tables: {@code truncate -s 2M x.img}, then sfdisk or sgdisk (see the seed
 * names), then the first 17408 and last 16896 bytes concatenated.
 */
class PartitionTableFuzzTest {
    private static final int DISK = 2 << 20;
    private static final int HEAD = 34 * 512;
    private static final Set<Errno> DEFINED = Set.of(Errno.ENOENT, Errno.EUCLEAN, Errno.EINVAL);

    @FuzzTest(maxDuration = "60s")
    void tableReadingIsTotal(byte[] input) throws Exception {
        SimWorld world = new SimWorld(1);
        SimHost host = world.newHost("fuzz");
        HostDisk disk = HostDisk.create(host, "d", DISK);
        int head = Math.min(input.length, HEAD);
        disk.write(0, ByteBuffer.wrap(pad(input, 0, head)));
        if (input.length > HEAD) {
            byte[] tail = pad(input, HEAD, Math.min(input.length - HEAD, 33 * 512));
            disk.write(DISK - tail.length, ByteBuffer.wrap(tail));
        }
        PartitionTable t;
        try {
            t = PartitionTable.read(disk);
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
            return;
        }
        for (Partition p : t.partitions()) {
            assertTrue(p.firstLba() >= 1 && p.lastLba() < DISK / 512 && p.firstLba() <= p.lastLba(), p.toString());
            try {
                BlockDevice part = Partitions.open(disk, p.number());
                part.read(0, ByteBuffer.allocate(512));
            } catch (ErrnoException e) {
                assertTrue(DEFINED.contains(e.errno()), e.getMessage());
            }
        }
    }

    /** {@code length} bytes from {@code from}, zero-padded to whole sectors. */
    private static byte[] pad(byte[] in, int from, int length) {
        byte[] out = new byte[(length + 511) / 512 * 512];
        System.arraycopy(in, from, out, 0, length);
        return out;
    }
}
