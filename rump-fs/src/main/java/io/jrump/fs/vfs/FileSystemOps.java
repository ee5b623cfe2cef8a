package io.jrump.fs.vfs;

import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.StatVfs;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * What a filesystem offers the VFS, by inode number — the vnode operations. The VFS walks paths,
 * keeps file descriptors, checks permissions and flags, and calls these with directories and
 * names already resolved; a filesystem checks what only it can know (a name exists, a directory
 * is empty) and answers with the errno Linux would. Implementations are thread-safe.
 */
public interface FileSystemOps extends AutoCloseable {
    /** A short type name: {@code ext2}, {@code ext4}, ... */
    String type();

    long rootInode();

    boolean isReadOnly();

    Attributes getattr(long ino) throws ErrnoException;

    /** The inode {@code name} names in directory {@code dir} ("." and ".." included); ENOENT if none. */
    long lookup(long dir, String name) throws ErrnoException;

    List<DirEntry> readdir(long dir) throws ErrnoException;

    /** Creates a regular file, directory, fifo, socket or device node ({@code mode} holds the type bits). */
    long create(long dir, String name, int mode, long uid, long gid, long rdev) throws ErrnoException;

    long symlink(long dir, String name, String target, long uid, long gid) throws ErrnoException;

    void link(long dir, String name, long ino) throws ErrnoException;

    /** Removes a non-directory's name; {@code open} says whether the VFS still has it open. */
    void unlink(long dir, String name, boolean open) throws ErrnoException;

    void rmdir(long dir, String name, boolean open) throws ErrnoException;

    void rename(long fromDir, String fromName, long toDir, String toName, java.util.function.LongPredicate open)
            throws ErrnoException;

    String readlink(long ino) throws ErrnoException;

    /** Reads at {@code pos} into {@code dst}, moving its position; returns the count, 0 at or past the end. */
    int read(long ino, long pos, ByteBuffer dst) throws ErrnoException;

    int write(long ino, long pos, ByteBuffer src) throws ErrnoException;

    void truncate(long ino, long size) throws ErrnoException;

    /** Sets what is given: a negative mode/uid/gid, or a time of {@link Long#MIN_VALUE}, is left alone. */
    void setattr(long ino, int mode, long uid, long gid, long atimeNanos, long mtimeNanos) throws ErrnoException;

    /** Whether the VFS checks POSIX access ACLs ({@code system.posix_acl_access}) on this mount. */
    default boolean enforcesAcls() {
        return false;
    }

    /** setxattr flags, as Linux numbers them: fail if the attribute exists / does not. */
    int XATTR_CREATE = 1;
    int XATTR_REPLACE = 2;

    /**
     * getxattr: the value of a full name such as {@code user.x}; ENODATA if the inode has no such
     * attribute, EOPNOTSUPP if the filesystem keeps none (the default).
     */
    default byte[] getxattr(long ino, String name) throws ErrnoException {
        throw new io.jrump.hypercall.ErrnoException(io.jrump.hypercall.Errno.EOPNOTSUPP, type() + ": extended attributes");
    }

    /** listxattr: every attribute name of the inode, prefixes included. */
    default List<String> listxattr(long ino) throws ErrnoException {
        throw new io.jrump.hypercall.ErrnoException(io.jrump.hypercall.Errno.EOPNOTSUPP, type() + ": extended attributes");
    }

    /** setxattr with {@link #XATTR_CREATE} / {@link #XATTR_REPLACE}; the VFS has checked permissions. */
    default void setxattr(long ino, String name, byte[] value, int flags) throws ErrnoException {
        throw new io.jrump.hypercall.ErrnoException(io.jrump.hypercall.Errno.EOPNOTSUPP, type() + ": extended attributes");
    }

    /** removexattr: ENODATA if the inode has no such attribute. */
    default void removexattr(long ino, String name) throws ErrnoException {
        throw new io.jrump.hypercall.ErrnoException(io.jrump.hypercall.Errno.EOPNOTSUPP, type() + ": extended attributes");
    }

    /** SEEK_DATA ({@code hole} false) or SEEK_HOLE from {@code offset}; ENXIO past the end. */
    long seek(long ino, long offset, boolean hole) throws ErrnoException;

    /** The last file descriptor on an inode closed: an unlinked inode can go now. */
    void released(long ino) throws ErrnoException;

    /** Everything changed so far reaches the device. */
    void sync() throws ErrnoException;

    StatVfs statvfs() throws ErrnoException;

    /** Unmounts: syncs and leaves the filesystem clean. */
    @Override
    void close() throws ErrnoException;
}
