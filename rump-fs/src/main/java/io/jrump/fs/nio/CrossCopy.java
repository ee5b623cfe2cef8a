package io.jrump.fs.nio;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.spi.FileSystemProvider;

/**
 * Copy or move between two rump filesystems (two images): through streams, as
 * {@link java.nio.file.Files} does across providers; a move copies then deletes the source, and
 * cannot be atomic.
 */
final class CrossCopy {
    private CrossCopy() {
    }

    static void copy(RumpPath source, RumpPath target, boolean move, CopyOption... options) throws IOException {
        boolean replace = false;
        boolean copyAttributes = move;
        boolean follow = !move;
        for (CopyOption o : options) {
            if (o == StandardCopyOption.REPLACE_EXISTING) {
                replace = true;
            } else if (o == StandardCopyOption.COPY_ATTRIBUTES) {
                copyAttributes = true;
            } else if (o == LinkOption.NOFOLLOW_LINKS) {
                follow = false;
            } else if (o == StandardCopyOption.ATOMIC_MOVE && move) {
                throw new AtomicMoveNotSupportedException(source.toString(), target.toString(),
                        "the paths are in different images");
            } else {
                throw new UnsupportedOperationException("Unsupported copy option: " + o);
            }
        }
        LinkOption[] links = follow ? new LinkOption[0] : new LinkOption[] {LinkOption.NOFOLLOW_LINKS};
        FileSystemProvider p = source.getFileSystem().provider();
        PosixFileAttributes sa = p.readAttributes(source, PosixFileAttributes.class, links);
        if (exists(p, target)) {
            if (!replace) {
                throw new FileAlreadyExistsException(target.toString());
            }
            p.delete(target);
        }
        if (sa.isDirectory()) {
            p.createDirectory(target);
        } else if (sa.isSymbolicLink()) {
            p.createSymbolicLink(target, target.getFileSystem().getPath(p.readSymbolicLink(source).toString()));
        } else {
            try (InputStream in = p.newInputStream(source);
                    OutputStream out = p.newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                in.transferTo(out);
            }
        }
        if (copyAttributes) {
            PosixFileAttributeView v = p.getFileAttributeView(target, PosixFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS);
            if (!sa.isSymbolicLink()) {
                v.setPermissions(sa.permissions());
            }
            v.setOwner(sa.owner());
            v.setGroup(sa.group());
            v.setTimes(sa.lastModifiedTime(), sa.lastAccessTime(), null);
        }
        if (move) {
            p.delete(source);
        }
    }

    private static boolean exists(FileSystemProvider p, RumpPath path) throws IOException {
        try {
            p.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return true;
        } catch (NoSuchFileException e) {
            return false;
        }
    }
}
