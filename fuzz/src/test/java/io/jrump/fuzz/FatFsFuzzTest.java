package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.HostDisk;
import io.jrump.fs.fat.FatCheck;
import io.jrump.fs.fat.FatFs;
import io.jrump.fs.fat.FatMountOptions;
import io.jrump.fs.vfs.Vfs;
import io.jrump.fuzz.kit.FuzzWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.Set;

/**
 * Arbitrary bytes as a FAT image on a 64 KiB disk: checked, mounted read-only and walked — every
 * directory listed, every entry stat-ed, every file read — then mounted read-write and changed
 * (a file written, a directory made, a rename, an unlink, a truncate), then checked again. Each
 * step works or fails with a defined errno; never an unchecked exception or a hang. Seed:
 * {@code mkfs.fat -C -F 12
 * -s 1 -r 16 img 64} filled by {@code mcopy -s} with long names, a subdirectory and a
 * multi-cluster file.
 */
class FatFsFuzzTest {
    private static final int DISK = 64 * 1024;
    private static final Set<Errno> DEFINED = Set.of(Errno.EUCLEAN, Errno.EINVAL, Errno.EIO, Errno.ENOENT, Errno.ENOTDIR,
            Errno.EISDIR, Errno.ENOSPC, Errno.EEXIST, Errno.ENOTEMPTY, Errno.EFBIG, Errno.ENAMETOOLONG, Errno.EPERM,
            Errno.ELOOP, Errno.EROFS);

    @FuzzTest(maxDuration = "60s")
    void everyOperationIsTotal(byte[] input) throws Exception {
        FuzzWorld d = FuzzWorld.ofDisk(input, DISK);
        HostDisk disk = d.disk();
        for (boolean readOnly : new boolean[] {true, false}) {
            FatFs fs;
            try {
                fs = FatFs.mount(disk, FatMountOptions.defaults(), readOnly, () -> 0L, null);
            } catch (ErrnoException e) {
                defined(e);
                return;
            }
            try {
                FatCheck.check(fs);
            } catch (ErrnoException e) {
                defined(e);
            }
            Vfs vfs = new Vfs(() -> 0L);
            vfs.mount("/", fs, readOnly);
            FsExercise.walk(vfs, FatFsFuzzTest::defined);
            if (!readOnly) {
                FsExercise.change(vfs, FatFsFuzzTest::defined);
            }
            try {
                vfs.close();
            } catch (ErrnoException e) {
                defined(e);
            }
        }
        // What was written is checked again: the check stays total on our own output.
        try (FatFs after = FatFs.mount(disk, FatMountOptions.defaults(), true, () -> 0L, null)) {
            FatCheck.check(after);
        } catch (ErrnoException e) {
            defined(e);
        }
    }

    private static void defined(ErrnoException e) {
        assertTrue(DEFINED.contains(e.errno()), e.errno() + ": " + e.getMessage());
    }
}
