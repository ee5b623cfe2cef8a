package io.jrump.fuzz.kit.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.jrump.fuzz.kit.meta.MetadataMap.Region;
import java.util.List;
import org.junit.jupiter.api.Test;

class MetadataMapTest {
    private static final MetadataMap MAP = MetadataMap.of(List.of(new Region(8, 4, "b"), new Region(0, 4, "a"),
            new Region(10, 4, "overlaps b"), new Region(30, 10, "past the end")), 32);

    @Test
    void regionsAreSortedOverlapsCutAndTheImageEndBounds() {
        assertEquals(List.of(new Region(0, 4, "a"), new Region(8, 4, "b"), new Region(12, 2, "overlaps b"),
                new Region(30, 2, "past the end")), MAP.regions());
        assertEquals(12, MAP.blobLength());
        assertEquals("b", MAP.regionAt(9).what());
        assertNull(MAP.regionAt(5), "a byte between regions is data");
    }

    @Test
    void extractThenSpliceGivesTheImageBack() {
        byte[] image = new byte[32];
        for (int i = 0; i < image.length; i++) {
            image[i] = (byte) i;
        }
        byte[] blob = MAP.extract(image);
        assertArrayEquals(new byte[] {0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 30, 31}, blob);
        assertArrayEquals(image, MAP.splice(image, blob));
    }

    @Test
    void aShortBlobLeavesTheRestAsInTheBaseAndALongOnesTailIsIgnored() {
        byte[] base = new byte[32];
        byte[] spliced = MAP.splice(base, new byte[] {1, 1, 1, 1, 1, 1});
        assertArrayEquals(new byte[] {1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0}, java.util.Arrays.copyOf(spliced, 14));
        byte[] longBlob = new byte[100];
        java.util.Arrays.fill(longBlob, (byte) 7);
        byte[] all = MAP.splice(base, longBlob);
        assertEquals(12, countOf(all, (byte) 7), "only the regions' 12 bytes are written");
    }

    @Test
    void theFirstInputByteChoosesWhetherChecksumsAreFixed() {
        byte[] base = new byte[32];
        MetadataFuzz meta = MetadataFuzz.of(base, MAP, image -> image[31] = 42);
        assertArrayEquals(base, meta.image(new byte[0]), "an empty input is the base");
        assertEquals(42, meta.image(MetadataFuzz.seed(0, new byte[12]))[31], "options 0: fixed");
        assertEquals(0, meta.image(MetadataFuzz.seed(MetadataFuzz.KEEP_CHECKSUMS, new byte[12]))[31], "kept as mutated");
        assertEquals(13, meta.seed().length);
    }

    @Test
    void bitsOneToThreeOfTheOptionsChooseTheBase() {
        MetadataFuzz meta = MetadataFuzz.oneOf(List.of(MetadataFuzz.of(new byte[32], MAP, ChecksumFixer.NONE),
                MetadataFuzz.of(filled(32, (byte) 9), MAP, ChecksumFixer.NONE)));
        assertEquals(2, meta.bases());
        assertArrayEquals(new byte[32], meta.image(meta.seed(0)));
        assertArrayEquals(filled(32, (byte) 9), meta.image(meta.seed(1)));
        assertEquals(9, meta.image(new byte[] {2 | 4})[5], "base 3 modulo 2 is base 1");
    }

    private static byte[] filled(int n, byte v) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, v);
        return b;
    }

    private static int countOf(byte[] b, byte v) {
        int n = 0;
        for (byte x : b) {
            n += x == v ? 1 : 0;
        }
        return n;
    }
}
