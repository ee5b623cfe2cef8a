package com.example.consumer;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.fs.ext.ExtChecksums;
import io.jrump.fs.ext.ExtFs;
import io.jrump.fs.ext.ExtVfs;
import io.jrump.fs.vfs.Vfs;
import io.jrump.fuzz.kit.FuzzWorld;
import io.jrump.fuzz.kit.Images;
import io.jrump.fuzz.kit.Invariants;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.OpenFlags;
import java.nio.ByteBuffer;

/**
 * The harness of docs/fuzzing.md, written from that page: an ext4 image made by the kit, its
 * metadata patched by the fuzzer (see {@link Patches}), checksums fixed, mounted read-only and
 * read. It either works or is refused with a defined errno. {@code mvn test} runs it on the seeds
 * in src/test/resources/com/example/consumer/ExtImageFuzzTestInputs/mountAndRead/;
 * {@code JAZZER_FUZZ=1 mvn test -Dtest=ExtImageFuzzTest} fuzzes it.
 */
class ExtImageFuzzTest {
    private static final int SIZE = 128 * 1024;

    @FuzzTest(maxDuration = "30s")
    void mountAndRead(byte[] input) throws Exception {
        byte[] image = Images.populated(Images.Kind.EXT4, SIZE);
        Patches.apply(input, image, 8192); // only the first 8 KiB: superblock, group descriptors, inodes
        try (FuzzWorld w = FuzzWorld.ofDisk(image, SIZE)) {
            ExtChecksums.rewrite(w.disk()); // so that the patches get past the checksum checks
            Vfs vfs = new Vfs(() -> 0L);
            vfs.mount("/", new ExtVfs(ExtFs.open(w.disk())), true);
            int fd = vfs.open("/hello.txt", OpenFlags.O_RDONLY, 0);
            vfs.read(fd, ByteBuffer.allocate(4096));
            vfs.close();
            Invariants.noFailures(w.world());
        } catch (ErrnoException e) {
            Invariants.definedErrno(e); // refused: fine if the errno is defined, a finding if not
        }
    }
}
