package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.HostDisk;
import io.jrump.fs.ext.ExtCheck;
import io.jrump.fs.ext.ExtChecksums;
import io.jrump.fs.ext.ExtFs;
import io.jrump.fs.ext.ExtVfs;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.fuzz.kit.FuzzWorld;
import io.jrump.fuzz.kit.Invariants;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.DirEntry;
import java.util.List;
import java.util.Set;

/**
 * Extended attributes of a mutated ext image (checksums recomputed after the mutation): every
 * inode's attributes listed and read, then a small and a large value set on each, one removed,
 * and what was set read back; unmounted and checked. Parsing and rewriting in-inode regions and
 * xattr blocks (shared ones included) either works or fails with a defined errno. Seeds:
 * {@code ext4-csum} (mke2fs -t ext4 -b 1024 -N 32 -O ^resize_inode,^has_journal, 96K, two files
 * with debugfs ea_set values in the inode and in a block) and {@code ext2-shared} (ext2, -I 128,
 * 64K, two files sharing one xattr block with h_refcount 2) and {@code ext4-ea-inode} (as ext4-csum
 * with ea_inode, 128K: debugfs ea_set put a 1 KiB value into a value inode).
 */
class ExtXattrFuzzTest {
    private static final int DISK = 128 * 1024;
    private static final Set<Errno> DEFINED = Set.of(Errno.EINVAL, Errno.EUCLEAN, Errno.EOPNOTSUPP, Errno.ENOENT,
            Errno.ENOTDIR, Errno.EIO, Errno.ENOSPC, Errno.EEXIST, Errno.ENODATA, Errno.ERANGE, Errno.E2BIG,
            Errno.EROFS, Errno.ELOOP, Errno.EPERM, Errno.ENOKEY);

    private static void defined(ErrnoException e) {
        assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        assertFalse(Invariants.isInternalError(e), () -> {
            java.io.StringWriter w = new java.io.StringWriter();
            e.printStackTrace(new java.io.PrintWriter(w));
            return w.toString();
        });
    }

    @FuzzTest(maxDuration = "60s")
    void mountListSetRemove(byte[] input) throws Exception {
        FuzzWorld d = FuzzWorld.ofDisk(input, DISK);
        HostDisk disk = d.disk();
        try {
            ExtChecksums.rewrite(disk);
        } catch (ErrnoException e) {
            defined(e);
            return;
        }
        try {
            ExtVfs fs = ExtVfs.mount(disk, ExtFs.MountOptions.readWrite(d.host("fuzz").clock()::wallNanos));
            try {
                List<DirEntry> entries = fs.readdir(fs.rootInode());
                for (int i = 0; i < entries.size() && i < 16; i++) {
                    exercise(fs, entries.get(i).ino());
                }
            } finally {
                fs.close();
            }
            ExtCheck.check(ExtFs.open(disk));
        } catch (ErrnoException e) {
            defined(e);
        }
    }

    private static void exercise(FileSystemOps fs, long ino) {
        try {
            for (String name : fs.listxattr(ino)) {
                fs.getxattr(ino, name);
            }
        } catch (ErrnoException e) {
            defined(e);
        }
        byte[] small = {1, 2, 3};
        byte[] large = new byte[600];
        java.util.Arrays.fill(large, (byte) 0x5a);
        try {
            fs.setxattr(ino, "user.fz", small, 0);
            assertArrayEquals(small, fs.getxattr(ino, "user.fz"));
            fs.setxattr(ino, "trusted.fzbig", large, 0);
            assertArrayEquals(large, fs.getxattr(ino, "trusted.fzbig"));
            fs.removexattr(ino, "user.fz");
            assertTrue(!fs.listxattr(ino).contains("user.fz"));
        } catch (ErrnoException e) {
            defined(e);
        }
    }
}
