package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.HostDisk;
import io.jrump.fs.exfat.ExFatCheck;
import io.jrump.fs.exfat.ExFatFs;
import io.jrump.fs.exfat.ExFatMountOptions;
import io.jrump.fs.vfs.Vfs;
import io.jrump.fuzz.kit.FuzzWorld;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.Set;

/**
 * Arbitrary bytes as an exFAT image on a 1 MiB disk (the smallest exFAT volume): mounted
 * read-only, checked and walked — every directory listed, every entry stat-ed, every file read —
 * then mounted read-write and changed (a file written, a directory made, a rename, an unlink, a
 * truncate). Each step works or fails with a defined errno; never an unchecked exception or a
 * hang. Seed: {@code mkfs.exfat -c 512 -b 4096 -L SEED} on 1 MiB, filled through exfat-fuse
 * with long and Unicode names, nested directories and two files appended in turn (FAT chains),
 * trailing zeros trimmed.
 */
class ExFatFsFuzzTest {
    private static final int DISK = 1 << 20;
    private static final Set<Errno> DEFINED = Set.of(Errno.EUCLEAN, Errno.EINVAL, Errno.EIO, Errno.ENOENT, Errno.ENOTDIR,
            Errno.EISDIR, Errno.ENOSPC, Errno.EEXIST, Errno.ENOTEMPTY, Errno.EFBIG, Errno.ENAMETOOLONG, Errno.EPERM,
            Errno.ELOOP, Errno.EROFS, Errno.EOPNOTSUPP);

    @FuzzTest(maxDuration = "60s")
    void everyOperationIsTotal(byte[] input) throws Exception {
        FuzzWorld d = FuzzWorld.ofDisk(input, DISK);
        HostDisk disk = d.disk();
        for (boolean readOnly : new boolean[] {true, false}) {
            ExFatFs fs;
            try {
                fs = ExFatFs.mount(disk, ExFatMountOptions.defaults(), readOnly, () -> 0L, null);
            } catch (ErrnoException e) {
                defined(e);
                return;
            }
            try {
                ExFatCheck.check(fs);
            } catch (ErrnoException e) {
                defined(e);
            }
            Vfs vfs = new Vfs(() -> 0L);
            vfs.mount("/", fs, readOnly);
            FsExercise.walk(vfs, ExFatFsFuzzTest::defined);
            if (!readOnly) {
                FsExercise.change(vfs, ExFatFsFuzzTest::defined);
            }
            try {
                vfs.close();
            } catch (ErrnoException e) {
                defined(e);
            }
        }
        // What was written is checked again: the check stays total on our own output.
        try (ExFatFs after = ExFatFs.mount(disk, ExFatMountOptions.defaults(), true, () -> 0L, null)) {
            ExFatCheck.check(after);
        } catch (ErrnoException e) {
            defined(e);
        }
    }

    private static void defined(ErrnoException e) {
        assertTrue(DEFINED.contains(e.errno()), e.errno() + ": " + e.getMessage());
    }
}
