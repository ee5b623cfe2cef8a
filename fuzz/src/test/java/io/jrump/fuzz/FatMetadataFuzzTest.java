package io.jrump.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.fuzz.kit.meta.MetadataFuzz;

/**
 * Structure-aware: the input is a blob of FAT metadata only (BPB, both FATs, root directory and
 * every directory cluster of {@link MetadataBases#fat()}), spliced into the base image (FAT has
 * no checksums; the first byte is the options byte all metadata harnesses share). The image then
 * goes through {@link FatFsFuzzTest}'s checks: check, mount, walk, change, check again.
 */
class FatMetadataFuzzTest {
    private static final MetadataFuzz META = MetadataBases.fat();
    private static final FatFsFuzzTest WHOLE_IMAGE = new FatFsFuzzTest();

    @FuzzTest(maxDuration = "60s")
    void metadataOperationsAreTotal(byte[] input) throws Exception {
        WHOLE_IMAGE.everyOperationIsTotal(META.image(input));
    }
}
