package io.jrump.fs.nio;

import java.io.IOException;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.Set;

/**
 * The basic, posix and owner views of one path (one class, three names); it does no I/O until
 * asked, so the file need not exist when the view is made. Thread-safe.
 */
final class RumpAttributeView implements PosixFileAttributeView {
    private final RumpPath path;
    private final String name;
    private final boolean follow;

    RumpAttributeView(RumpPath path, String name, boolean follow) {
        this.path = path;
        this.name = name;
        this.follow = follow;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public RumpFileAttributes readAttributes() throws IOException {
        return path.getFileSystem().attributes(path, follow);
    }

    @Override
    public void setTimes(FileTime lastModifiedTime, FileTime lastAccessTime, FileTime createTime) throws IOException {
        path.getFileSystem().setTimes(path, lastModifiedTime, lastAccessTime, follow);
    }

    @Override
    public void setPermissions(Set<PosixFilePermission> perms) throws IOException {
        path.getFileSystem().chmod(path, RumpFileAttributes.mode(perms));
    }

    @Override
    public void setOwner(UserPrincipal owner) throws IOException {
        path.getFileSystem().chown(path, RumpPrincipal.idOf(owner), -1, follow);
    }

    @Override
    public void setGroup(GroupPrincipal group) throws IOException {
        path.getFileSystem().chown(path, -1, RumpPrincipal.idOf(group), follow);
    }

    @Override
    public UserPrincipal getOwner() throws IOException {
        return readAttributes().owner();
    }
}
