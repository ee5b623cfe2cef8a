package io.jrump.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.fuzz.kit.meta.MetadataFuzz;

/**
 * Structure-aware: the input is a blob of qcow2 metadata only (header cluster, active and
 * snapshot L1 tables, their L2 tables, refcount table and blocks, snapshot table) of one of the
 * bases of {@link MetadataBases#qcow2()} (the whole-image harness's seven seeds; bits 1-3 of the
 * first byte choose), spliced into it (no checksums). The image then goes through {@link Qcow2FuzzTest}'s checks: check, open, read
 * across, open and read every snapshot.
 */
class Qcow2MetadataFuzzTest {
    private static final MetadataFuzz META = MetadataBases.qcow2();
    private static final Qcow2FuzzTest WHOLE_IMAGE = new Qcow2FuzzTest();

    @FuzzTest(maxDuration = "60s")
    void metadataOpenReadAndCheckAreTotal(byte[] input) throws Exception {
        WHOLE_IMAGE.openReadAndCheckAreTotal(META.image(input));
    }
}
