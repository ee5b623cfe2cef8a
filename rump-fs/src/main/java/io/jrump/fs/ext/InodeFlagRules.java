package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/**
 * What the inode flags chattr sets forbid, as the kernel's VFS and ext4 enforce them (each an
 * {@code EPERM}): an immutable file ({@code +i}) is not written, truncated, changed in its
 * attributes or extended attributes, linked, renamed or removed, and an immutable directory
 * gains and loses no names; an append-only file ({@code +a}) is written only at its end and not
 * truncated, renamed or removed, and an append-only directory loses no names; a verity file
 * (fs-verity, its Merkle tree kept past the end of its data) is never written nor truncated.
 */
final class InodeFlagRules {
    static final int IMMUTABLE_FL = 0x10;
    static final int APPEND_FL = 0x20;
    static final int VERITY_FL = 0x100000;

    private final ExtFs fs;

    InodeFlagRules(ExtFs fs) {
        this.fs = fs;
    }

    private int flags(long ino) throws ErrnoException {
        return fs.inode(ino).flags();
    }

    private static ErrnoException refused(long ino, int flags, String what) {
        String kind = (flags & IMMUTABLE_FL) != 0 ? "immutable" : (flags & APPEND_FL) != 0 ? "append-only" : "a verity file";
        return new ErrnoException(Errno.EPERM, "inode " + ino + " is " + kind + ": " + what);
    }

    /** A write of file data at {@code pos}. */
    void write(long ino, long pos) throws ErrnoException {
        Inode i = fs.inode(ino);
        int f = i.flags();
        if ((f & (IMMUTABLE_FL | VERITY_FL)) != 0 || (f & APPEND_FL) != 0 && pos != i.size()) {
            throw refused(ino, f, "no write" + ((f & APPEND_FL) != 0 ? " but at its end (" + i.size() + ")" : ""));
        }
    }

    void truncate(long ino) throws ErrnoException {
        forbid(ino, IMMUTABLE_FL | APPEND_FL | VERITY_FL, "not truncated");
    }

    /** chmod, chown, utimes. */
    void setattr(long ino) throws ErrnoException {
        forbid(ino, IMMUTABLE_FL, "its attributes do not change");
    }

    void xattr(long ino) throws ErrnoException {
        forbid(ino, IMMUTABLE_FL | APPEND_FL, "its extended attributes do not change");
    }

    /** A new name in {@code dir}, for a new inode or (link) for {@code target} if not 0. */
    void addName(long dir, long target) throws ErrnoException {
        forbid(dir, IMMUTABLE_FL, "no names are added to it");
        if (target != 0) {
            forbid(target, IMMUTABLE_FL | APPEND_FL, "it gets no new links");
        }
    }

    /** Removing {@code name} from {@code dir} (unlink, rmdir, the source of rename, a name rename replaces). */
    void removeName(long dir, String name) throws ErrnoException {
        forbid(dir, IMMUTABLE_FL | APPEND_FL, "no names are removed from it");
        long child = fs.dirCache.lookup(dir, name);
        if (child != 0) {
            forbid(child, IMMUTABLE_FL | APPEND_FL, "it is not removed or renamed");
        }
    }

    private void forbid(long ino, int forbidden, String what) throws ErrnoException {
        int f = flags(ino);
        if ((f & forbidden) != 0) {
            throw refused(ino, f & forbidden, what);
        }
    }
}
