package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.HostDisk;
import io.jrump.fs.ext.ExtFs;
import io.jrump.fs.ext.ExtVfs;
import io.jrump.fs.vfs.Vfs;
import io.jrump.fuzz.kit.FuzzWorld;
import io.jrump.fuzz.kit.Invariants;
import io.jrump.host.sim.SimHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.util.Set;

/**
 * Arbitrary bytes as an ext2/3/4 image on a 64 KiB disk: opening it, checking it, and walking the whole tree —
 * listing every directory, stat-ing every entry, reading every file and link, by path through the VFS — either works or
 * fails with a defined errno; never an unchecked exception or a hang. Seeds have metadata_csum
 * off so that mutations reach past the checksums: {@code mke2fs -t ext2|ext4 -b 1024 -N 32
 * -O ^metadata_csum,^resize_inode,^has_journal -d tree img 64K}, and {@code ext4-bigalloc} the same with
 * {@code -C 4096 -N 16 -O bigalloc,...} (clusters of 4 blocks); one more with casefold and
 * encrypt, its directory cf flagged casefold and enc (and the file in it) flagged encrypted
 * with debugfs {@code set_inode_field} (ext4-1k-64k-casefold-encrypt).
 */
class ExtFsFuzzTest {
    private static final int DISK = 64 * 1024;
    private static final Set<Errno> DEFINED = Set.of(Errno.EINVAL, Errno.EUCLEAN, Errno.EOPNOTSUPP, Errno.ENOENT,
            Errno.ENOTDIR, Errno.EISDIR, Errno.ELOOP, Errno.EIO, Errno.EFBIG,
            Errno.ENOKEY); // ENOKEY: an fscrypt-encrypted inode, refused per file

    @FuzzTest(maxDuration = "60s")
    void readingIsTotal(byte[] input) throws Exception {
        FuzzWorld d = FuzzWorld.ofDisk(input, DISK);
        SimHost host = d.host("fuzz");
        HostDisk disk = d.disk();
        try {
            ExtFs fs = ExtFs.open(disk);
            try {
                io.jrump.fs.ext.ExtCheck.check(fs);
            } catch (ErrnoException err) {
                assertTrue(DEFINED.contains(err.errno()), err.getMessage());
            }
            // By path, as applications read it: the VFS over the filesystem, mounted read-only.
            Vfs vfs = new Vfs(() -> 0L);
            vfs.mount("/", new ExtVfs(fs), true);
            FsExercise.walk(vfs, ExtFsFuzzTest::defined);
        } catch (ErrnoException e) {
            defined(e);
        }
    }

    /**
     * A defined errno; ExtVfs turns an unchecked exception that escaped a check into EIO saying
     * "internal error", which is a bug here.
     */
    private static void defined(ErrnoException e) {
        assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        assertFalse(Invariants.isInternalError(e), e.getMessage());
    }
}
