package io.jrump.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.fuzz.kit.meta.MetadataFuzz;

/**
 * Structure-aware: the input is a blob of ext4 metadata only (superblock, group descriptors,
 * bitmaps, inode table blocks in use, extent, directory and xattr blocks of {@link
 * MetadataBases#ext()}, an ext4 image with metadata_csum), spliced into the base image; its first
 * byte says whether the checksums are then rewritten (bit 0 clear) or left as mutated. The image
 * then goes through {@link ExtFsFuzzTest}'s checks: open, fsck, mount, walk, stat, read and
 * readlink all work or fail with a defined errno.
 */
class ExtMetadataFuzzTest {
    private static final MetadataFuzz META = MetadataBases.ext();
    private static final ExtFsFuzzTest WHOLE_IMAGE = new ExtFsFuzzTest();

    @FuzzTest(maxDuration = "60s")
    void metadataReadingIsTotal(byte[] input) throws Exception {
        WHOLE_IMAGE.readingIsTotal(META.image(input));
    }
}
