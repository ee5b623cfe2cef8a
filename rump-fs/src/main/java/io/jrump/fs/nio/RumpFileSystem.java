package io.jrump.fs.nio;

import static io.jrump.kernel.sys.OpenFlags.O_APPEND;
import static io.jrump.kernel.sys.OpenFlags.O_CREAT;
import static io.jrump.kernel.sys.OpenFlags.O_EXCL;
import static io.jrump.kernel.sys.OpenFlags.O_NOFOLLOW;
import static io.jrump.kernel.sys.OpenFlags.O_RDONLY;
import static io.jrump.kernel.sys.OpenFlags.O_RDWR;
import static io.jrump.kernel.sys.OpenFlags.O_TRUNC;
import static io.jrump.kernel.sys.OpenFlags.O_WRONLY;

import io.jrump.fs.VfsComponent;
import io.jrump.fs.vfs.Vfs;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.Hypercalls;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import io.jrump.kernel.RumpKernel;
import io.jrump.kernel.sys.StatVfs;
import io.jrump.kernel.sys.Syscalls;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AccessMode;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.WatchService;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.spi.FileSystemProvider;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.regex.Pattern;

/**
 * The filesystem of one disk image, mounted at "/" of a kernel of its own (blk and vfs) and used
 * through its system calls ({@link Syscalls}). Every operation runs
 * as root with umask 022 and ends in VFS calls whose errno {@link Errors} turns into the
 * standard exception. {@link #close} unmounts (writing everything back), closes the image and
 * the host if this filesystem made it; afterwards every operation throws
 * {@link ClosedFileSystemException}.
 *
 * <p>Thread-safe: operations share a read lock, {@code close} takes the write lock (lock order:
 * a channel's monitor, then this lock; {@code close} holds no lock while it closes channels).
 * Operations block on the image's I/O.
 */
public final class RumpFileSystem extends FileSystem {
    static final Set<String> VIEWS = Set.of("basic", "posix", "owner", "unix");
    private static final AtomicLong DEVICES = new AtomicLong();
    private static final int COPY_CHUNK = 64 << 10;

    /** A VFS call; its ErrnoException is translated by {@link #call}. */
    @FunctionalInterface
    interface VfsCall<T> {
        T call(Syscalls sys) throws ErrnoException;
    }

    private final RumpFileSystemProvider provider;
    private final Path image;
    private final RumpKernel kernel;
    private final Syscalls sys;
    private final boolean readOnly;
    private final String type;
    /** Stands in for st_dev, which the VFS does not report: unique per open filesystem. */
    private final long dev = DEVICES.incrementAndGet();
    private final RumpPath root = new RumpPath(this, "/");
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile boolean open = true;
    private final Set<RumpFileChannel> channels = ConcurrentHashMap.newKeySet();

    RumpFileSystem(RumpFileSystemProvider provider, Path image, RumpKernel kernel, boolean readOnly) throws ErrnoException {
        this.provider = provider;
        this.image = image;
        this.kernel = kernel;
        this.sys = kernel.sys();
        List<String> mounts = sys.mountPoints();
        this.type = mounts.isEmpty() ? "unknown" : mounts.get(0).split(" ")[1];
        // A filesystem that is read-only whatever was asked (iso9660) is mounted "ro": say so.
        this.readOnly = readOnly || (!mounts.isEmpty() && mounts.get(0).endsWith(" ro"));
    }

    /** The image file, as a real path of the default filesystem. */
    Path image() {
        return image;
    }

    String type() {
        return type;
    }

    String imageUri() {
        return "file://" + image.toUri().getPath();
    }

    void forget(RumpFileChannel ch) {
        channels.remove(ch);
    }

    /** Runs a VFS call under the read lock, naming {@code file} (and {@code other}) in any exception. */
    <T> T call(Object file, Object other, VfsCall<T> c) throws IOException {
        lock.readLock().lock();
        try {
            if (!open) {
                throw new ClosedFileSystemException();
            }
            return c.call(sys);
        } catch (ErrnoException e) {
            throw Errors.translate(e, String.valueOf(file), other == null ? null : other.toString());
        } finally {
            lock.readLock().unlock();
        }
    }

    private void ensureOpen() {
        if (!open) {
            throw new ClosedFileSystemException();
        }
    }

    // ---- FileSystem --------------------------------------------------------------------------------

    @Override
    public FileSystemProvider provider() {
        return provider;
    }

    /**
     * Closes the open channels (removing {@code DELETE_ON_CLOSE} files), unmounts, closes the image
     * and the host if this filesystem made it. Idempotent.
     */
    @Override
    public void close() throws IOException {
        if (!open) {
            return;
        }
        IOException failure = null;
        for (RumpFileChannel ch : channels) {
            try {
                ch.close();
            } catch (IOException e) {
                failure = failure == null ? e : failure;
            }
        }
        lock.writeLock().lock();
        try {
            if (!open) {
                return;
            }
            open = false;
        } finally {
            lock.writeLock().unlock();
        }
        provider.removed(this);
        try {
            // Unmounted here, not only by the kernel's shutdown, so that data lost on the way fails this close.
            kernel.component(VfsComponent.class).orElseThrow().vfs().close(); // and any descriptor opened meanwhile
        } catch (ErrnoException e) {
            failure = Errors.translate(e, image.toString(), null);
        } finally {
            kernel.close(); // and the host, unless the env gave it
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public String getSeparator() {
        return "/";
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        ensureOpen();
        return List.of(root);
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        ensureOpen();
        return List.of(new RumpFileStore(this));
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return VIEWS;
    }

    @Override
    public RumpPath getPath(String first, String... more) {
        StringBuilder b = new StringBuilder(first);
        for (String m : more) {
            if (!m.isEmpty()) {
                if (b.length() > 0) {
                    b.append('/');
                }
                b.append(m);
            }
        }
        return new RumpPath(this, b.toString());
    }

    /** {@code glob:} and {@code regex:} patterns, matched against the whole path string. */
    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        int colon = syntaxAndPattern.indexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("'" + syntaxAndPattern + "' is not syntax:pattern");
        }
        String syntax = syntaxAndPattern.substring(0, colon);
        String pattern = syntaxAndPattern.substring(colon + 1);
        Pattern regex = switch (syntax.toLowerCase(java.util.Locale.ROOT)) {
            case "glob" -> Pattern.compile(Globs.toRegex(pattern));
            case "regex" -> Pattern.compile(pattern);
            default -> throw new UnsupportedOperationException("syntax '" + syntax + "' not recognized");
        };
        return path -> regex.matcher(path.toString()).matches();
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        return RumpPrincipal.LOOKUP;
    }

    @Override
    public WatchService newWatchService() {
        throw new UnsupportedOperationException("rump filesystems have no watch service");
    }

    @Override
    public String toString() {
        return image.toString();
    }

    // ---- attributes --------------------------------------------------------------------------------

    private Attributes stat(RumpPath p, boolean follow) throws IOException {
        return call(p, null, v -> follow ? v.stat(p.vfsPath()) : v.lstat(p.vfsPath()));
    }

    Attributes lstat(RumpPath p) throws IOException {
        return stat(p, false);
    }

    /** lstat, or null if nothing has that name. */
    private Attributes lstatIfExists(RumpPath p) throws IOException {
        return call(p, null, v -> {
            try {
                return v.lstat(p.vfsPath());
            } catch (ErrnoException e) {
                if (e.errno() == Errno.ENOENT) {
                    return null;
                }
                throw e;
            }
        });
    }

    RumpFileAttributes attributes(RumpPath p, boolean follow) throws IOException {
        return new RumpFileAttributes(stat(p, follow), dev);
    }

    StatVfs statvfs() throws IOException {
        return call(image, null, v -> v.statvfs("/"));
    }

    void setTimes(RumpPath p, FileTime mtime, FileTime atime, boolean follow) throws IOException {
        if (mtime == null && atime == null) {
            return;
        }
        long m = nanos(mtime);
        long a = nanos(atime);
        call(p, null, v -> {
            v.utimensat(p.vfsPath(), a, m, !follow);
            return null;
        });
    }

    private static long nanos(FileTime t) {
        if (t == null) {
            return OpenFlags.UTIME_OMIT;
        }
        long n = t.to(TimeUnit.NANOSECONDS);
        return Math.max(Long.MIN_VALUE + 1, Math.min(Long.MAX_VALUE - 1, n));
    }

    void chmod(RumpPath p, int mode) throws IOException {
        call(p, null, v -> {
            v.chmod(p.vfsPath(), mode);
            return null;
        });
    }

    void chown(RumpPath p, long uid, long gid, boolean follow) throws IOException {
        call(p, null, v -> {
            if (follow) {
                v.chown(p.vfsPath(), uid, gid);
            } else {
                v.lchown(p.vfsPath(), uid, gid);
            }
            return null;
        });
    }

    /** {@code readAttributes(path, "view:a,b")}: view basic if none is named; {@code *} for all. */
    Map<String, Object> readAttributes(RumpPath p, String attributes, boolean follow) throws IOException {
        int colon = attributes.indexOf(':');
        String view = colon < 0 ? "basic" : attributes.substring(0, colon);
        String names = colon < 0 ? attributes : attributes.substring(colon + 1);
        if (!VIEWS.contains(view)) {
            throw new UnsupportedOperationException("view '" + view + "' is not supported");
        }
        Map<String, Object> all = attributes(p, follow).asMap(view);
        Map<String, Object> out = new LinkedHashMap<>();
        for (String n : names.split(",")) {
            if (n.equals("*")) {
                out.putAll(all);
            } else if (all.containsKey(n)) {
                out.put(n, all.get(n));
            } else {
                throw new IllegalArgumentException("'" + view + ":" + n + "' not recognized");
            }
        }
        return out;
    }

    void setAttribute(RumpPath p, String attribute, Object value, boolean follow) throws IOException {
        int colon = attribute.indexOf(':');
        String view = colon < 0 ? "basic" : attribute.substring(0, colon);
        String name = colon < 0 ? attribute : attribute.substring(colon + 1);
        if (!VIEWS.contains(view)) {
            throw new UnsupportedOperationException("view '" + view + "' is not supported");
        }
        boolean posix = view.equals("posix") || view.equals("unix");
        boolean basic = posix || view.equals("basic");
        if (basic && name.equals("lastModifiedTime")) {
            setTimes(p, (FileTime) value, null, follow);
        } else if (basic && name.equals("lastAccessTime")) {
            setTimes(p, null, (FileTime) value, follow);
        } else if (basic && name.equals("creationTime")) {
            return; // ext has a creation time, but the VFS does not set it; the JDK ignores it likewise on Linux
        } else if (posix && name.equals("permissions")) {
            chmod(p, RumpFileAttributes.mode((Set<?>) value));
        } else if ((posix || view.equals("owner")) && name.equals("owner")) {
            chown(p, RumpPrincipal.idOf((UserPrincipal) value), -1, follow);
        } else if (posix && name.equals("group")) {
            chown(p, -1, RumpPrincipal.idOf((GroupPrincipal) value), follow);
        } else if (view.equals("unix") && name.equals("mode")) {
            chmod(p, (Integer) value);
        } else if (view.equals("unix") && name.equals("uid")) {
            chown(p, ((Number) value).longValue(), -1, follow);
        } else if (view.equals("unix") && name.equals("gid")) {
            chown(p, -1, ((Number) value).longValue(), follow);
        } else {
            throw new IllegalArgumentException("'" + view + ":" + name + "' not recognized");
        }
    }

    // ---- files and directories ---------------------------------------------------------------------

    /** The real path: symbolic links followed one name at a time, {@code .} and {@code ..} removed. */
    RumpPath realPath(RumpPath p) throws IOException {
        Deque<String> todo = new ArrayDeque<>();
        for (Path n : p.toAbsolutePath()) {
            todo.add(n.toString());
        }
        List<String> done = new ArrayList<>();
        int links = 0;
        while (!todo.isEmpty()) {
            String n = todo.pollFirst();
            if (n.isEmpty() || n.equals(".")) {
                continue;
            }
            if (n.equals("..")) {
                if (!done.isEmpty()) {
                    done.remove(done.size() - 1);
                }
                continue;
            }
            done.add(n);
            String cur = "/" + String.join("/", done);
            Attributes a = call(p, null, v -> v.lstat(cur));
            if (a.isSymlink()) {
                if (++links > Vfs.MAX_SYMLINKS) {
                    throw new FileSystemLoopException(p.toString());
                }
                String target = call(p, null, v -> v.readlink(cur));
                done.remove(done.size() - 1);
                if (target.startsWith("/")) {
                    done.clear();
                }
                List<String> names = Arrays.asList(target.split("/"));
                for (int i = names.size() - 1; i >= 0; i--) {
                    todo.addFirst(names.get(i));
                }
            }
        }
        return new RumpPath(this, "/" + String.join("/", done));
    }

    /** The mode for a new file from a {@code posix:permissions} attribute, else {@code dflt}. */
    private static int creationMode(FileAttribute<?>[] attrs, int dflt) {
        int mode = dflt;
        for (FileAttribute<?> a : attrs) {
            if (a.name().equals("posix:permissions") || a.name().equals("unix:permissions")) {
                mode = RumpFileAttributes.mode((Set<?>) a.value());
            } else {
                throw new UnsupportedOperationException("'" + a.name() + "' not supported as initial attribute");
            }
        }
        return mode;
    }

    FileChannel newByteChannel(RumpPath p, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        boolean read = false;
        boolean write = false;
        boolean append = false;
        boolean create = false;
        boolean createNew = false;
        boolean truncate = false;
        boolean sync = false;
        boolean nofollow = false;
        boolean deleteOnClose = false;
        for (OpenOption o : options) {
            if (o == StandardOpenOption.READ) {
                read = true;
            } else if (o == StandardOpenOption.WRITE) {
                write = true;
            } else if (o == StandardOpenOption.APPEND) {
                append = true;
            } else if (o == StandardOpenOption.CREATE) {
                create = true;
            } else if (o == StandardOpenOption.CREATE_NEW) {
                createNew = true;
            } else if (o == StandardOpenOption.TRUNCATE_EXISTING) {
                truncate = true;
            } else if (o == StandardOpenOption.SYNC || o == StandardOpenOption.DSYNC) {
                sync = true;
            } else if (o == StandardOpenOption.DELETE_ON_CLOSE) {
                deleteOnClose = true;
            } else if (o == LinkOption.NOFOLLOW_LINKS) {
                nofollow = true;
            } else if (o == StandardOpenOption.SPARSE) {
                continue; // files are always sparse
            } else if (o == null) {
                throw new NullPointerException("null open option");
            } else {
                throw new UnsupportedOperationException(o + " is not supported");
            }
        }
        write |= append;
        if (read && append) {
            throw new IllegalArgumentException("READ + APPEND not allowed");
        }
        if (append && truncate) {
            throw new IllegalArgumentException("APPEND + TRUNCATE_EXISTING not allowed");
        }
        int flags = write ? (read ? O_RDWR : O_WRONLY) : O_RDONLY;
        if (write) {
            flags |= createNew ? O_CREAT | O_EXCL : create ? O_CREAT : 0;
            flags |= truncate ? O_TRUNC : 0;
            flags |= append ? O_APPEND : 0;
        }
        flags |= nofollow ? O_NOFOLLOW : 0;
        int mode = creationMode(attrs, 0666);
        int f = flags;
        int fd = call(p, null, v -> v.open(p.vfsPath(), f, mode));
        RumpFileChannel ch = new RumpFileChannel(this, p, fd, flags, sync, deleteOnClose);
        channels.add(ch);
        return ch;
    }

    DirectoryStream<Path> newDirectoryStream(RumpPath dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        List<DirEntry> entries = call(dir, null, v -> v.readdir(dir.vfsPath()));
        return new RumpDirectoryStream(dir, entries, filter);
    }

    void createDirectory(RumpPath dir, FileAttribute<?>... attrs) throws IOException {
        int mode = creationMode(attrs, 0777);
        call(dir, null, v -> {
            v.mkdir(dir.vfsPath(), mode);
            return null;
        });
    }

    void createSymbolicLink(RumpPath link, RumpPath target, FileAttribute<?>... attrs) throws IOException {
        if (attrs.length > 0) {
            throw new UnsupportedOperationException("'" + attrs[0].name() + "' not supported as initial attribute");
        }
        call(link, null, v -> {
            v.symlink(target.string(), link.vfsPath());
            return null;
        });
    }

    void createLink(RumpPath link, RumpPath existing) throws IOException {
        call(link, existing, v -> {
            v.link(existing.vfsPath(), link.vfsPath());
            return null;
        });
    }

    void delete(RumpPath p) throws IOException {
        delete(p, lstat(p));
    }

    private void delete(RumpPath p, Attributes a) throws IOException {
        try {
            call(p, null, v -> {
                if (a.isDirectory()) {
                    v.rmdir(p.vfsPath());
                } else {
                    v.unlink(p.vfsPath());
                }
                return null;
            });
        } catch (FileAlreadyExistsException e) {
            throw new DirectoryNotEmptyException(p.toString());
        }
    }

    RumpPath readSymbolicLink(RumpPath link) throws IOException {
        lock.readLock().lock();
        try {
            ensureOpen();
            return new RumpPath(this, sys.readlink(link.vfsPath()));
        } catch (ErrnoException e) {
            throw Errors.translateReadlink(e, link.toString());
        } finally {
            lock.readLock().unlock();
        }
    }

    boolean isSameFile(RumpPath a, RumpPath b) throws IOException {
        return a.equals(b) || stat(a, true).ino() == stat(b, true).ino();
    }

    void checkAccess(RumpPath p, AccessMode... modes) throws IOException {
        int mode = OpenFlags.F_OK;
        for (AccessMode m : modes) {
            mode |= switch (m) {
                case READ -> OpenFlags.R_OK;
                case WRITE -> OpenFlags.W_OK;
                case EXECUTE -> OpenFlags.X_OK;
            };
        }
        if (readOnly && (mode & OpenFlags.W_OK) != 0) {
            stat(p, true);
            throw new AccessDeniedException(p.toString(), null, "read-only file system");
        }
        int m = mode;
        call(p, null, v -> {
            v.access(p.vfsPath(), m);
            return null;
        });
    }

    /** What a copy or move of {@code source} onto an existing {@code target} must do first; false if nothing more. */
    private boolean clearTarget(RumpPath source, Attributes sa, RumpPath target, boolean replace) throws IOException {
        Attributes ta = lstatIfExists(target);
        if (ta == null) {
            return true;
        }
        if (ta.ino() == sa.ino()) {
            return false;
        }
        if (!replace) {
            throw new FileAlreadyExistsException(target.toString());
        }
        delete(target, ta);
        return true;
    }

    void copy(RumpPath source, RumpPath target, CopyOption... options) throws IOException {
        boolean replace = false;
        boolean copyAttributes = false;
        boolean follow = true;
        for (CopyOption o : options) {
            if (o == StandardCopyOption.REPLACE_EXISTING) {
                replace = true;
            } else if (o == StandardCopyOption.COPY_ATTRIBUTES) {
                copyAttributes = true;
            } else if (o == LinkOption.NOFOLLOW_LINKS) {
                follow = false;
            } else if (o == null) {
                throw new NullPointerException("null copy option");
            } else {
                throw new UnsupportedOperationException("Unsupported copy option: " + o);
            }
        }
        Attributes sa = stat(source, follow);
        if (!clearTarget(source, sa, target, replace)) {
            return;
        }
        if (sa.isDirectory()) {
            call(target, null, v -> {
                v.mkdir(target.vfsPath(), sa.permissions());
                return null;
            });
        } else if (sa.isSymlink()) {
            String link = call(source, null, v -> v.readlink(source.vfsPath()));
            call(target, null, v -> {
                v.symlink(link, target.vfsPath());
                return null;
            });
        } else if (sa.isRegular()) {
            copyData(source, target, sa.permissions());
        } else {
            throw new FileSystemException(source.toString(), target.toString(), "copying special files is not supported");
        }
        if (copyAttributes) {
            call(target, null, v -> {
                if (!sa.isSymlink()) {
                    v.chmod(target.vfsPath(), sa.permissions());
                }
                v.lchown(target.vfsPath(), sa.uid(), sa.gid());
                v.utimensat(target.vfsPath(), sa.atimeNanos(), sa.mtimeNanos(), true);
                return null;
            });
        }
    }

    private void copyData(RumpPath source, RumpPath target, int mode) throws IOException {
        int in = call(source, null, v -> v.open(source.vfsPath(), O_RDONLY, 0));
        try {
            int out = call(target, null, v -> v.open(target.vfsPath(), O_WRONLY | O_CREAT | O_EXCL, mode));
            boolean done = false;
            try {
                ByteBuffer buf = ByteBuffer.allocate(COPY_CHUNK);
                while (true) {
                    buf.clear();
                    int n = call(source, null, v -> v.read(in, buf));
                    if (n <= 0) {
                        break;
                    }
                    buf.flip();
                    call(target, null, v -> {
                        while (buf.hasRemaining()) {
                            v.write(out, buf);
                        }
                        return null;
                    });
                }
                done = true;
            } finally {
                call(target, null, v -> {
                    v.close(out);
                    return null;
                });
                if (!done) {
                    call(target, null, v -> {
                        v.unlink(target.vfsPath());
                        return null;
                    });
                }
            }
        } finally {
            call(source, null, v -> {
                v.close(in);
                return null;
            });
        }
    }

    void move(RumpPath source, RumpPath target, CopyOption... options) throws IOException {
        boolean replace = false;
        boolean atomic = false;
        for (CopyOption o : options) {
            if (o == StandardCopyOption.REPLACE_EXISTING) {
                replace = true;
            } else if (o == StandardCopyOption.ATOMIC_MOVE) {
                atomic = true;
            } else if (o == StandardCopyOption.COPY_ATTRIBUTES || o == LinkOption.NOFOLLOW_LINKS) {
                continue; // a rename keeps the inode and does not follow links anyway
            } else if (o == null) {
                throw new NullPointerException("null copy option");
            } else {
                throw new UnsupportedOperationException("Unsupported copy option: " + o);
            }
        }
        if (!atomic && !clearTarget(source, lstat(source), target, replace)) {
            return;
        }
        call(source, target, v -> {
            v.rename(source.vfsPath(), target.vfsPath());
            return null;
        });
    }
}
