package io.jrump.cli;

import io.jrump.host.linux.LinuxXattrs;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import io.jrump.kernel.sys.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One side of a copy: a directory tree in an image (through a kernel's {@link Syscalls}) or on the host. Paths
 * are strings in the side's own syntax. Every failure is an {@link ErrnoException} whose detail is
 * the path as the user would write it ({@code disk.img:/etc/passwd}, {@code ./out/passwd}).
 *
 * <p>Not thread-safe; blocks on file I/O.
 */
interface FsTree {
    /** What a copy needs to know of a file; times in nanoseconds since the epoch. */
    record Meta(int mode, long uid, long gid, long size, long atimeNanos, long mtimeNanos, long ino) {
        int type() {
            return mode & Attributes.S_IFMT;
        }

        boolean isDirectory() {
            return type() == Attributes.S_IFDIR;
        }

        boolean isRegular() {
            return type() == Attributes.S_IFREG;
        }

        boolean isSymlink() {
            return type() == Attributes.S_IFLNK;
        }
    }

    /** A stream of bytes being read or written. */
    interface Stream extends AutoCloseable {
        /** Reads into {@code dst}; 0 at the end. */
        int read(ByteBuffer dst) throws ErrnoException;

        void write(ByteBuffer src) throws ErrnoException;

        @Override
        void close() throws ErrnoException;
    }

    /** The file's attributes, or null if there is none; {@code follow} follows a final symlink. */
    Meta stat(String path, boolean follow) throws ErrnoException;

    /**
     * The names in a directory, sorted, without its own "." and ".." (an image's directory may
     * hold more entries of those names, or others that are unusable; they are returned).
     */
    List<String> list(String dir) throws ErrnoException;

    String readlink(String path) throws ErrnoException;

    Stream openRead(String path) throws ErrnoException;

    /** Creates or truncates a regular file; new files get {@code mode} less the umask 022. */
    Stream create(String path, int mode) throws ErrnoException;

    void mkdir(String path, int mode) throws ErrnoException;

    /** Makes a symlink, replacing a symlink or file already there (never a directory). */
    void symlink(String target, String path) throws ErrnoException;

    /** Sets the permission bits (not on symlinks). */
    void chmod(String path, int mode) throws ErrnoException;

    /** Sets the owner of the file itself (symlinks not followed); a side may decline silently. */
    void chown(String path, long uid, long gid) throws ErrnoException;

    /** Sets access and modification times of the file itself (symlinks not followed). */
    void setTimes(String path, long atimeNanos, long mtimeNanos) throws ErrnoException;

    /**
     * The extended attributes of the file itself (symlinks not followed), by full name
     * ({@code user.x}); empty where the side keeps none.
     */
    default Map<String, byte[]> xattrs(String path) throws ErrnoException {
        return Map.of();
    }

    /** Sets one extended attribute of the file itself; EOPNOTSUPP or EPERM where the side cannot keep it. */
    default void setXattr(String path, String name, byte[] value) throws ErrnoException {
        throw new ErrnoException(Errno.EOPNOTSUPP, display(path) + ": extended attributes");
    }

    String child(String dir, String name);

    /** The path as the user would write it, for messages. */
    String display(String path);

    /** Whether two sides are the same tree (same image and partition, or both the host). */
    boolean sameTree(FsTree other);

    /**
     * Whether {@code name}, read from a directory, can be used as one path component on any host:
     * not empty, ".", "..", and without '/' or NUL.
     */
    static boolean isSafeName(String name) {
        return name != null && !name.isEmpty() && !name.equals(".") && !name.equals("..") && name.indexOf('/') < 0
                && name.indexOf('\0') < 0;
    }

    /** The filesystem in an image, mounted in {@code vfs} at "/". */
    final class Image implements FsTree {
        private final Syscalls vfs;
        private final String prefix;

        /** @param prefix {@code IMG[:PART]}, for messages and to tell images apart */
        Image(Syscalls vfs, String prefix) {
            this.vfs = vfs;
            this.prefix = prefix;
        }

        Syscalls sys() {
            return vfs;
        }

        ErrnoException named(String path, ErrnoException e) {
            return new ErrnoException(e.errno(), display(path), e);
        }

        @Override
        public Meta stat(String path, boolean follow) throws ErrnoException {
            try {
                Attributes a = follow ? vfs.stat(path) : vfs.lstat(path);
                return new Meta(a.mode(), a.uid(), a.gid(), a.size(), a.atimeNanos(), a.mtimeNanos(), a.ino());
            } catch (ErrnoException e) {
                if (e.errno() == Errno.ENOENT) {
                    return null;
                }
                throw named(path, e);
            }
        }

        @Override
        public List<String> list(String dir) throws ErrnoException {
            try {
                List<String> names = new ArrayList<>();
                boolean dot = false;
                boolean dotdot = false;
                for (DirEntry e : vfs.readdir(dir)) {
                    if (e.name().equals(".") && !dot) {
                        dot = true;
                    } else if (e.name().equals("..") && !dotdot) {
                        dotdot = true;
                    } else {
                        names.add(e.name());
                    }
                }
                names.sort(null);
                return names;
            } catch (ErrnoException e) {
                throw named(dir, e);
            }
        }

        @Override
        public String readlink(String path) throws ErrnoException {
            try {
                return vfs.readlink(path);
            } catch (ErrnoException e) {
                throw named(path, e);
            }
        }

        @Override
        public Stream openRead(String path) throws ErrnoException {
            return open(path, OpenFlags.O_RDONLY, 0);
        }

        @Override
        public Stream create(String path, int mode) throws ErrnoException {
            return open(path, OpenFlags.O_WRONLY | OpenFlags.O_CREAT | OpenFlags.O_TRUNC, mode);
        }

        private Stream open(String path, int flags, int mode) throws ErrnoException {
            int fd;
            try {
                fd = vfs.open(path, flags, mode);
            } catch (ErrnoException e) {
                throw named(path, e);
            }
            return new Stream() {
                @Override
                public int read(ByteBuffer dst) throws ErrnoException {
                    try {
                        return vfs.read(fd, dst);
                    } catch (ErrnoException e) {
                        throw named(path, e);
                    }
                }

                @Override
                public void write(ByteBuffer src) throws ErrnoException {
                    try {
                        while (src.hasRemaining()) {
                            vfs.write(fd, src);
                        }
                    } catch (ErrnoException e) {
                        throw named(path, e);
                    }
                }

                @Override
                public void close() throws ErrnoException {
                    try {
                        vfs.close(fd);
                    } catch (ErrnoException e) {
                        throw named(path, e);
                    }
                }
            };
        }

        @Override
        public void mkdir(String path, int mode) throws ErrnoException {
            try {
                vfs.mkdir(path, mode);
            } catch (ErrnoException e) {
                throw named(path, e);
            }
        }

        @Override
        public void symlink(String target, String path) throws ErrnoException {
            try {
                Meta old = stat(path, false);
                if (old != null && !old.isDirectory()) {
                    vfs.unlink(path);
                }
                vfs.symlink(target, path);
            } catch (ErrnoException e) {
                throw e.detail().startsWith(prefix + ":") ? e : named(path, e);
            }
        }

        @Override
        public Map<String, byte[]> xattrs(String path) throws ErrnoException {
            Map<String, byte[]> out = new java.util.LinkedHashMap<>();
            try {
                for (String name : vfs.listxattr(path, false)) {
                    out.put(name, vfs.getxattr(path, name, false));
                }
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EOPNOTSUPP) {
                    return Map.of(); // a filesystem without xattrs (vfat, iso9660)
                }
                throw named(path, e);
            }
            return out;
        }

        @Override
        public void setXattr(String path, String name, byte[] value) throws ErrnoException {
            try {
                vfs.setxattr(path, name, value, 0, false);
            } catch (ErrnoException e) {
                throw named(path, e);
            }
        }

        @Override
        public void chmod(String path, int mode) throws ErrnoException {
            try {
                vfs.chmod(path, mode);
            } catch (ErrnoException e) {
                throw named(path, e);
            }
        }

        @Override
        public void chown(String path, long uid, long gid) throws ErrnoException {
            try {
                vfs.lchown(path, uid, gid);
            } catch (ErrnoException e) {
                throw named(path, e);
            }
        }

        @Override
        public void setTimes(String path, long atimeNanos, long mtimeNanos) throws ErrnoException {
            try {
                vfs.utimensat(path, atimeNanos, mtimeNanos, true);
            } catch (ErrnoException e) {
                throw named(path, e);
            }
        }

        @Override
        public String child(String dir, String name) {
            return dir.endsWith("/") ? dir + name : dir + "/" + name;
        }

        @Override
        public String display(String path) {
            return prefix + ":" + path;
        }

        @Override
        public boolean sameTree(FsTree other) {
            return other instanceof Image i && i.vfs == vfs;
        }
    }

    /**
     * The host's filesystem. As a copy's destination it has a root (the directory the user named):
     * nothing is written outside it, and nothing is written through a symbolic link below it — so
     * a symlink that came out of an image can never redirect a later write.
     */
    final class Host implements FsTree {
        private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
        /** Whether libc's xattr calls are there (64-bit Linux): every namespace, not only user.*. */
        private static final boolean NATIVE_XATTRS = LinuxXattrs.isAvailable();
        private final Path root;
        private final boolean setOwners;

        /** @param root where writes are confined, or null for a side that is only read */
        Host(Path root) {
            this.root = root == null ? null : root.toAbsolutePath().normalize();
            this.setOwners = isRoot();
        }

        private static boolean isRoot() {
            try {
                return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue() == 0;
            } catch (IOException | RuntimeException e) {
                return "root".equals(System.getProperty("user.name"));
            }
        }

        /** The host's error as an errno, naming the path. */
        static ErrnoException error(String path, IOException e) {
            if (e instanceof ErrnoException ee) {
                return ee;
            }
            if (e instanceof NoSuchFileException) {
                return new ErrnoException(Errno.ENOENT, path, e);
            }
            if (e instanceof java.nio.file.FileAlreadyExistsException) {
                return new ErrnoException(Errno.EEXIST, path, e);
            }
            if (e instanceof java.nio.file.AccessDeniedException) {
                return new ErrnoException(Errno.EACCES, path, e);
            }
            if (e instanceof java.nio.file.DirectoryNotEmptyException) {
                return new ErrnoException(Errno.ENOTEMPTY, path, e);
            }
            if (e instanceof java.nio.file.NotDirectoryException) {
                return new ErrnoException(Errno.ENOTDIR, path, e);
            }
            if (e instanceof FileSystemException fse && fse.getReason() != null) {
                for (Errno errno : Errno.values()) {
                    if (errno.description().equals(fse.getReason())) {
                        return new ErrnoException(errno, path, e);
                    }
                }
                return new ErrnoException(Errno.EIO, path + ": " + fse.getReason(), e);
            }
            return new ErrnoException(Errno.EIO, path + ": " + e.getMessage(), e);
        }

        /**
         * The path to write, after checking that it stays under the root and that no directory
         * between the root and it is a symbolic link.
         */
        Path writable(String path) throws ErrnoException {
            Path p = Path.of(path).toAbsolutePath().normalize();
            if (root == null || !p.startsWith(root) || p.equals(root)) {
                if (root != null && p.equals(root)) {
                    return p;
                }
                throw new ErrnoException(Errno.EACCES, path + ": outside the destination " + root + "; not written");
            }
            Path dir = root;
            for (Path name : root.relativize(p.getParent() == null ? p : p.getParent())) {
                if (name.toString().isEmpty()) {
                    continue;
                }
                dir = dir.resolve(name);
                if (Files.isSymbolicLink(dir)) {
                    throw new ErrnoException(Errno.ELOOP, path + ": " + dir + " is a symbolic link; not writing through it");
                }
            }
            return p;
        }

        @Override
        public Meta stat(String path, boolean follow) throws ErrnoException {
            try {
                Map<String, Object> a = Files.readAttributes(Path.of(path), "unix:mode,uid,gid,size,ino,lastAccessTime,lastModifiedTime",
                        follow ? new LinkOption[0] : NOFOLLOW);
                return new Meta((Integer) a.get("mode"), ((Number) a.get("uid")).longValue(),
                        ((Number) a.get("gid")).longValue(), (Long) a.get("size"),
                        ((FileTime) a.get("lastAccessTime")).to(TimeUnit.NANOSECONDS),
                        ((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS), ((Number) a.get("ino")).longValue());
            } catch (NoSuchFileException e) {
                return null;
            } catch (IOException e) {
                throw error(path, e);
            }
        }

        @Override
        public List<String> list(String dir) throws ErrnoException {
            try (java.util.stream.Stream<Path> s = Files.list(Path.of(dir))) {
                return s.map(p -> p.getFileName().toString()).sorted().toList();
            } catch (IOException e) {
                throw error(dir, e);
            }
        }

        @Override
        public String readlink(String path) throws ErrnoException {
            try {
                return Files.readSymbolicLink(Path.of(path)).toString();
            } catch (IOException e) {
                throw error(path, e);
            }
        }

        @Override
        public FsTree.Stream openRead(String path) throws ErrnoException {
            try {
                return stream(path, FileChannel.open(Path.of(path), StandardOpenOption.READ));
            } catch (IOException e) {
                throw error(path, e);
            }
        }

        @Override
        public FsTree.Stream create(String path, int mode) throws ErrnoException {
            Path p = writable(path);
            try {
                boolean fresh = !Files.exists(p, NOFOLLOW);
                FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS);
                if (fresh) {
                    Files.setAttribute(p, "unix:mode", mode & 0777 & ~022, NOFOLLOW);
                }
                return stream(path, ch);
            } catch (IOException e) {
                if (Files.isSymbolicLink(p)) {
                    throw new ErrnoException(Errno.ELOOP, path + ": is a symbolic link; not writing through it", e);
                }
                throw error(path, e);
            }
        }

        private static FsTree.Stream stream(String path, FileChannel ch) {
            return new FsTree.Stream() {
                @Override
                public int read(ByteBuffer dst) throws ErrnoException {
                    try {
                        return Math.max(0, ch.read(dst));
                    } catch (IOException e) {
                        throw error(path, e);
                    }
                }

                @Override
                public void write(ByteBuffer src) throws ErrnoException {
                    try {
                        while (src.hasRemaining()) {
                            ch.write(src);
                        }
                    } catch (IOException e) {
                        throw error(path, e);
                    }
                }

                @Override
                public void close() throws ErrnoException {
                    try {
                        ch.close();
                    } catch (IOException e) {
                        throw error(path, e);
                    }
                }
            };
        }

        @Override
        public void mkdir(String path, int mode) throws ErrnoException {
            Path p = writable(path);
            try {
                Files.createDirectory(p);
                Files.setAttribute(p, "unix:mode", mode & 07777, NOFOLLOW);
            } catch (IOException e) {
                throw error(path, e);
            }
        }

        @Override
        public void symlink(String target, String path) throws ErrnoException {
            Path p = writable(path);
            try {
                if (Files.exists(p, NOFOLLOW) && !Files.isDirectory(p, NOFOLLOW)) {
                    Files.delete(p);
                }
                Files.createSymbolicLink(p, Path.of(target));
            } catch (IOException | java.nio.file.InvalidPathException e) {
                throw e instanceof IOException io ? error(path, io) : new ErrnoException(Errno.EINVAL, path, e);
            }
        }

        /**
         * Every attribute of the file itself, in every namespace the caller may read (trusted.* as
         * root only), through libc on Linux; elsewhere user.* through the JDK. ACLs come as the
         * kernel's {@code system.posix_acl_*} values, the same version-2 form an image's VFS takes.
         */
        @Override
        public Map<String, byte[]> xattrs(String path) throws ErrnoException {
            return NATIVE_XATTRS ? nativeXattrs(path) : jdkXattrs(path);
        }

        private static Map<String, byte[]> nativeXattrs(String path) throws ErrnoException {
            Path p = Path.of(path);
            Map<String, byte[]> out = new java.util.LinkedHashMap<>();
            List<String> names;
            try {
                names = LinuxXattrs.list(p);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.EOPNOTSUPP) {
                    return out; // a host filesystem without xattrs
                }
                throw new ErrnoException(e.errno(), path + ": listing extended attributes", e);
            }
            for (String name : names) {
                try {
                    out.put(name, LinuxXattrs.get(p, name));
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.ENODATA) { // ENODATA: removed since the listing
                        throw new ErrnoException(e.errno(), path + ": reading " + name, e);
                    }
                }
            }
            return out;
        }

        private static Map<String, byte[]> jdkXattrs(String path) throws ErrnoException {
            Path p = Path.of(path);
            if (Files.isSymbolicLink(p)) {
                return Map.of(); // the JDK reads a link's target's attributes; user.* is not kept on links anyway
            }
            java.nio.file.attribute.UserDefinedFileAttributeView v =
                    Files.getFileAttributeView(p, java.nio.file.attribute.UserDefinedFileAttributeView.class, NOFOLLOW);
            Map<String, byte[]> out = new java.util.LinkedHashMap<>();
            try {
                if (v == null) {
                    return out;
                }
                for (String name : v.list()) {
                    ByteBuffer b = ByteBuffer.allocate(v.size(name));
                    v.read(name, b);
                    out.put("user." + name, b.array());
                }
            } catch (UnsupportedOperationException e) {
                return Map.of();
            } catch (IOException e) {
                ErrnoException ee = error(path, e);
                if (ee.errno() == Errno.EOPNOTSUPP) {
                    return Map.of(); // a host filesystem without user xattrs
                }
                throw ee;
            }
            return out;
        }

        /**
         * Sets one attribute of the file itself, any namespace, through libc on Linux: the kernel
         * answers EPERM where the caller may not (trusted.* and security.* without root, user.* on a
         * symlink) and EOPNOTSUPP where the filesystem keeps none. Without libc, user.* through the
         * JDK and EOPNOTSUPP for the rest.
         */
        @Override
        public void setXattr(String path, String name, byte[] value) throws ErrnoException {
            Path p = writable(path);
            if (NATIVE_XATTRS) {
                try {
                    LinuxXattrs.set(p, name, value, 0);
                } catch (ErrnoException e) {
                    throw new ErrnoException(e.errno(), path, e);
                }
                return;
            }
            if (!name.startsWith("user.") || Files.isSymbolicLink(p)) {
                throw new ErrnoException(Errno.EOPNOTSUPP, path + ": " + name + " cannot be set on the host without libc");
            }
            java.nio.file.attribute.UserDefinedFileAttributeView v =
                    Files.getFileAttributeView(p, java.nio.file.attribute.UserDefinedFileAttributeView.class, NOFOLLOW);
            if (v == null) {
                throw new ErrnoException(Errno.EOPNOTSUPP, path + ": user xattrs");
            }
            try {
                v.write(name.substring("user.".length()), ByteBuffer.wrap(value));
            } catch (IOException e) {
                throw error(path, e);
            }
        }

        @Override
        public void chmod(String path, int mode) throws ErrnoException {
            Path p = writable(path);
            try {
                Files.setAttribute(p, "unix:mode", mode & 07777, NOFOLLOW);
            } catch (IOException e) {
                throw error(path, e);
            }
        }

        @Override
        public void chown(String path, long uid, long gid) throws ErrnoException {
            if (!setOwners) {
                return;
            }
            Path p = writable(path);
            try {
                Files.setAttribute(p, "unix:uid", (int) uid, NOFOLLOW);
                Files.setAttribute(p, "unix:gid", (int) gid, NOFOLLOW);
            } catch (IOException e) {
                throw error(path, e);
            }
        }

        @Override
        public void setTimes(String path, long atimeNanos, long mtimeNanos) throws ErrnoException {
            Path p = writable(path);
            try {
                Files.getFileAttributeView(p, BasicFileAttributeView.class, NOFOLLOW).setTimes(
                        FileTime.from(mtimeNanos, TimeUnit.NANOSECONDS), FileTime.from(atimeNanos, TimeUnit.NANOSECONDS),
                        null);
            } catch (IOException e) {
                throw error(path, e);
            }
        }

        @Override
        public String child(String dir, String name) {
            return Path.of(dir).resolve(name).toString();
        }

        @Override
        public String display(String path) {
            return path;
        }

        @Override
        public boolean sameTree(FsTree other) {
            return other instanceof Host;
        }
    }
}
