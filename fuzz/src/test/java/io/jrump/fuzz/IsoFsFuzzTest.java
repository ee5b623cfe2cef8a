package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.HostDisk;
import io.jrump.fs.iso.IsoFileSystemType;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fs.vfs.FileSystemType;
import io.jrump.fs.vfs.Vfs;
import io.jrump.fuzz.kit.FuzzWorld;
import io.jrump.fuzz.kit.Invariants;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.Set;

/**
 * Arbitrary bytes as an ISO9660 image on a 128 KiB disk: probing it, listing its El Torito
 * entries, mounting it and walking the whole tree — listing every directory, stat-ing every
 * entry, reading every file and link, by path through the VFS — either works or fails with a
 * defined errno; never an unchecked exception, a hang or unbounded memory. Seeds (about 100 KiB
 * each, {@code -no-pad}): {@code xorriso -as mkisofs -R -J} with and without {@code -b boot.img
 * -no-emul-boot}, {@code genisoimage -R -J} of a tree deep enough to be relocated, and
 * {@code genisoimage} with neither.
 */
class IsoFsFuzzTest {
    private static final int DISK = 128 * 1024;
    private static final Set<Errno> DEFINED = Set.of(Errno.EINVAL, Errno.EUCLEAN, Errno.EOPNOTSUPP, Errno.ENOENT,
            Errno.ENOTDIR, Errno.EISDIR, Errno.ELOOP, Errno.EIO, Errno.ENAMETOOLONG);

    @FuzzTest(maxDuration = "60s")
    void readingIsTotal(byte[] input) throws Exception {
        FuzzWorld d = FuzzWorld.ofDisk(input, DISK);
        HostDisk disk = d.disk();
        IsoFileSystemType type = new IsoFileSystemType();
        try {
            type.probe(disk);
            IsoFileSystemType.bootEntries(disk);
        } catch (ErrnoException e) {
            defined(e);
        }
        try {
            FileSystemOps fs = type.mount(disk, FileSystemType.Options.of(false, () -> 0L));
            Vfs vfs = new Vfs(() -> 0L);
            vfs.mount("/", fs, false);
            FsExercise.walk(vfs, IsoFsFuzzTest::defined);
        } catch (ErrnoException e) {
            defined(e);
        }
    }

    /** A defined errno; IsoVfs turns an unchecked exception that escaped a check into EIO saying "internal error". */
    private static void defined(ErrnoException e) {
        assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        assertFalse(Invariants.isInternalError(e), e.getMessage());
    }
}
