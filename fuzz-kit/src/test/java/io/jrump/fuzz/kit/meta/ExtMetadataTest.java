package io.jrump.fuzz.kit.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.fs.ext.ExtCheck;
import io.jrump.fs.ext.ExtFs;
import io.jrump.fuzz.kit.FuzzWorld;
import io.jrump.fuzz.kit.Images;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The ext map on the kit's populated ext4 image (metadata_csum), with e2fsck as the outside oracle. */
class ExtMetadataTest {
    private static final int SIZE = 128 * 1024;
    private static final byte[] BASE = base();
    private static final MetadataMap MAP = ExtMetadata.map(BASE);

    /** The kit's image with every checksum as the fixer writes it (it also seals unused inodes). */
    private static byte[] base() {
        try {
            byte[] image = Images.populated(Images.Kind.EXT4, SIZE);
            ExtMetadata.fixChecksums(image);
            return image;
        } catch (ErrnoException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void extractAndSpliceGiveTheBaseBackByteForByte() {
        assertArrayEquals(BASE, MAP.splice(BASE, MAP.extract(BASE)));
        MetadataFuzz meta = MetadataFuzz.of(BASE, MAP, ExtMetadata::fixChecksums);
        assertArrayEquals(BASE, meta.image(meta.seed()), "fixing an unchanged blob changes nothing");
    }

    @Test
    void theMapHoldsTheMetadataAndNotTheFilesData() {
        assertEquals("ext superblock", MAP.regionAt(1024).what());
        assertEquals("group descriptor table", MAP.regionAt(2048).what());
        assertNotNull(MAP.regions().stream().filter(r -> r.what().equals("directory block 0 of inode 2")).findFirst()
                .orElse(null), MAP.toString());
        assertTrue(MAP.regions().stream().anyMatch(r -> r.what().startsWith("inode table block 0 of group 0 (inodes 1-")),
                MAP.toString());
        int hello = Tools.indexOf(BASE, "hello, jrump\n");
        int a = Tools.indexOf(BASE, "a".repeat(1024));
        assertTrue(hello > 0 && a > 0);
        assertNull(MAP.regionAt(hello), "hello.txt's data block is not metadata");
        assertNull(MAP.regionAt(a), "a.txt's data block is not metadata");
        assertTrue(MAP.blobLength() < SIZE / 4, MAP.toString());
    }

    @Test
    void fixedChecksumsPassE2fsckAndOurCheckerUnfixedTheyFailBoth() throws Exception {
        byte[] blob = MAP.extract(BASE);
        byte[] label = "fuzzed-label".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(label, 0, blob, 120, label.length); // s_volume_name, the superblock being the blob's start
        int inodeTable = blobOffsetOf("inode table block 0 of group 0");
        blob[inodeTable + 256 + 16] ^= 0x5a; // the root inode's (2) i_mtime

        byte[] fixed = MAP.splice(BASE, blob);
        ExtMetadata.fixChecksums(fixed);
        Tools.Run e2fsck = Tools.onImage(fixed, "e2fsck", "-fn");
        assertEquals(0, e2fsck.status(), e2fsck.output());
        assertFalse(e2fsck.output().toLowerCase().contains("checksum"), e2fsck.output());
        try (FuzzWorld w = FuzzWorld.ofDisk(fixed, SIZE)) {
            ExtCheck.Result r = ExtCheck.check(w.disk());
            assertTrue(r.isClean(), r.problems().toString());
        }

        byte[] unfixed = MAP.splice(BASE, blob);
        Tools.Run refused = Tools.onImage(unfixed, "e2fsck", "-fn");
        assertTrue(refused.status() != 0 && refused.output().toLowerCase().contains("checksum"), refused.output());
        try (FuzzWorld w = FuzzWorld.ofDisk(unfixed, SIZE)) {
            ErrnoException e = assertThrows(ErrnoException.class, () -> ExtFs.open(w.disk()));
            assertEquals(Errno.EUCLEAN, e.errno(), e.getMessage());
            assertTrue(e.getMessage().toLowerCase().contains("checksum"), e.getMessage());
        }
    }

    private static int blobOffsetOf(String prefix) {
        int at = 0;
        for (MetadataMap.Region r : MAP.regions()) {
            if (r.what().startsWith(prefix)) {
                return at;
            }
            at += r.length();
        }
        throw new AssertionError(prefix + " not in " + MAP);
    }
}
