package io.jrump.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.HostDisk;
import io.jrump.fuzz.kit.meta.MetadataFuzz;
import io.jrump.fuzz.kit.meta.MetadataMap;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import java.nio.ByteBuffer;

/**
 * Structure-aware: the input is a blob of partition-table metadata only of a 2 MiB disk — its
 * MBR table, and the GPT's primary and backup headers and entries in use (sgdisk base,
 * {@link #gptTableReadingIsTotal}) or the MBR and the EBR chain of its logical partitions
 * (sfdisk base, {@link #mbrTableReadingIsTotal}) — spliced into the base disk; bit 0 of the first
 * byte clear, both GPT headers' CRC32s are rewritten. The disk then goes through {@link
 * PartitionTableFuzzTest}'s checks: read the table, open every partition, mend bad ones.
 */
class PartitionMetadataFuzzTest {
    private static final MetadataFuzz GPT = MetadataBases.partitions("gpt-sgdisk-2m");
    private static final MetadataFuzz MBR = MetadataBases.partitions("dos-sfdisk-logical-2m");

    @FuzzTest(maxDuration = "60s")
    void gptTableReadingIsTotal(byte[] input) throws Exception {
        exercise(GPT, GPT.image(input));
    }

    @FuzzTest(maxDuration = "60s")
    void mbrTableReadingIsTotal(byte[] input) throws Exception {
        exercise(MBR, MBR.image(input));
    }

    /**
     * {@link PartitionTableFuzzTest}'s checks on a disk of {@link PartitionTableFuzzTest#DISK}
     * bytes holding {@code image}'s sectors that hold metadata; the rest of the bases is zeros,
     * as the fresh disk is (comparing 2 MiB per input instead is slow under Jazzer's hooks).
     */
    static void exercise(MetadataFuzz meta, byte[] image) throws Exception {
        SimHost host = new SimWorld(1).newHost("fuzz");
        HostDisk disk = HostDisk.create(host, "d", PartitionTableFuzzTest.DISK);
        for (MetadataMap.Region r : meta.map().regions()) {
            int from = (int) (r.offset() / 512 * 512);
            int to = (int) ((r.offset() + r.length() + 511) / 512 * 512);
            disk.write(from, ByteBuffer.wrap(image, from, to - from));
        }
        PartitionTableFuzzTest.exerciseDisk(disk, host);
    }
}
