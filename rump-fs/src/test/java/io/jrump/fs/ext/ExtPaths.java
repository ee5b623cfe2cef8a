package io.jrump.fs.ext;

import io.jrump.fs.vfs.Vfs;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.OpenFlags;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * An {@link ExtFs} read by path, the way applications reach it: through {@link ExtVfs} mounted
 * read-only at "/" of a {@link Vfs}. For tests that read images made by e2fsprogs.
 */
final class ExtPaths {
    final ExtFs fs;
    final Vfs vfs;

    private ExtPaths(ExtFs fs) throws ErrnoException {
        this.fs = fs;
        this.vfs = new Vfs(() -> 0L);
        vfs.mount("/", new ExtVfs(fs), true);
    }

    static ExtPaths of(ExtFs fs) throws ErrnoException {
        return new ExtPaths(fs);
    }

    Attributes stat(String path) throws ErrnoException {
        return vfs.stat(path);
    }

    Attributes lstat(String path) throws ErrnoException {
        return vfs.lstat(path);
    }

    /** The names in a directory, "." and ".." included, in on-disk order. */
    List<String> names(String path) throws ErrnoException {
        return vfs.readdir(path).stream().map(e -> e.name()).collect(Collectors.toList());
    }

    String readlink(String path) throws ErrnoException {
        return vfs.readlink(path);
    }

    /** Reads from {@code pos} into {@code dst} (its position unchanged); returns the bytes read, 0 at the end. */
    int read(String path, long pos, ByteBuffer dst) throws ErrnoException {
        int fd = vfs.open(path, OpenFlags.O_RDONLY, 0);
        try {
            int n = vfs.pread(fd, dst.duplicate(), pos);
            return Math.max(0, n);
        } finally {
            vfs.close(fd);
        }
    }

    /** The extended attributes of a file, symlinks not followed. */
    Map<String, byte[]> xattrs(String path) throws ErrnoException {
        return fs.xattrs(fs.inode(lstat(path).ino()));
    }
}
