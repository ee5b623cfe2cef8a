package io.jrump.fs.nio;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;

/**
 * Copy or move between two rump filesystems (two images): through streams, as {@link Files}
 * does across providers; a move copies then deletes the source, and cannot be atomic.
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
        PosixFileAttributes sa = Files.readAttributes(source, PosixFileAttributes.class, links);
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            if (!replace) {
                throw new FileAlreadyExistsException(target.toString());
            }
            Files.delete(target);
        }
        if (sa.isDirectory()) {
            Files.createDirectory(target);
        } else if (sa.isSymbolicLink()) {
            Files.createSymbolicLink(target, target.getFileSystem().getPath(Files.readSymbolicLink(source).toString()));
        } else {
            try (InputStream in = Files.newInputStream(source)) {
                Files.copy(in, target);
            }
        }
        if (copyAttributes) {
            PosixFileAttributeView v = Files.getFileAttributeView(target, PosixFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS);
            if (!sa.isSymbolicLink()) {
                v.setPermissions(sa.permissions());
            }
            v.setOwner(sa.owner());
            v.setGroup(sa.group());
            v.setTimes(sa.lastModifiedTime(), sa.lastAccessTime(), null);
        }
        if (move) {
            Files.delete(source);
        }
    }
}
