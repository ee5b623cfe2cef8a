package io.jrump.fs.vfs;

import static io.jrump.kernel.sys.OpenFlags.O_APPEND;
import static io.jrump.kernel.sys.OpenFlags.O_CREAT;
import static io.jrump.kernel.sys.OpenFlags.O_DIRECTORY;
import static io.jrump.kernel.sys.OpenFlags.O_EXCL;
import static io.jrump.kernel.sys.OpenFlags.O_NOFOLLOW;
import static io.jrump.kernel.sys.OpenFlags.O_TRUNC;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.Credentials;
import io.jrump.kernel.sys.DescriptorTable;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.FileCalls;
import io.jrump.kernel.sys.OpenFlags;
import io.jrump.kernel.sys.StatVfs;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The virtual filesystem: a mount table, path lookup, a file-descriptor table and the POSIX file
 * syscalls with Linux's names, arguments and errno values. One {@code Vfs} is like one process
 * on a kernel: it has a current directory, a umask and credentials; filesystems are mounted into
 * its tree with {@link #mount}.
 *
 * <p>Path lookup ({@code namei}) takes absolute and relative paths, {@code .} and {@code ..}
 * (which leave a mounted filesystem at its root, as on Linux), crosses mount points, follows
 * symbolic links — {@code ELOOP} after 40 — and refuses names over 255 bytes and paths over 4095.
 * Permissions are checked against the credentials (root passes all but execute); a read-only
 * mount answers {@code EROFS} to every change.
 *
 * <p>Thread-safe: the tables are guarded by the VFS, each descriptor's offset by the descriptor,
 * and each filesystem by itself. Concurrent {@code O_APPEND} writers through different
 * descriptors are not atomic against each other.
 */
public final class Vfs implements FileCalls, DescriptorTable.Owner, AutoCloseable {
    public static final int MAX_SYMLINKS = 40;
    public static final int PATH_MAX = 4096;
    public static final int NAME_MAX = 255;

    /** A mounted filesystem: where it sits (null parent for the root) and how. */
    private static final class Mount {
        final FileSystemOps fs;
        final String path;
        final Mount parent;
        final long coveredIno;
        final boolean readOnly;

        Mount(FileSystemOps fs, String path, Mount parent, long coveredIno, boolean readOnly) {
            this.fs = fs;
            this.path = path;
            this.parent = parent;
            this.coveredIno = coveredIno;
            this.readOnly = readOnly;
        }
    }

    /** A vnode: an inode of one mounted filesystem. */
    private record Node(Mount mount, long ino) {
        FileSystemOps fs() {
            return mount.fs;
        }
    }

    /** An open file: its vnode, flags and offset; the offset is guarded by the descriptor itself. */
    private static final class OpenFile {
        final Node node;
        final int flags;
        long offset;
        List<DirEntry> listing;

        OpenFile(Node node, int flags) {
            this.node = node;
            this.flags = flags;
        }
    }

    private record Key(Mount mount, long ino) {
    }

    private final LongSupplier wallNanos;
    private final DescriptorTable table;
    private final List<Mount> mounts = new ArrayList<>();
    private final Map<Key, Integer> openCounts = new HashMap<>();
    private Mount root;
    private volatile Node cwd;
    private volatile int umask = 022;
    private volatile Credentials credentials = Credentials.ROOT;

    /**
     * @param wallNanos the wall clock for {@code UTIME_NOW}, from the host
     * @param descriptors the table its descriptors go in: a kernel's, shared with its sockets
     */
    public Vfs(LongSupplier wallNanos, DescriptorTable descriptors) {
        this.wallNanos = wallNanos;
        this.table = descriptors;
    }

    /** A VFS with a table of its own, {@code EMFILE} past {@code maxOpenFiles} descriptors. */
    public Vfs(LongSupplier wallNanos, int maxOpenFiles) {
        this(wallNanos, new DescriptorTable(maxOpenFiles));
    }

    public Vfs(LongSupplier wallNanos) {
        this(wallNanos, 1024);
    }

    @Override
    public String kind() {
        return "file";
    }

    @Override
    public void setCredentials(Credentials c) {
        this.credentials = c;
    }

    /** Sets the umask; returns the old one, as umask(2) does. */
    public int umask(int mask) {
        int old = umask;
        umask = mask & 0777;
        return old;
    }

    // ---- mounts ----------------------------------------------------------------------------------

    /**
     * Mounts {@code fs} at {@code path}: "/" first, then on existing directories. {@code EBUSY} if
     * something is mounted there already; a filesystem that is itself read-only mounts read-only.
     */
    public synchronized void mount(String path, FileSystemOps fs, boolean readOnly) throws ErrnoException {
        boolean ro = readOnly || fs.isReadOnly();
        Node at = mountPoint(path);
        if (at == null) {
            root = new Mount(fs, "/", null, 0, ro);
            mounts.add(root);
            cwd = new Node(root, fs.rootInode());
            return;
        }
        mounts.add(new Mount(fs, canonical(path), at.mount(), at.ino(), ro));
    }

    /**
     * Checks that a filesystem could be mounted at {@code path} now, with the errors
     * {@link #mount(String, FileSystemOps, boolean)} would give: for a caller that should not open
     * a device (and perhaps replay its journal) only to be told the mount point is busy.
     */
    public synchronized void checkMountPoint(String path) throws ErrnoException {
        mountPoint(path);
    }

    /** The node a mount at {@code path} covers; null for the first mount, of "/". */
    private Node mountPoint(String path) throws ErrnoException {
        if (root == null) {
            if (!path.equals("/")) {
                throw new ErrnoException(Errno.ENOENT, path + ": mount \"/\" first");
            }
            return null;
        }
        Node at = resolve(path, true);
        if (!getattr(at).isDirectory()) {
            throw new ErrnoException(Errno.ENOTDIR, path);
        }
        if (at.ino() == at.fs().rootInode()) {
            throw new ErrnoException(Errno.EBUSY, path + ": something is mounted there already");
        }
        return at;
    }

    /**
     * Mounts the filesystem on {@code dev} at {@code path}, as mount(2) with a type: {@code type}
     * names a {@link FileSystemType} ({@code "ext4"}, an alias, or {@code "auto"} for whichever
     * recognizes the device). The filesystem is mounted read-only if {@code options} say so.
     *
     * @throws ErrnoException {@code ENODEV} for an unknown type, {@code EINVAL} if no type
     *     recognizes the device under "auto", what the type's mount says of a device that is not
     *     its kind; as {@link #mount(String, FileSystemOps, boolean)}
     */
    public void mount(String path, String type, BlockDevice dev, FileSystemType.Options options) throws ErrnoException {
        FileSystemType t;
        try {
            t = type.equals("auto") ? FileSystemTypes.identify(dev).type() : FileSystemTypes.byName(type);
            checkMountPoint(path); // before the type's mount, which may replay a journal
        } catch (ErrnoException | RuntimeException e) {
            options.closeOwned(e);
            throw e;
        }
        mountOrClose(path, t.mount(dev, options), options.readOnly());
    }

    /** As {@link #mount(String, FileSystemOps, boolean)}, but a filesystem that cannot be mounted is closed. */
    public void mountOrClose(String path, FileSystemOps fs, boolean readOnly) throws ErrnoException {
        try {
            mount(path, fs, readOnly);
        } catch (ErrnoException | RuntimeException e) {
            try {
                fs.close();
            } catch (ErrnoException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
    }

    /** Unmounts the filesystem mounted at {@code path}; {@code EBUSY} while files are open on it or below it. */
    public synchronized void unmount(String path) throws ErrnoException {
        Node at = resolve(path, true);
        Mount m = at.mount();
        if (at.ino() != m.fs.rootInode()) {
            throw new ErrnoException(Errno.EINVAL, path + ": not a mount point");
        }
        for (Mount other : mounts) {
            if (other.parent == m) {
                throw new ErrnoException(Errno.EBUSY, path + ": " + other.path + " is mounted below it");
            }
        }
        for (Object o : table.files(this)) {
            if (((OpenFile) o).node.mount() == m) {
                throw new ErrnoException(Errno.EBUSY, path + ": files are open on it");
            }
        }
        if (cwd.mount() == m && m != root) {
            throw new ErrnoException(Errno.EBUSY, path + ": it is the current directory");
        }
        m.fs.close();
        mounts.remove(m);
        if (m == root) {
            root = null;
        }
    }

    /** The filesystem mounted exactly at {@code path}; {@code EINVAL} if {@code path} is no mount point. */
    public synchronized FileSystemOps mounted(String path) throws ErrnoException {
        String p = canonical(path);
        for (Mount m : mounts) {
            if (m.path.equals(p)) {
                return m.fs;
            }
        }
        throw new ErrnoException(Errno.EINVAL, path + ": not a mount point");
    }

    /** Where each filesystem is mounted, root first. */
    public synchronized List<String> mountPoints() {
        List<String> out = new ArrayList<>();
        for (Mount m : mounts) {
            out.add(m.path + " " + m.fs.type() + (m.readOnly ? " ro" : " rw"));
        }
        return out;
    }

    /** Closes every descriptor and unmounts everything, children first. */
    @Override
    public synchronized void close() throws ErrnoException {
        ErrnoException first = null;
        for (int fd : table.descriptors(this)) {
            try {
                close(fd);
            } catch (ErrnoException e) {
                first = first == null ? e : first;
            }
        }
        for (int i = mounts.size() - 1; i >= 0; i--) {
            try {
                mounts.get(i).fs.close();
            } catch (ErrnoException e) {
                first = first == null ? e : first;
            }
        }
        mounts.clear();
        root = null;
        if (first != null) {
            throw first;
        }
    }

    private static String canonical(String path) {
        StringBuilder b = new StringBuilder();
        for (String p : path.split("/")) {
            if (!p.isEmpty() && !isDot(p)) {
                b.append('/').append(p);
            }
        }
        return b.length() == 0 ? "/" : b.toString();
    }

    // ---- namei -------------------------------------------------------------------------------------

    private synchronized Mount mountOn(Mount parent, long ino) {
        for (Mount m : mounts) {
            if (m.parent == parent && m.coveredIno == ino) {
                return m;
            }
        }
        return null;
    }

    private Mount rootMount() throws ErrnoException {
        Mount r = root;
        if (r == null) {
            throw new ErrnoException(Errno.ENOENT, "nothing is mounted");
        }
        return r;
    }

    private static void checkPath(String path) throws ErrnoException {
        if (path == null || path.isEmpty()) {
            throw new ErrnoException(Errno.ENOENT, "empty path");
        }
        if (path.length() >= PATH_MAX) {
            throw new ErrnoException(Errno.ENAMETOOLONG, "path of " + path.length() + " bytes");
        }
        if (path.indexOf('\0') >= 0) {
            throw new ErrnoException(Errno.EINVAL, "path contains NUL");
        }
    }

    private Attributes getattr(Node n) throws ErrnoException {
        return n.fs().getattr(n.ino());
    }

    /** The node a path names; the last component's symlink followed if {@code follow}. */
    private Node resolve(String path, boolean follow) throws ErrnoException {
        checkPath(path);
        Mount r = rootMount();
        Node cur = path.startsWith("/") ? new Node(r, r.fs.rootInode()) : cwd;
        Deque<String> parts = split(path);
        boolean mustBeDir = path.endsWith("/");
        int links = 0;
        while (!parts.isEmpty()) {
            String name = parts.poll();
            boolean last = parts.isEmpty();
            Attributes dirAttr = getattr(cur);
            if (!dirAttr.isDirectory()) {
                throw new ErrnoException(Errno.ENOTDIR, path);
            }
            requireAccess(cur, dirAttr, OpenFlags.X_OK, path);
            Node next = step(cur, name);
            if ((!last || follow || mustBeDir) && !isDotDot(name) && !isDot(name)) {
                Attributes a = getattr(next);
                if (a.isSymlink()) {
                    if (++links > MAX_SYMLINKS) {
                        throw new ErrnoException(Errno.ELOOP, path);
                    }
                    String target = next.fs().readlink(next.ino());
                    Deque<String> more = split(target);
                    while (!more.isEmpty()) {
                        parts.push(more.pollLast());
                    }
                    if (target.startsWith("/")) {
                        cur = new Node(r, r.fs.rootInode());
                    }
                    continue;
                }
            }
            cur = next;
        }
        if (mustBeDir && !getattr(cur).isDirectory()) {
            throw new ErrnoException(Errno.ENOTDIR, path);
        }
        return cur;
    }

    /**
     * Whether a name is "." (or ".."), by length and character rather than {@code equals}: path
     * walks do this for every component, and a fuzzer's string-compare hook (Jazzer's) would
     * encode each long name compared with ".".
     */
    private static boolean isDot(String name) {
        return name.length() == 1 && name.charAt(0) == '.';
    }

    private static boolean isDotDot(String name) {
        return name.length() == 2 && name.charAt(0) == '.' && name.charAt(1) == '.';
    }

    /** One component: "." stays, ".." climbs (out of a mount at its root), a name descends (into a mount). */
    private Node step(Node cur, String name) throws ErrnoException {
        if (isDot(name)) {
            return cur;
        }
        if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > NAME_MAX) {
            throw new ErrnoException(Errno.ENAMETOOLONG, name);
        }
        if (isDotDot(name)) {
            Node n = cur;
            while (n.ino() == n.fs().rootInode() && n.mount().parent != null) {
                n = new Node(n.mount().parent, n.mount().coveredIno);
            }
            if (n.ino() == n.fs().rootInode()) {
                return n; // ".." of the root is the root
            }
            return new Node(n.mount(), n.fs().lookup(n.ino(), ".."));
        }
        Node next = new Node(cur.mount(), cur.fs().lookup(cur.ino(), name));
        Mount m;
        while ((m = mountOn(next.mount(), next.ino())) != null) {
            next = new Node(m, m.fs.rootInode());
        }
        return next;
    }

    private static Deque<String> split(String path) {
        Deque<String> out = new ArrayDeque<>();
        for (String p : path.split("/")) {
            if (!p.isEmpty()) {
                out.add(p);
            }
        }
        return out;
    }

    /** A path's parent directory and last name, for calls that create or remove that name. */
    private record Parent(Node dir, String name) {
    }

    private Parent parent(String path) throws ErrnoException {
        checkPath(path);
        String trimmed = path;
        while (trimmed.length() > 1 && trimmed.endsWith("/")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1);
        }
        int slash = trimmed.lastIndexOf('/');
        String dirPath = slash < 0 ? "." : slash == 0 ? "/" : trimmed.substring(0, slash);
        String name = slash < 0 ? trimmed : trimmed.substring(slash + 1);
        if (name.isEmpty()) {
            name = "."; // the path was "/"
        }
        if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > NAME_MAX) {
            throw new ErrnoException(Errno.ENAMETOOLONG, name);
        }
        Node dir = resolve(dirPath, true);
        Attributes a = getattr(dir);
        if (!a.isDirectory()) {
            throw new ErrnoException(Errno.ENOTDIR, path);
        }
        requireAccess(dir, a, OpenFlags.X_OK, path);
        return new Parent(dir, name);
    }

    /** The node a name has in a directory, or null if it has none. */
    private Node child(Parent p) throws ErrnoException {
        try {
            return step(p.dir(), p.name());
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENOENT) {
                return null;
            }
            throw e;
        }
    }

    // ---- permissions -------------------------------------------------------------------------------

    private void requireAccess(Node n, Attributes a, int want, String path) throws ErrnoException {
        if (!permits(n, a, want)) {
            throw new ErrnoException(Errno.EACCES, path);
        }
    }

    private boolean permits(Node n, Attributes a, int want) throws ErrnoException {
        Credentials c = credentials;
        if (c.uid() == 0) {
            // Root passes all checks but execute, which needs some x bit on non-directories.
            return (want & OpenFlags.X_OK) == 0 || a.isDirectory() || (a.mode() & 0111) != 0;
        }
        if (n.fs().enforcesAcls()) {
            byte[] acl = accessAcl(n);
            if (acl != null) {
                return PosixAclCheck.permits(acl, a, c, want);
            }
        }
        int bits = c.uid() == a.uid() ? a.mode() >> 6 : c.inGroup(a.gid()) ? a.mode() >> 3 : a.mode();
        return (bits & want & 7) == (want & 7);
    }

    /**
     * The umask for a new file in {@code dir}: none under a default ACL on a mount that enforces
     * ACLs (the filesystem masks the inherited ACL with the mode instead), as Linux does.
     */
    private int umaskIn(Node dir) throws ErrnoException {
        if (dir.fs().enforcesAcls()) {
            try {
                dir.fs().getxattr(dir.ino(), "system.posix_acl_default");
                return 0;
            } catch (ErrnoException e) {
                if (e.errno() != Errno.ENODATA && e.errno() != Errno.EOPNOTSUPP) {
                    throw e;
                }
            }
        }
        return umask;
    }

    /** The node's access ACL in the caller's form, or null when it has none. */
    private static byte[] accessAcl(Node n) throws ErrnoException {
        try {
            return n.fs().getxattr(n.ino(), "system.posix_acl_access");
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENODATA || e.errno() == Errno.EOPNOTSUPP) {
                return null;
            }
            throw e;
        }
    }

    private void requireWritable(Node n, String path) throws ErrnoException {
        if (n.mount().readOnly) {
            throw new ErrnoException(Errno.EROFS, path);
        }
    }

    /** A change to a directory's entries: the directory must be writable and searchable. */
    private void requireDirChange(Parent p, String path) throws ErrnoException {
        requireWritable(p.dir(), path);
        requireAccess(p.dir(), getattr(p.dir()), OpenFlags.W_OK | OpenFlags.X_OK, path);
    }

    /** The sticky bit: only the owner of the file or the directory (or root) may remove or rename. */
    private void requireSticky(Parent p, Node victim, String path) throws ErrnoException {
        Attributes d = getattr(p.dir());
        long uid = credentials.uid();
        if ((d.mode() & 01000) != 0 && uid != 0 && uid != d.uid() && uid != getattr(victim).uid()) {
            throw new ErrnoException(Errno.EPERM, path);
        }
    }

    private void requireOwner(Attributes a, String path) throws ErrnoException {
        long uid = credentials.uid();
        if (uid != 0 && uid != a.uid()) {
            throw new ErrnoException(Errno.EPERM, path);
        }
    }

    // ---- descriptors -------------------------------------------------------------------------------

    private synchronized int install(OpenFile f) throws ErrnoException {
        int fd = table.allocate(this, f);
        openCounts.merge(new Key(f.node.mount(), f.node.ino()), 1, Integer::sum);
        return fd;
    }

    private OpenFile file(int fd) throws ErrnoException {
        return (OpenFile) table.get(fd, this, Errno.EBADF);
    }

    private synchronized boolean isOpen(Mount m, long ino) {
        return openCounts.containsKey(new Key(m, ino));
    }

    /** open(2). */
    public int open(String path, int flags, int mode) throws ErrnoException {
        if ((flags & ~OpenFlags.KNOWN) != 0 || (flags & OpenFlags.O_ACCMODE) == OpenFlags.O_ACCMODE) {
            throw new ErrnoException(Errno.EINVAL, "open flags 0" + Integer.toOctalString(flags));
        }
        boolean write = OpenFlags.writable(flags);
        Node node;
        if ((flags & O_CREAT) != 0) {
            Parent p = parent(path);
            Node existing = child(p);
            if (existing != null && (flags & O_EXCL) != 0) {
                throw new ErrnoException(Errno.EEXIST, path);
            }
            if (existing == null) {
                requireDirChange(p, path);
                long ino = p.dir().fs().create(p.dir().ino(), p.name(), Attributes.S_IFREG | (mode & 07777 & ~umaskIn(p.dir())),
                        credentials.uid(), credentials.gid(), 0);
                node = new Node(p.dir().mount(), ino);
                return install(new OpenFile(node, flags));
            }
            node = (flags & O_NOFOLLOW) != 0 ? existing : resolve(path, true);
        } else {
            node = resolve(path, (flags & O_NOFOLLOW) == 0);
        }
        Attributes a = getattr(node);
        if (a.isSymlink()) {
            throw new ErrnoException(Errno.ELOOP, path + ": is a symbolic link (O_NOFOLLOW)");
        }
        if ((flags & O_DIRECTORY) != 0 && !a.isDirectory()) {
            throw new ErrnoException(Errno.ENOTDIR, path);
        }
        if (a.isDirectory() && (write || (flags & (O_TRUNC | O_CREAT)) != 0)) {
            throw new ErrnoException(Errno.EISDIR, path);
        }
        if (OpenFlags.readable(flags)) {
            requireAccess(node, a, OpenFlags.R_OK, path);
        }
        if (write) {
            requireWritable(node, path);
            requireAccess(node, a, OpenFlags.W_OK, path);
        }
        if ((flags & O_TRUNC) != 0 && write && a.isRegular() && a.size() > 0) {
            node.fs().truncate(node.ino(), 0);
        }
        return install(new OpenFile(node, flags));
    }

    /** open(path, O_CREAT|O_WRONLY|O_TRUNC, mode). */
    public int creat(String path, int mode) throws ErrnoException {
        return open(path, O_CREAT | OpenFlags.O_WRONLY | O_TRUNC, mode);
    }

    public void close(int fd) throws ErrnoException {
        OpenFile f;
        boolean last;
        synchronized (this) {
            f = (OpenFile) table.remove(fd, this);
            Key k = new Key(f.node.mount(), f.node.ino());
            int left = openCounts.merge(k, -1, Integer::sum);
            last = left == 0;
            if (last) {
                openCounts.remove(k);
            }
        }
        if (last && !f.node.mount().readOnly) {
            f.node.fs().released(f.node.ino());
        }
    }

    public int read(int fd, ByteBuffer dst) throws ErrnoException {
        OpenFile f = file(fd);
        synchronized (f) {
            int n = pread(f, dst, f.offset);
            f.offset += n;
            return n;
        }
    }

    public int pread(int fd, ByteBuffer dst, long offset) throws ErrnoException {
        if (offset < 0) {
            throw new ErrnoException(Errno.EINVAL, "negative offset " + offset);
        }
        return pread(file(fd), dst, offset);
    }

    private int pread(OpenFile f, ByteBuffer dst, long offset) throws ErrnoException {
        if (!OpenFlags.readable(f.flags)) {
            throw new ErrnoException(Errno.EBADF, "not open for reading");
        }
        Attributes a = getattr(f.node);
        if (a.isDirectory()) {
            throw new ErrnoException(Errno.EISDIR, "read of a directory");
        }
        if (!dst.hasRemaining() || offset >= a.size()) {
            return 0;
        }
        int total = 0;
        while (dst.hasRemaining()) {
            int n = f.node.fs().read(f.node.ino(), offset + total, dst);
            if (n <= 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    public int write(int fd, ByteBuffer src) throws ErrnoException {
        OpenFile f = file(fd);
        synchronized (f) {
            long at = (f.flags & O_APPEND) != 0 ? getattr(f.node).size() : f.offset;
            int n = pwrite(f, src, at);
            f.offset = at + n;
            return n;
        }
    }

    /** pwrite(2); with O_APPEND the data goes to the end whatever the offset, as on Linux. */
    public int pwrite(int fd, ByteBuffer src, long offset) throws ErrnoException {
        if (offset < 0) {
            throw new ErrnoException(Errno.EINVAL, "negative offset " + offset);
        }
        OpenFile f = file(fd);
        synchronized (f) {
            return pwrite(f, src, (f.flags & O_APPEND) != 0 ? getattr(f.node).size() : offset);
        }
    }

    private int pwrite(OpenFile f, ByteBuffer src, long offset) throws ErrnoException {
        if (!OpenFlags.writable(f.flags)) {
            throw new ErrnoException(Errno.EBADF, "not open for writing");
        }
        if (!src.hasRemaining()) {
            return 0;
        }
        return f.node.fs().write(f.node.ino(), offset, src);
    }

    public long lseek(int fd, long offset, int whence) throws ErrnoException {
        OpenFile f = file(fd);
        synchronized (f) {
            long base;
            switch (whence) {
                case OpenFlags.SEEK_SET:
                    base = 0;
                    break;
                case OpenFlags.SEEK_CUR:
                    base = f.offset;
                    break;
                case OpenFlags.SEEK_END:
                    base = getattr(f.node).size();
                    break;
                case OpenFlags.SEEK_DATA:
                case OpenFlags.SEEK_HOLE:
                    f.offset = f.node.fs().seek(f.node.ino(), offset, whence == OpenFlags.SEEK_HOLE);
                    return f.offset;
                default:
                    throw new ErrnoException(Errno.EINVAL, "whence " + whence);
            }
            long pos = base + offset;
            if (pos < 0 || (offset > 0 && pos < base)) {
                throw new ErrnoException(Errno.EINVAL, "offset " + offset + " from " + base);
            }
            f.offset = pos;
            if (f.listing != null && pos == 0) {
                f.listing = null; // rewinddir
            }
            return pos;
        }
    }

    public Attributes stat(String path) throws ErrnoException {
        return getattr(resolve(path, true));
    }

    public Attributes lstat(String path) throws ErrnoException {
        return getattr(resolve(path, false));
    }

    public Attributes fstat(int fd) throws ErrnoException {
        return getattr(file(fd).node);
    }

    public void truncate(String path, long length) throws ErrnoException {
        Node n = resolve(path, true);
        Attributes a = getattr(n);
        if (a.isDirectory()) {
            throw new ErrnoException(Errno.EISDIR, path);
        }
        requireWritable(n, path);
        requireAccess(n, a, OpenFlags.W_OK, path);
        truncate(n, length, path);
    }

    public void ftruncate(int fd, long length) throws ErrnoException {
        OpenFile f = file(fd);
        if (!OpenFlags.writable(f.flags)) {
            throw new ErrnoException(Errno.EINVAL, "fd " + fd + " is not open for writing");
        }
        truncate(f.node, length, "fd " + fd);
    }

    private void truncate(Node n, long length, String what) throws ErrnoException {
        if (length < 0) {
            throw new ErrnoException(Errno.EINVAL, what + ": negative length " + length);
        }
        n.fs().truncate(n.ino(), length);
    }

    /** fsync(2): the file and everything before it reaches the device (the filesystem commits whole). */
    public void fsync(int fd) throws ErrnoException {
        OpenFile f = file(fd);
        if (!f.node.mount().readOnly) {
            f.node.fs().sync();
        }
    }

    /** sync(2): every mounted filesystem. */
    public void sync() throws ErrnoException {
        List<Mount> all;
        synchronized (this) {
            all = new ArrayList<>(mounts);
        }
        for (Mount m : all) {
            if (!m.readOnly) {
                m.fs.sync();
            }
        }
    }

    // ---- names -------------------------------------------------------------------------------------

    public void mkdir(String path, int mode) throws ErrnoException {
        Parent p = parent(path);
        if (isDot(p.name()) || isDotDot(p.name()) || child(p) != null) {
            throw new ErrnoException(Errno.EEXIST, path);
        }
        requireDirChange(p, path);
        p.dir().fs().create(p.dir().ino(), p.name(), Attributes.S_IFDIR | (mode & 07777 & ~umaskIn(p.dir())), credentials.uid(),
                credentials.gid(), 0);
    }

    /** mknod(2) for fifos, sockets and device nodes (and regular files). */
    public void mknod(String path, int mode, long rdev) throws ErrnoException {
        int type = mode & Attributes.S_IFMT;
        if (type == Attributes.S_IFDIR || type == Attributes.S_IFLNK) {
            throw new ErrnoException(Errno.EINVAL, path + ": mknod makes no directories or symlinks");
        }
        if ((type == Attributes.S_IFCHR || type == Attributes.S_IFBLK) && credentials.uid() != 0) {
            throw new ErrnoException(Errno.EPERM, path);
        }
        Parent p = parent(path);
        if (child(p) != null) {
            throw new ErrnoException(Errno.EEXIST, path);
        }
        requireDirChange(p, path);
        p.dir().fs().create(p.dir().ino(), p.name(), (type == 0 ? Attributes.S_IFREG : type) | (mode & 07777 & ~umaskIn(p.dir())),
                credentials.uid(), credentials.gid(), rdev);
    }

    public void rmdir(String path) throws ErrnoException {
        Parent p = parent(path);
        if (isDot(p.name())) {
            throw new ErrnoException(Errno.EINVAL, path);
        }
        if (isDotDot(p.name())) {
            throw new ErrnoException(Errno.ENOTEMPTY, path);
        }
        Node victim = child(p);
        if (victim == null) {
            throw new ErrnoException(Errno.ENOENT, path);
        }
        if (victim.mount() != p.dir().mount()) {
            throw new ErrnoException(Errno.EBUSY, path + ": a filesystem is mounted there");
        }
        if (!getattr(victim).isDirectory()) {
            throw new ErrnoException(Errno.ENOTDIR, path);
        }
        requireDirChange(p, path);
        requireSticky(p, victim, path);
        p.dir().fs().rmdir(p.dir().ino(), p.name(), isOpen(victim.mount(), victim.ino()));
    }

    public void unlink(String path) throws ErrnoException {
        Parent p = parent(path);
        Node victim = child(p);
        if (victim == null) {
            throw new ErrnoException(Errno.ENOENT, path);
        }
        if (getattr(victim).isDirectory()) {
            throw new ErrnoException(Errno.EISDIR, path);
        }
        requireDirChange(p, path);
        requireSticky(p, victim, path);
        p.dir().fs().unlink(p.dir().ino(), p.name(), isOpen(victim.mount(), victim.ino()));
    }

    /** rename(2): replaces a compatible target; {@code EXDEV} across filesystems. */
    public void rename(String from, String to) throws ErrnoException {
        Parent src = parent(from);
        Parent dst = parent(to);
        if (isDot(src.name()) || isDotDot(src.name()) || isDot(dst.name()) || isDotDot(dst.name())) {
            throw new ErrnoException(Errno.EBUSY, from + " -> " + to);
        }
        Node victim = child(src);
        if (victim == null) {
            throw new ErrnoException(Errno.ENOENT, from);
        }
        if (src.dir().mount() != dst.dir().mount() || victim.mount() != src.dir().mount()) {
            throw new ErrnoException(Errno.EXDEV, from + " -> " + to);
        }
        Node target = child(dst);
        if (target != null && target.mount() != dst.dir().mount()) {
            throw new ErrnoException(Errno.EBUSY, to + ": a filesystem is mounted there");
        }
        requireDirChange(src, from);
        requireDirChange(dst, to);
        requireSticky(src, victim, from);
        if (target != null) {
            requireSticky(dst, target, to);
        }
        Mount m = src.dir().mount();
        src.dir().fs().rename(src.dir().ino(), src.name(), dst.dir().ino(), dst.name(), ino -> isOpen(m, ino));
    }

    /** link(2): a new name for an existing file; {@code EXDEV} across filesystems. */
    public void link(String existing, String newPath) throws ErrnoException {
        Node n = resolve(existing, false);
        Parent p = parent(newPath);
        if (child(p) != null) {
            throw new ErrnoException(Errno.EEXIST, newPath);
        }
        if (n.mount() != p.dir().mount()) {
            throw new ErrnoException(Errno.EXDEV, existing + " -> " + newPath);
        }
        if (getattr(n).isDirectory()) {
            throw new ErrnoException(Errno.EPERM, existing + ": is a directory");
        }
        requireDirChange(p, newPath);
        p.dir().fs().link(p.dir().ino(), p.name(), n.ino());
    }

    /** symlink(2): {@code linkPath} will point at {@code target} (which need not exist). */
    public void symlink(String target, String linkPath) throws ErrnoException {
        checkPath(target);
        Parent p = parent(linkPath);
        if (child(p) != null) {
            throw new ErrnoException(Errno.EEXIST, linkPath);
        }
        requireDirChange(p, linkPath);
        p.dir().fs().symlink(p.dir().ino(), p.name(), target, credentials.uid(), credentials.gid());
    }

    public String readlink(String path) throws ErrnoException {
        Node n = resolve(path, false);
        if (!getattr(n).isSymlink()) {
            throw new ErrnoException(Errno.EINVAL, path + ": not a symbolic link");
        }
        return n.fs().readlink(n.ino());
    }

    /**
     * getdents(2): the next entries of an open directory, up to {@code max}; empty at the end.
     * The listing is taken when the first call is made, and again after {@code lseek(fd, 0, SEEK_SET)}.
     */
    public List<DirEntry> getdents(int fd, int max) throws ErrnoException {
        OpenFile f = file(fd);
        synchronized (f) {
            if (!getattr(f.node).isDirectory()) {
                throw new ErrnoException(Errno.ENOTDIR, "fd " + fd);
            }
            if (f.listing == null) {
                f.listing = f.node.fs().readdir(f.node.ino());
                f.offset = 0;
            }
            int from = (int) Math.min(f.offset, f.listing.size());
            int to = (int) Math.min(f.listing.size(), from + (long) Math.max(1, max));
            List<DirEntry> out = new ArrayList<>(f.listing.subList(from, to));
            f.offset = to;
            return out;
        }
    }

    /** Every entry of a directory, "." and ".." included (opendir + readdir + closedir). */
    public List<DirEntry> readdir(String path) throws ErrnoException {
        Node n = resolve(path, true);
        Attributes a = getattr(n);
        if (!a.isDirectory()) {
            throw new ErrnoException(Errno.ENOTDIR, path);
        }
        requireAccess(n, a, OpenFlags.R_OK, path);
        return n.fs().readdir(n.ino());
    }

    // ---- attributes --------------------------------------------------------------------------------

    public void chmod(String path, int mode) throws ErrnoException {
        Node n = resolve(path, true);
        requireWritable(n, path);
        requireOwner(getattr(n), path);
        n.fs().setattr(n.ino(), mode & 07777, -1, -1, Long.MIN_VALUE, Long.MIN_VALUE);
    }

    public void fchmod(int fd, int mode) throws ErrnoException {
        Node n = file(fd).node;
        requireWritable(n, "fd " + fd);
        requireOwner(getattr(n), "fd " + fd);
        n.fs().setattr(n.ino(), mode & 07777, -1, -1, Long.MIN_VALUE, Long.MIN_VALUE);
    }

    /** chown(2): only root changes the owner; -1 leaves a field alone. */
    public void chown(String path, long uid, long gid) throws ErrnoException {
        chown(resolve(path, true), uid, gid, path);
    }

    public void lchown(String path, long uid, long gid) throws ErrnoException {
        chown(resolve(path, false), uid, gid, path);
    }

    private void chown(Node n, long uid, long gid, String path) throws ErrnoException {
        requireWritable(n, path);
        Attributes a = getattr(n);
        Credentials c = credentials;
        if (c.uid() != 0 && ((uid >= 0 && uid != a.uid()) || c.uid() != a.uid() || (gid >= 0 && !c.inGroup(gid)))) {
            throw new ErrnoException(Errno.EPERM, path);
        }
        n.fs().setattr(n.ino(), -1, uid, gid, Long.MIN_VALUE, Long.MIN_VALUE);
    }

    /**
     * utimensat(2): access and modification times in nanoseconds since the epoch, or
     * {@link OpenFlags#UTIME_NOW} / {@link OpenFlags#UTIME_OMIT}; symlinks themselves with
     * {@code nofollow}.
     */
    public void utimensat(String path, long atimeNanos, long mtimeNanos, boolean nofollow) throws ErrnoException {
        Node n = resolve(path, !nofollow);
        requireWritable(n, path);
        Attributes a = getattr(n);
        boolean bothNow = atimeNanos == OpenFlags.UTIME_NOW && mtimeNanos == OpenFlags.UTIME_NOW;
        if (credentials.uid() != 0 && credentials.uid() != a.uid()
                && !(bothNow && permits(n, a, OpenFlags.W_OK))) {
            throw new ErrnoException(bothNow ? Errno.EACCES : Errno.EPERM, path);
        }
        long now = wallNanos.getAsLong();
        n.fs().setattr(n.ino(), -1, -1, -1, atimeNanos == OpenFlags.UTIME_NOW ? now : atimeNanos,
                mtimeNanos == OpenFlags.UTIME_NOW ? now : mtimeNanos);
    }

    // ---- extended attributes -----------------------------------------------------------------------

    /**
     * The checks Linux's xattr_permission makes before a filesystem sees the call: security.*
     * and system.* pass to the filesystem (but setting security.* needs root, as commoncap
     * wants, and system.posix_acl_* the owner or root); trusted.* is root's alone (EPERM to
     * write, ENODATA to read); user.* lives only on regular files and directories, and in a
     * sticky directory only its owner writes it; the rest needs read or write permission.
     */
    private void requireXattrAccess(Node n, String name, boolean write, String path) throws ErrnoException {
        Attributes a = getattr(n);
        boolean root = credentials.uid() == 0;
        if (name.startsWith("security.")) {
            if (write && !root) {
                throw new ErrnoException(Errno.EPERM, path + ": " + name + " needs privilege");
            }
            return;
        }
        if (name.startsWith("system.")) {
            if (write && name.startsWith("system.posix_acl_")) {
                requireOwner(a, path);
            }
            return;
        }
        if (name.startsWith("trusted.")) {
            if (!root) {
                throw new ErrnoException(write ? Errno.EPERM : Errno.ENODATA, path + ": " + name + " needs privilege");
            }
            return;
        }
        if (name.startsWith("user.")) {
            if (!a.isRegular() && !a.isDirectory()) {
                throw new ErrnoException(write ? Errno.EPERM : Errno.ENODATA, path + ": user.* only on files and directories");
            }
            if (write && a.isDirectory() && (a.mode() & 01000) != 0 && !root && credentials.uid() != a.uid()) {
                throw new ErrnoException(Errno.EPERM, path + ": sticky directory");
            }
        }
        requireAccess(n, a, write ? OpenFlags.W_OK : OpenFlags.R_OK, path);
    }

    /** getxattr(2) ({@code follow}) or lgetxattr(2): the whole value. */
    @Override
    public byte[] getxattr(String path, String name, boolean follow) throws ErrnoException {
        Node n = resolve(path, follow);
        requireXattrAccess(n, name, false, path);
        return n.fs().getxattr(n.ino(), name);
    }

    /**
     * getxattr(2) into a caller's buffer: with no room ({@code dst} null or empty) the size it
     * would need, else the value copied, ERANGE when it does not fit.
     */
    public int getxattr(String path, String name, ByteBuffer dst, boolean follow) throws ErrnoException {
        byte[] v = getxattr(path, name, follow);
        if (dst == null || !dst.hasRemaining()) {
            return v.length;
        }
        if (dst.remaining() < v.length) {
            throw new ErrnoException(Errno.ERANGE, path + ": " + name + " has " + v.length + " bytes, buffer " + dst.remaining());
        }
        dst.put(v);
        return v.length;
    }

    /** listxattr(2) / llistxattr(2): the names this caller may see (trusted.* only for root). */
    @Override
    public List<String> listxattr(String path, boolean follow) throws ErrnoException {
        Node n = resolve(path, follow);
        List<String> out = new java.util.ArrayList<>();
        for (String name : n.fs().listxattr(n.ino())) {
            if (!name.startsWith("trusted.") || credentials.uid() == 0) {
                out.add(name);
            }
        }
        return out;
    }

    /** setxattr(2) / lsetxattr(2) with {@link FileSystemOps#XATTR_CREATE} or {@code XATTR_REPLACE}. */
    @Override
    public void setxattr(String path, String name, byte[] value, int flags, boolean follow) throws ErrnoException {
        Node n = resolve(path, follow);
        requireWritable(n, path);
        requireXattrAccess(n, name, true, path);
        n.fs().setxattr(n.ino(), name, value, flags);
    }

    /** removexattr(2) / lremovexattr(2). */
    @Override
    public void removexattr(String path, String name, boolean follow) throws ErrnoException {
        Node n = resolve(path, follow);
        requireWritable(n, path);
        requireXattrAccess(n, name, true, path);
        n.fs().removexattr(n.ino(), name);
    }

    public StatVfs statvfs(String path) throws ErrnoException {
        return resolve(path, true).fs().statvfs();
    }

    /** access(2) with the real credentials: {@code F_OK}, or any of {@code R_OK|W_OK|X_OK}. */
    public void access(String path, int mode) throws ErrnoException {
        if ((mode & ~7) != 0) {
            throw new ErrnoException(Errno.EINVAL, "access mode " + mode);
        }
        Node n = resolve(path, true);
        if ((mode & OpenFlags.W_OK) != 0) {
            requireWritable(n, path);
        }
        requireAccess(n, getattr(n), mode, path);
    }

    /** chdir(2): relative paths start there. */
    public void chdir(String path) throws ErrnoException {
        Node n = resolve(path, true);
        Attributes a = getattr(n);
        if (!a.isDirectory()) {
            throw new ErrnoException(Errno.ENOTDIR, path);
        }
        requireAccess(n, a, OpenFlags.X_OK, path);
        cwd = n;
    }
}
