package io.jrump.fs.nio;

import io.jrump.hypercall.ErrnoException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.ReadOnlyFileSystemException;

/** Translates a VFS errno into the exception the default filesystem would throw for it. */
final class Errors {
    private Errors() {
    }

    /**
     * The checked exception for {@code e} on {@code file} (and {@code other}, the second path of a
     * copy, move or link, or null); {@code EROFS} is thrown as the unchecked
     * {@link ReadOnlyFileSystemException} instead. Errno values without a standard exception
     * become a {@link FileSystemException} whose reason is the VFS's whole message.
     */
    static IOException translate(ErrnoException e, String file, String other) {
        String reason = e.errno().description() + " (" + e.errno().name() + ")";
        IOException x = switch (e.errno()) {
            case ENOENT -> new NoSuchFileException(file, other, null);
            case EEXIST -> new FileAlreadyExistsException(file, other, null);
            case ENOTEMPTY -> new DirectoryNotEmptyException(file);
            case ENOTDIR -> new NotDirectoryException(file);
            case EACCES, EPERM -> new AccessDeniedException(file, other, reason);
            case ELOOP -> new FileSystemLoopException(file);
            case EXDEV -> new AtomicMoveNotSupportedException(file, other, reason);
            case EROFS -> throw new ReadOnlyFileSystemException();
            default -> new FileSystemException(file, other, e.getMessage());
        };
        x.initCause(e);
        return x;
    }

    /**
     * The exception for an image that could not be mounted: as {@link #translate}, with the
     * kernel's reason kept (a missing partition is a {@code NoSuchFileException} that says which)
     * and the image named once, not again inside the reason.
     */
    static IOException translateMount(ErrnoException e, String image, String partition) {
        String reason = e.getMessage();
        String asPartition = image + ":" + partition + ": ";
        if (partition != null && reason.startsWith(asPartition)) {
            reason = "partition " + partition + ": " + reason.substring(asPartition.length());
        } else if (reason.startsWith(image + ": ")) {
            reason = reason.substring(image.length() + 2);
        }
        IOException x = switch (e.errno()) {
            case ENOENT, ENXIO -> new NoSuchFileException(image, null, reason); // ENXIO: no such partition
            case EACCES, EPERM -> new AccessDeniedException(image, null, reason);
            case EROFS -> throw new ReadOnlyFileSystemException();
            default -> new FileSystemException(image, null, reason);
        };
        x.initCause(e);
        return x;
    }

    /** readlink(2) answers EINVAL for a file that is not a link. */
    static IOException translateReadlink(ErrnoException e, String file) {
        if (e.errno() == io.jrump.hypercall.Errno.EINVAL) {
            IOException x = new NotLinkException(file);
            x.initCause(e);
            return x;
        }
        return translate(e, file, null);
    }
}
