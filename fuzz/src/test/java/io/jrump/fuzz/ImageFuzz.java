package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.image.ImageFile;
import io.jrump.blk.image.Images;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.BlockDevices.OpenMode;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Set;

/**
 * One fuzz input as an image file opened by content ({@code Images.open}): read-only, it is read
 * at spread offsets; read-write, a pattern is written at the start, the middle and the end and
 * read back the same — all either work or fail with a defined errno, never an unchecked
 * exception, a hang, or an allocation sized by a field nobody checked.
 */
final class ImageFuzz {
    static final Set<Errno> DEFINED = Set.of(Errno.EINVAL, Errno.EIO, Errno.EUCLEAN, Errno.EOPNOTSUPP, Errno.EROFS,
            Errno.ELOOP, Errno.ENOENT, Errno.ENOSPC, Errno.EFBIG);

    private ImageFuzz() {
    }

    static void exercise(byte[] input) throws Exception {
        if (input.length < 1 || input.length > (1 << 20)) {
            return;
        }
        SimWorld world = new SimWorld(1);
        SimHost host = world.newHost("fuzz");
        // Room to grow: a write may allocate a block past the input's end.
        world.createDisk("img", (input.length + 511) / 512 * 512 + (4 << 20));
        try (ImageFile rw = new ImageFile(host.blockDevices().open("img", OpenMode.READ_WRITE), host.scheduler())) {
            rw.write(0, ByteBuffer.wrap(input));
        }
        try (BlockDevice img = Images.open(host, "img", true)) {
            long step = Math.max(512, img.size() / 16 / 512 * 512);
            for (long off = 0; off + 4096 <= img.size() && off < 64 * step; off += step) {
                img.read(off, ByteBuffer.allocate(4096));
            }
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        }
        byte[] pattern = new byte[1024];
        Arrays.fill(pattern, (byte) 0xa5);
        try (BlockDevice img = Images.open(host, "img", false)) {
            long[] at = {0, img.size() / 2 / 512 * 512, img.size() - pattern.length};
            for (long off : at) {
                if (off >= 0 && off + pattern.length <= img.size()) {
                    img.write(off, ByteBuffer.wrap(pattern));
                    ByteBuffer back = ByteBuffer.allocate(pattern.length);
                    img.read(off, back);
                    assertEquals(ByteBuffer.wrap(pattern), back, "read back at " + off + " of " + img);
                }
            }
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        }
    }
}
