package io.jrump.kernel.sys;

import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The file system calls a filesystem component (rump-fs's VFS) offers the kernel's
 * {@link Syscalls}: paths, file descriptors in the kernel's {@link DescriptorTable}, Linux's flags
 * and errno values. Implementations are thread-safe; calls block while the filesystem works.
 */
public interface FileCalls {
    void setCredentials(Credentials c);

    int umask(int mask);

    int open(String path, int flags, int mode) throws ErrnoException;

    int pread(int fd, ByteBuffer dst, long offset) throws ErrnoException;

    int pwrite(int fd, ByteBuffer src, long offset) throws ErrnoException;

    long lseek(int fd, long offset, int whence) throws ErrnoException;

    Attributes stat(String path) throws ErrnoException;

    Attributes lstat(String path) throws ErrnoException;

    Attributes fstat(int fd) throws ErrnoException;

    void truncate(String path, long length) throws ErrnoException;

    void ftruncate(int fd, long length) throws ErrnoException;

    void fsync(int fd) throws ErrnoException;

    void sync() throws ErrnoException;

    void mkdir(String path, int mode) throws ErrnoException;

    void mknod(String path, int mode, long rdev) throws ErrnoException;

    void rmdir(String path) throws ErrnoException;

    void unlink(String path) throws ErrnoException;

    void rename(String from, String to) throws ErrnoException;

    void link(String existing, String newPath) throws ErrnoException;

    void symlink(String target, String linkPath) throws ErrnoException;

    String readlink(String path) throws ErrnoException;

    List<DirEntry> getdents(int fd, int max) throws ErrnoException;

    List<DirEntry> readdir(String path) throws ErrnoException;

    void chmod(String path, int mode) throws ErrnoException;

    void fchmod(int fd, int mode) throws ErrnoException;

    void chown(String path, long uid, long gid) throws ErrnoException;

    void lchown(String path, long uid, long gid) throws ErrnoException;

    void utimensat(String path, long atimeNanos, long mtimeNanos, boolean nofollow) throws ErrnoException;

    StatVfs statvfs(String path) throws ErrnoException;

    void access(String path, int mode) throws ErrnoException;

    void chdir(String path) throws ErrnoException;

    /** getxattr(2) ({@code follow}) / lgetxattr(2): the whole value; EOPNOTSUPP unless the VFS keeps xattrs. */
    default byte[] getxattr(String path, String name, boolean follow) throws ErrnoException {
        throw new ErrnoException(io.jrump.hypercall.Errno.EOPNOTSUPP, "extended attributes");
    }

    /** listxattr(2) / llistxattr(2): the names the caller may see. */
    default List<String> listxattr(String path, boolean follow) throws ErrnoException {
        throw new ErrnoException(io.jrump.hypercall.Errno.EOPNOTSUPP, "extended attributes");
    }

    /** setxattr(2) / lsetxattr(2); flags XATTR_CREATE 1, XATTR_REPLACE 2. */
    default void setxattr(String path, String name, byte[] value, int flags, boolean follow) throws ErrnoException {
        throw new ErrnoException(io.jrump.hypercall.Errno.EOPNOTSUPP, "extended attributes");
    }

    /** removexattr(2) / lremovexattr(2). */
    default void removexattr(String path, String name, boolean follow) throws ErrnoException {
        throw new ErrnoException(io.jrump.hypercall.Errno.EOPNOTSUPP, "extended attributes");
    }
}
