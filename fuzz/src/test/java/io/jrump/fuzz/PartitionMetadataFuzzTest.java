package io.jrump.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.HostDisk;
import io.jrump.fuzz.kit.meta.MetadataFuzz;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Structure-aware: the input is a blob of partition-table metadata only of a 2 MiB disk — its
 * MBR table, and the GPT's primary and backup headers and entries in use (sgdisk base,
 * {@link #gptTableReadingIsTotal}) or the MBR and the EBR chain of its logical partitions
 * (sfdisk base, {@link #mbrTableReadingIsTotal}) — spliced into the base disk; bit 0 of the first
 * byte clear, both GPT headers' CRC32s are rewritten. The disk then goes through {@link
 * PartitionTableFuzzTest}'s checks: read the table, open every partition, mend bad ones.
 */
class PartitionMetadataFuzzTest {
    private static final byte[] ZEROS = new byte[4096];
    private static final MetadataFuzz GPT = MetadataBases.partitions("gpt-sgdisk-2m");
    private static final MetadataFuzz MBR = MetadataBases.partitions("dos-sfdisk-logical-2m");

    @FuzzTest(maxDuration = "60s")
    void gptTableReadingIsTotal(byte[] input) throws Exception {
        exercise(GPT.image(input));
    }

    @FuzzTest(maxDuration = "60s")
    void mbrTableReadingIsTotal(byte[] input) throws Exception {
        exercise(MBR.image(input));
    }

    /** {@link PartitionTableFuzzTest}'s checks on a whole disk image of {@link PartitionTableFuzzTest#DISK} bytes. */
    static void exercise(byte[] image) throws Exception {
        SimHost host = new SimWorld(1).newHost("fuzz");
        HostDisk disk = HostDisk.create(host, "d", PartitionTableFuzzTest.DISK);
        for (int at = 0; at < image.length; at += 4096) { // the fresh disk is zeros: write the rest only
            if (!Arrays.equals(image, at, at + 4096, ZEROS, 0, 4096)) {
                disk.write(at, ByteBuffer.wrap(image, at, 4096));
            }
        }
        PartitionTableFuzzTest.exerciseDisk(disk, host);
    }
}
