package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;

/**
 * fscrypt-encrypted inodes ({@code EXT4_ENCRYPT_FL}, on a filesystem with the encrypt feature):
 * this implementation has no keys, so it treats each such inode as the kernel does without its
 * key, per file rather than for the whole filesystem: an encrypted file's contents, an encrypted
 * symlink's target and an encrypted directory's names (listing, looking up, adding, removing)
 * are refused with ENOKEY. Its attributes stay readable, and an encrypted file or empty
 * directory inside an unencrypted one can be removed. Unencrypted inodes on the same filesystem
 * are ordinary.
 */
final class Encrypted {
    /** i_flags: the inode is encrypted with fscrypt. */
    static final int ENCRYPT_FL = 0x800;

    private Encrypted() {
    }

    static boolean is(Inode i) {
        return (i.flags() & ENCRYPT_FL) != 0;
    }

    /** ENOKEY for {@code what} ("file", "directory", "symlink") inode {@code ino}. */
    static ErrnoException noKey(ExtFs fs, long ino, String what) {
        return new ErrnoException(Errno.ENOKEY, fs.deviceName() + ": " + what + " inode " + ino
                + " is encrypted (fscrypt) and this implementation has no keys");
    }

    /** Refuses {@code i}'s contents (data, target or names) when it is encrypted. */
    static void check(ExtFs fs, Inode i) throws ErrnoException {
        if (is(i)) {
            throw noKey(fs, i.number(), i.isDir() ? "directory" : i.isSymlink() ? "symlink" : "file");
        }
    }
}
