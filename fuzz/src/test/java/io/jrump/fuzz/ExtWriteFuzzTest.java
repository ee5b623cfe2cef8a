package io.jrump.fuzz;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jrump.blk.HostDisk;
import io.jrump.fs.ext.ExtCheck;
import io.jrump.fs.ext.ExtChecksums;
import io.jrump.fs.ext.ExtFs;
import io.jrump.fs.ext.ExtVfs;
import io.jrump.fs.vfs.Vfs;
import io.jrump.fuzz.kit.FuzzWorld;
import io.jrump.fuzz.kit.Invariants;
import io.jrump.host.sim.SimHost;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;

/**
 * A mutated ext2/3/4 image, its metadata checksums recomputed after the mutation so that it gets
 * past the checksum gates, mounted read-write through the VFS: walked, read, and changed (a
 * directory, a file written, renamed, truncated, unlinked, a symlink), unmounted, then checked.
 * Everything either works or fails with a defined errno — never an unchecked exception (which
 * the VFS would report as an "internal error"), a hang, or memory sized by a hostile field.
 * Seeds: {@code mke2fs -t ext4 -b 1024 -N 32 -O ^resize_inode,^has_journal -d tree img 96K}
 * (metadata_csum on), the same as ext2 in 64K, and {@code ext4-bigalloc}: {@code -C 4096 -O
 * bigalloc,^resize_inode,^has_journal} in 128K (clusters of 4 blocks); ext4-casefold adds casefold, with the root and
 * /Sub flagged casefold by debugfs {@code set_inode_field}, so that the changes go into casefolded
 * directories.
 */
class ExtWriteFuzzTest {
    private static final int DISK = 128 * 1024;
    private static final Set<Errno> DEFINED = Set.of(Errno.EINVAL, Errno.EUCLEAN, Errno.EOPNOTSUPP, Errno.ENOENT,
            Errno.ENOTDIR, Errno.EISDIR, Errno.ELOOP, Errno.EIO, Errno.EFBIG, Errno.ENOSPC, Errno.EEXIST,
            Errno.ENOTEMPTY, Errno.EMLINK, Errno.ENAMETOOLONG, Errno.EROFS,
            Errno.ENOKEY, // ENOKEY: an fscrypt-encrypted inode, refused per file
            Errno.EPERM); // EPERM: an append-only or immutable inode (chattr +a/+i) refuses the change, as Linux

    private static void defined(ErrnoException e) {
        assertTrue(DEFINED.contains(e.errno()), e.getMessage());
        assertFalse(Invariants.isInternalError(e), () -> {
            java.io.StringWriter w = new java.io.StringWriter();
            e.printStackTrace(new java.io.PrintWriter(w));
            return w.toString();
        });
    }

    @FuzzTest(maxDuration = "60s")
    void mountWalkAndWrite(byte[] input) throws Exception {
        FuzzWorld d = FuzzWorld.ofDisk(input, DISK);
        SimHost host = d.host("fuzz");
        HostDisk disk = d.disk();
        try {
            ExtChecksums.rewrite(disk);
        } catch (ErrnoException e) {
            defined(e);
            return;
        }
        Vfs vfs = new Vfs(host.clock()::wallNanos);
        try {
            ExtVfs fs = ExtVfs.mount(disk, ExtFs.MountOptions.readWrite(host.clock()::wallNanos));
            vfs.mount("/", fs, false);
            walk(vfs);
            change(vfs);
            vfs.close();
            ExtCheck.check(ExtFs.open(disk));
        } catch (ErrnoException e) {
            defined(e);
        }
    }

    private static void walk(Vfs vfs) throws ErrnoException {
        Deque<String> dirs = new ArrayDeque<>();
        dirs.add("/");
        int visited = 0;
        while (!dirs.isEmpty() && visited++ < 100) {
            String dir = dirs.poll();
            try {
                for (DirEntry e : vfs.readdir(dir)) {
                    if (e.name().equals(".") || e.name().equals("..") || e.name().contains("/") || e.name().isEmpty()) {
                        continue;
                    }
                    String path = (dir.equals("/") ? "" : dir) + "/" + e.name();
                    try {
                        Attributes a = vfs.lstat(path);
                        if (a.isDirectory()) {
                            dirs.add(path);
                        } else if (a.isSymlink()) {
                            vfs.readlink(path);
                        } else if (a.isRegular()) {
                            int fd = vfs.open(path, OpenFlags.O_RDONLY, 0);
                            vfs.read(fd, ByteBuffer.allocate(8192));
                            vfs.close(fd);
                        }
                    } catch (ErrnoException err) {
                        defined(err);
                    }
                }
            } catch (ErrnoException err) {
                defined(err);
            }
        }
    }

    /** Each change on its own: one failing must not stop the others from being tried. */
    private static void change(Vfs vfs) {
        attempt(() -> vfs.mkdir("/fz", 0755));
        attempt(() -> {
            int fd = vfs.open("/fz/a", OpenFlags.O_CREAT | OpenFlags.O_RDWR, 0644);
            try {
                vfs.pwrite(fd, ByteBuffer.wrap(new byte[3000]), 1000);
            } finally {
                vfs.close(fd);
            }
        });
        attempt(() -> vfs.rename("/fz/a", "/b"));
        attempt(() -> vfs.symlink("fz/nowhere", "/l2"));
        for (DirEntry e : attemptList(vfs)) {
            String p = "/" + e.name();
            attempt(() -> vfs.truncate(p, 100));
            attempt(() -> vfs.unlink(p));
        }
        attempt(() -> vfs.rmdir("/fz"));
    }

    private static java.util.List<DirEntry> attemptList(Vfs vfs) {
        try {
            return vfs.readdir("/");
        } catch (ErrnoException e) {
            defined(e);
            return java.util.List.of();
        }
    }

    @FunctionalInterface
    private interface Change {
        void run() throws ErrnoException;
    }

    private static void attempt(Change c) {
        try {
            c.run();
        } catch (ErrnoException e) {
            defined(e);
        }
    }
}
