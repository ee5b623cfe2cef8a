package io.jrump.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.BlockDevice;
import io.jrump.blk.image.ImageFile;
import io.jrump.blk.image.VmdkImage;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/**
 * Arbitrary bytes as a VMDK file — a sparse extent or a descriptor naming extents (only the
 * image itself exists, so a descriptor meets ENOENT or ELOOP): opening it, reading across it and,
 * read-write, writing a pattern at the start, middle and end and reading it back either work or
 * fail with a defined errno ({@link ImageFuzz}) — never an unchecked exception, a hang or an
 * allocation sized by a field nobody checked. The file is a {@link io.jrump.fuzz.kit.MemoryFile} of exactly the
 * input's length: a VMDK allocates grains at the end of its file, and a stream's footer is found
 * at the end. Seeds are hand-built 1 MiB disks in 4 KiB grains
 * that qemu-img check and 7zz accept: a monolithicSparse extent with two data grains and a zero
 * grain, the same as a streamOptimized stream (compressed grains, directory in the footer), and a
 * monolithicFlat descriptor; an ESX COWD extent with one grain that qemu-img reads; a child
 * descriptor naming a parent and extents (ENOENT here); and an input the fuzzer found (a CID
 * line after a NUL).
 */
class VmdkFuzzTest {
    @FuzzTest(maxDuration = "60s")
    void openReadAndWriteAreTotal(byte[] input) throws Exception {
        VmdkImage.ExtentFiles files = new VmdkImage.ExtentFiles() {
            @Override
            public String resolve(String name) {
                return name;
            }

            @Override
            public ImageFile open(String path, boolean readOnly) throws ErrnoException {
                throw new ErrnoException(Errno.ENOENT, path);
            }

            @Override
            public BlockDevice openParent(String path, int depth) throws ErrnoException {
                throw new ErrnoException(Errno.ENOENT, path);
            }
        };
        ImageFuzz.exercise(input, (file, readOnly, host) -> VmdkImage.open(file, "img", readOnly, host.clock(),
                host.random(), files, 0));
    }
}
