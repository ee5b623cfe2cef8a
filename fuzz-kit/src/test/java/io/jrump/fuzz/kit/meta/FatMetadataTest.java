package io.jrump.fuzz.kit.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.fuzz.kit.Images;
import io.jrump.hypercall.ErrnoException;
import org.junit.jupiter.api.Test;

/** The FAT map on the kit's populated FAT image. */
class FatMetadataTest {
    private static final byte[] BASE = base();

    private static byte[] base() {
        try {
            return Images.populated(Images.Kind.FAT, 128 * 1024);
        } catch (ErrnoException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theMapHoldsBpbFatsAndEveryDirectoryButNoFileData() {
        MetadataMap map = FatMetadata.map(BASE);
        assertEquals("FAT boot sector (BPB)", map.regionAt(11).what());
        assertNull(map.regionAt(100), "the boot code is not metadata");
        assertTrue(map.regions().stream().anyMatch(r -> r.what().equals("FAT 1")), map.toString());
        assertTrue(map.regions().stream().anyMatch(r -> r.what().equals("FAT 2")), map.toString());
        assertTrue(map.regions().stream().anyMatch(r -> r.what().equals("root directory")), map.toString());
        assertTrue(map.regions().stream().anyMatch(r -> r.what().startsWith("directory cluster 0 of /DIR/SUB")), map.toString());
        assertNull(map.regionAt(Tools.indexOf(BASE, "hello, jrump\n")), "hello.txt's cluster is not metadata");
        assertNull(map.regionAt(Tools.indexOf(BASE, "b".repeat(100))), "b.bin's cluster is not metadata");
        assertArrayEquals(BASE, map.splice(BASE, map.extract(BASE)));
    }
}
