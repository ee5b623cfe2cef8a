package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.image.ImageFile;
import io.jrump.blk.image.Qcow2Check;
import io.jrump.blk.image.Qcow2Image;
import io.jrump.blk.image.Qcow2Snapshot;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;

/**
 * Arbitrary bytes as a qcow2 image file: opening it, reading across it and checking it either
 * work or fail with a defined errno — never an unchecked exception, a hang or an allocation sized
 * by a field nobody checked. Seeds are tiny real images: {@code qemu-img create -f qcow2 -o
 * cluster_size=512 s.qcow2 64k} with {@code qemu-io -c 'write -P 0x3c 0 4k'}, the same with
 * {@code compat=0.10}, and {@code qemu-img convert -c} of a patterned file; and images with the
 * newer structures: {@code qemu-img convert -c -o cluster_size=512,compression_type=zstd} of a
 * patterned file, {@code extended_l2=on,cluster_size=16384} written at subcluster granularity,
 * two internal snapshots ({@code qemu-img snapshot -c}), and a persistent bitmap made dirty
 * ({@code qemu-img bitmap --add}, then {@code qemu-io} writes). Every snapshot the table lists
 * is opened and read too.
 */
class Qcow2FuzzTest {
    private static final Set<Errno> DEFINED = Set.of(Errno.EINVAL, Errno.EIO, Errno.EUCLEAN, Errno.EOPNOTSUPP,
            Errno.EROFS, Errno.ELOOP);

    @FuzzTest(maxDuration = "60s")
    void openReadAndCheckAreTotal(byte[] input) throws Exception {
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
        ImageFile file = new ImageFile(host.blockDevices().open("img", OpenMode.READ_ONLY), host.scheduler());
        try {
            Qcow2Check.check(file);
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        }
        List<Qcow2Snapshot> snapshots = List.of();
        try (Qcow2Image img = Qcow2Image.open(file, true, host.clock(), null, 0)) {
            readAcross(img);
            snapshots = img.snapshots();
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        }
        for (Qcow2Snapshot s : snapshots.subList(0, Math.min(4, snapshots.size()))) {
            ImageFile f = new ImageFile(host.blockDevices().open("img", OpenMode.READ_ONLY), host.scheduler());
            try (Qcow2Image snap = Qcow2Image.openSnapshot(f, s.id(), host.clock(), null, 0)) {
                readAcross(snap);
            } catch (ErrnoException e) {
                f.close();
                assertTrue(DEFINED.contains(e.errno()), e.getMessage());
            }
        }
    }

    private static void readAcross(Qcow2Image img) throws ErrnoException {
        long step = Math.max(512, img.size() / 16 / 512 * 512);
        for (long off = 0; off + 4096 <= img.size() && off < 64 * step; off += step) {
            img.read(off, ByteBuffer.allocate(4096));
        }
    }
}
