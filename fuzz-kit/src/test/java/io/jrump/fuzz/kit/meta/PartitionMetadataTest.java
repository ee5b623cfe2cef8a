package io.jrump.fuzz.kit.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.part.PartitionTable;
import io.jrump.fuzz.kit.FuzzWorld;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The partition map on disks made by sgdisk and sfdisk; sgdisk -v is the outside oracle of the GPT CRCs. */
class PartitionMetadataTest {
    private static final int SIZE = 2 << 20;

    private static byte[] disk(String... tool) throws Exception {
        Path f = Files.createTempFile("jrump-meta-part", ".img");
        try {
            Files.write(f, new byte[SIZE]);
            Tools.Run r = tool[0].equals("sfdisk") ? sfdisk(f, tool[1]) : Tools.run(append(tool, f.toString()));
            assertEquals(0, r.status(), r.output());
            byte[] image = Files.readAllBytes(f);
            image[2048 * 512] = 'D'; // partition 1's first byte: data, not metadata
            return image;
        } finally {
            Files.deleteIfExists(f);
        }
    }

    private static Tools.Run sfdisk(Path f, String script) throws Exception {
        Process p = new ProcessBuilder("sfdisk", "-q", f.toString()).redirectErrorStream(true).start();
        p.getOutputStream().write(script.getBytes(StandardCharsets.US_ASCII));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Tools.Run(p.waitFor(), out);
    }

    private static String[] append(String[] a, String last) {
        String[] out = java.util.Arrays.copyOf(a, a.length + 1);
        out[a.length] = last;
        return out;
    }

    @Test
    void gptMapHoldsBothHeadersAndTheEntriesInUseAndRoundTrips() throws Exception {
        byte[] base = disk("sgdisk", "-n", "1:2048:2559", "-c", "1:root", "-n", "2:2560:3583", "-c", "2:swap");
        MetadataMap map = PartitionMetadata.map(base);
        assertEquals("MBR partition table and signature", map.regionAt(446).what());
        assertEquals("GPT primary header", map.regionAt(512).what());
        assertEquals("GPT primary entries 1-3", map.regionAt(1024).what(), map.toString());
        assertEquals("GPT backup header", map.regionAt(SIZE - 512).what(), map.toString());
        assertTrue(map.regions().stream().anyMatch(r -> r.what().equals("GPT backup entries 1-3")), map.toString());
        assertNull(map.regionAt(2048 * 512), "the partitions' contents are not metadata");
        assertNull(map.regionAt(0), "the boot code is not metadata");
        assertArrayEquals(base, map.splice(base, map.extract(base)));
    }

    @Test
    void fixedCrcsPassSgdiskAndOurReaderUnfixedSgdiskFindsTheProblem() throws Exception {
        byte[] base = disk("sgdisk", "-n", "1:2048:2559", "-c", "1:root", "-n", "2:2560:3583", "-c", "2:swap");
        MetadataMap map = PartitionMetadata.map(base);
        byte[] blob = map.extract(base);
        int entries = offsetOf(map, "GPT primary entries");
        blob[entries + 56] = 'R'; // partition 1's name, first UTF-16LE unit: "root" -> "Root"
        int backup = offsetOf(map, "GPT backup entries");
        blob[backup + 56] = 'R';

        byte[] fixed = map.splice(base, blob);
        PartitionMetadata.fixChecksums(fixed);
        Tools.Run ok = Tools.onImage(fixed, "sgdisk", "-v");
        assertEquals(0, ok.status(), ok.output());
        assertTrue(ok.output().contains("No problems found"), ok.output());
        try (FuzzWorld w = FuzzWorld.ofDisk(fixed, SIZE)) {
            PartitionTable t = PartitionTable.read(w.disk());
            assertEquals("Root", t.partitions().get(0).name(), t.toString());
            assertTrue(t.partitions().stream().noneMatch(p -> p.isBad()), t.toString());
        }

        Tools.Run bad = Tools.onImage(map.splice(base, blob), "sgdisk", "-v");
        assertTrue(bad.output().contains("CRC") && !bad.output().contains("No problems found"), bad.output());
    }

    @Test
    void aHeaderClaimingAHugeEntryArrayIsLeftUnsealedNotAnException() throws Exception {
        byte[] image = disk("sgdisk", "-n", "1:2048:2559");
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(image).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        // 0xffffffff entries of 0xffffffff bytes: the product passes 2^63 (the fuzzer's finding).
        b.putInt(512 + 80, -1).putInt(512 + 84, -1);
        int before = b.getInt(512 + 88);
        PartitionMetadata.fixChecksums(image);
        assertEquals(before, b.getInt(512 + 88), "the entry array's CRC is left as it was");
    }

    @Test
    void mbrMapFollowsTheChainOfEbrs() throws Exception {
        byte[] base = disk("sfdisk", "label: dos\nstart=2048, size=512, type=83\nstart=3072, size=1024, type=5\n"
                + "start=3136, size=256, type=83\nstart=3584, size=256, type=82\n");
        MetadataMap map = PartitionMetadata.map(base);
        assertEquals("EBR 0 at sector 3072", map.regionAt(3072 * 512 + 446).what(), map.toString());
        assertTrue(map.regions().stream().anyMatch(r -> r.what().startsWith("EBR 1 at sector ")), map.toString());
        assertNull(map.regionAt(2048 * 512));
        assertArrayEquals(base, map.splice(base, map.extract(base)));
    }

    private static int offsetOf(MetadataMap map, String prefix) {
        int at = 0;
        for (MetadataMap.Region r : map.regions()) {
            if (r.what().startsWith(prefix)) {
                return at;
            }
            at += r.length();
        }
        throw new AssertionError(prefix + " not in " + map);
    }
}
