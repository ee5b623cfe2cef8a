package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jrump.blk.BlockDevice;
import io.jrump.blk.image.ImageFile;
import io.jrump.fuzz.kit.MemoryFile;
import io.jrump.host.sim.SimHost;
import io.jrump.host.sim.SimWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Set;

/**
 * One fuzz input as an image file of exactly its length (a {@link MemoryFile}, growing when a
 * write allocates): opened read-only it is read at spread offsets; opened read-write a pattern is
 * written at the start, the middle and the end and read back the same — all either work or fail
 * with a defined errno, never an unchecked exception, a hang, or an allocation sized by a field
 * nobody checked.
 */
final class ImageFuzz {
    static final Set<Errno> DEFINED = Set.of(Errno.EINVAL, Errno.EIO, Errno.EUCLEAN, Errno.EOPNOTSUPP, Errno.EROFS,
            Errno.ELOOP, Errno.ENOENT, Errno.ENOSPC, Errno.EFBIG);
    /** Largest an input's file grows to by writes. */
    private static final long MAX_FILE = 16 << 20;

    /** Opens a format on a file, as its {@code open} does. */
    interface Opener {
        BlockDevice open(ImageFile file, boolean readOnly, SimHost host) throws ErrnoException;
    }

    private ImageFuzz() {
    }

    static void exercise(byte[] input, Opener opener) throws Exception {
        if (input.length < 1 || input.length > (1 << 20)) {
            return;
        }
        SimHost host = new SimWorld(1).newHost("fuzz");
        MemoryFile file = MemoryFile.of("img", input, MAX_FILE);
        try (BlockDevice img = open(file, true, host, opener)) {
            long step = Math.max(512, img.size() / 16 / 512 * 512);
            for (long off = 0; off + 4096 <= img.size() && off < 64 * step; off += step) {
                img.read(off, ByteBuffer.allocate(4096));
            }
        } catch (ErrnoException e) {
            assertTrue(DEFINED.contains(e.errno()), e.getMessage());
            return;
        }
        byte[] pattern = new byte[1024];
        Arrays.fill(pattern, (byte) 0xa5);
        try (BlockDevice img = open(file, false, host, opener)) {
            for (long off : new long[] {0, img.size() / 2 / 512 * 512, img.size() - pattern.length}) {
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

    /** The file is closed when the open fails, as {@code Images.open} does. */
    private static BlockDevice open(MemoryFile file, boolean readOnly, SimHost host, Opener opener) throws ErrnoException {
        ImageFile f = new ImageFile(file.handle(readOnly), host.scheduler());
        try {
            return opener.open(f, readOnly, host);
        } catch (ErrnoException | RuntimeException e) {
            f.close();
            throw e;
        }
    }
}
