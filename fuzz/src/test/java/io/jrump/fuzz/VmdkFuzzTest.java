package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.BlockDevice;
import io.jrump.blk.image.ImageFile;
import io.jrump.blk.image.VmdkImage;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Set;

/**
 * Arbitrary bytes as a VMDK file — a sparse extent or a descriptor naming extents (only the
 * image itself exists, so a descriptor meets ENOENT or ELOOP): opening it, reading across it and,
 * when it opens read-write, writing a sector and reading it back either work or fail with a
 * defined errno — never an unchecked exception, a hang or an allocation sized by a field nobody
 * checked. Seeds are hand-built 1 MiB disks in 4 KiB grains that qemu-img check and 7zz accept:
 * a monolithicSparse extent with two data grains and a zero grain, the same as a streamOptimized
 * stream (compressed grains, directory in the footer), and a monolithicFlat descriptor.
 */
class VmdkFuzzTest {
    private static final Set<Errno> DEFINED = Set.of(Errno.EINVAL, Errno.EIO, Errno.EUCLEAN, Errno.EOPNOTSUPP,
            Errno.EROFS, Errno.ELOOP, Errno.ENOENT, Errno.ENOSPC, Errno.EFBIG);

    @FuzzTest(maxDuration = "60s")
    void openReadAndWriteAreTotal(byte[] input) throws Exception {
        if (input.length < 1 || input.length > (1 << 20)) {
            return;
        }
        SimWorld world = new SimWorld(1);
        SimHost host = world.newHost("fuzz");
        int size = (input.length + 511) / 512 * 512;
        world.createDisk("img", size);
        try (ImageFile rw = new ImageFile(host.blockDevices().open("img", OpenMode.READ_WRITE), host.scheduler())) {
            rw.write(0, ByteBuffer.wrap(input));
        }
        VmdkImage.ExtentFiles files = new VmdkImage.ExtentFiles() {
            @Override
            public String resolve(String name) {
                return name;
            }

            @Override
            public ImageFile open(String path, boolean readOnly) throws ErrnoException {
                return new ImageFile(host.blockDevices().open(path, readOnly ? OpenMode.READ_ONLY : OpenMode.READ_WRITE),
                        host.scheduler());
            }

            @Override
            public BlockDevice openParent(String path, int depth) throws ErrnoException {
                // Only the image itself exists: a parent is the image again, so a chain loops (ELOOP).
                return VmdkFuzzTest.open(open(path, true), true, host, this, depth);
            }
        };
        boolean opened = false;
        ImageFile file = new ImageFile(host.blockDevices().open("img", OpenMode.READ_ONLY), host.scheduler());
        try (VmdkImage img = open(file, true, host, files, 0)) {
            opened = true;
            long step = Math.max(512, img.size() / 16 / 512 * 512);
            for (long off = 0; off + 4096 <= img.size() && off < 64 * step; off += step) {
                img.read(off, ByteBuffer.allocate(4096));
            }
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        }
        if (!opened) {
            return;
        }
        file = new ImageFile(host.blockDevices().open("img", OpenMode.READ_WRITE), host.scheduler());
        try (VmdkImage img = open(file, false, host, files, 0)) {
            if (img.size() >= 4096) {
                byte[] pattern = new byte[4096];
                Arrays.fill(pattern, (byte) 0xa5);
                long at = img.size() / 2 / 512 * 512;
                at = Math.min(at, img.size() - 4096);
                img.write(at, ByteBuffer.wrap(pattern));
                ByteBuffer back = ByteBuffer.allocate(4096);
                img.read(at, back);
                assertArrayEquals(pattern, back.array());
            }
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        }
    }

    /** Opens as Images does: the caller's file is closed when the open fails. */
    private static VmdkImage open(ImageFile file, boolean readOnly, SimHost host, VmdkImage.ExtentFiles files,
            int depth) throws ErrnoException {
        try {
            return VmdkImage.open(file, "img", readOnly, host.clock(), host.random(), files, depth);
        } catch (ErrnoException | RuntimeException e) {
            file.close();
            throw e;
        }
    }
}
