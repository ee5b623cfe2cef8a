package io.jrump.host.jvm;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Turns the JDK's I/O exceptions into the errno a Linux system call would have set. */
final class IoErrors {
    private IoErrors() {
    }

    static Errno errnoOf(IOException e) {
        if (e instanceof ErrnoException ee) {
            return ee.errno();
        }
        if (e instanceof NoSuchFileException) {
            return Errno.ENOENT;
        }
        if (e instanceof FileAlreadyExistsException) {
            return Errno.EEXIST;
        }
        if (e instanceof AccessDeniedException) {
            return Errno.EACCES;
        }
        if (e instanceof NotDirectoryException) {
            return Errno.ENOTDIR;
        }
        if (e instanceof ClosedChannelException) {
            return Errno.EBADF;
        }
        String reason = e instanceof FileSystemException fse ? fse.getReason() : e.getMessage();
        if (reason != null) {
            // The JDK passes strerror(3) text through; match the common ones.
            for (Errno candidate : new Errno[] {Errno.ENOSPC, Errno.EISDIR, Errno.EROFS, Errno.EDQUOT,
                Errno.EFBIG, Errno.ENAMETOOLONG, Errno.ELOOP, Errno.EACCES, Errno.EPERM}) {
                if (reason.contains(candidate.description())) {
                    return candidate;
                }
            }
        }
        return Errno.EIO;
    }

    static ErrnoException wrap(IOException e, String what) {
        if (e instanceof ErrnoException ee) {
            return ee;
        }
        return new ErrnoException(errnoOf(e), what + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")"), e);
    }
}
