package io.jrump.fs.fuse;

import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.OpenFlags;
import io.jrump.kernel.sys.StatVfs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Answers one FUSE request at a time from a {@link FileSystemOps}: parses the kernel's structs
 * (Linux {@code include/uapi/linux/fuse.h}, host byte order, which is little-endian on every
 * platform jrump runs on), calls the vnode operation and builds the reply.
 *
 * <p>Node ids are inode numbers, except that {@code FUSE_ROOT_ID} (1) stands for the filesystem's
 * root inode and the root inode's number stands for inode 1, so the mapping is a bijection. The
 * dispatcher keeps a lookup count per node id ({@code LOOKUP}, {@code CREATE}, {@code MKNOD},
 * {@code MKDIR}, {@code SYMLINK}, {@code LINK} and each {@code READDIRPLUS} entry add one,
 * {@code FORGET} takes them away); a request for a node id the kernel was never given, or has
 * forgotten, gets {@code ENOENT}. File handles are numbers of its own, checked on every use against
 * the node id and kind ({@code EBADF} otherwise).
 *
 * <p>Permissions: the server expects the mount to use {@code default_permissions}, so the kernel
 * checks access from the attributes returned. {@code ACCESS} is answered from the mode bits and the
 * caller's uid and primary gid. New files belong to the caller's uid and gid; the kernel has
 * already applied the umask ({@code FUSE_DONT_MASK} is not offered).
 *
 * <p>Kernel caching ({@link Options}): with {@code writebackCache} (and a read-write filesystem)
 * {@code FUSE_WRITEBACK_CACHE} is offered, so the kernel gathers writes in its page cache and sends
 * them as large WRITEs, keeps {@code i_size} and {@code mtime} itself (sending them back with
 * SETATTR) and applies {@code O_APPEND} itself; the server then writes at the offsets given and lets
 * the kernel READ through write-only handles, which it does to fill partly written pages. With
 * {@code keepCache} opens answer {@code FOPEN_KEEP_CACHE}: the kernel keeps a file's cached pages
 * across opens, which is right because every change goes through this mount.
 *
 * <p>Extended attributes go to the filesystem's getxattr/setxattr/listxattr/removexattr (the
 * kernel has made Linux's xattr permission checks); LISTXATTR hides {@code trusted.*} from
 * callers other than root. When the filesystem enforces POSIX ACLs ({@link FileSystemOps#enforcesAcls()},
 * the ext mount option {@code acl}) {@code FUSE_POSIX_ACL} is offered: the kernel then checks
 * access against the ACLs it reads through GETXATTR (with {@code default_permissions}), and the
 * filesystem keeps the mode in step with the access ACL and gives new files their directory's
 * default ACL; otherwise ACLs are stored, not enforced.
 *
 * <p>Not supported (ENOSYS, which the kernel remembers): locks, ioctl, poll, fallocate,
 * lseek, copy_file_range, interrupts, {@code RENAME2} with flags. Protocol minors below 12 are
 * refused with {@code EPROTO}.
 *
 * <p>Malformed requests — too short for their opcode, names not NUL-terminated, lengths that
 * disagree — get {@code EINVAL} (or {@code EIO} for a header that cannot be trusted) and are
 * counted in {@link #badRequests()}; nothing a request holds raises an unchecked exception.
 *
 * <p>Thread-safe: the node and handle tables are guarded by the dispatcher; each directory handle's
 * listing by the handle; the filesystem is thread-safe itself. Nothing here blocks but the
 * filesystem.
 */
public final class FuseDispatcher {
    public static final int KERNEL_VERSION = 7;
    /** The protocol minor we speak. */
    public static final int KERNEL_MINOR_VERSION = 31;
    /** The oldest kernel minor we accept (fuse_mknod_in and fuse_create_in with umask). */
    public static final int MIN_KERNEL_MINOR_VERSION = 12;
    public static final long FUSE_ROOT_ID = 1;

    public static final int IN_HEADER_SIZE = 40;
    public static final int OUT_HEADER_SIZE = 16;
    static final int ATTR_SIZE = 88;
    static final int ENTRY_OUT_SIZE = 40 + ATTR_SIZE;
    static final int ATTR_OUT_SIZE = 16 + ATTR_SIZE;
    static final int OPEN_OUT_SIZE = 16;
    static final int DIRENT_SIZE = 24;

    // fuse_init flags
    public static final int FUSE_ASYNC_READ = 1;
    public static final int FUSE_BIG_WRITES = 1 << 5;
    public static final int FUSE_DO_READDIRPLUS = 1 << 13;
    public static final int FUSE_READDIRPLUS_AUTO = 1 << 14;
    public static final int FUSE_WRITEBACK_CACHE = 1 << 16;
    public static final int FUSE_POSIX_ACL = 1 << 20;
    public static final int FUSE_MAX_PAGES = 1 << 22;

    // fuse_open_out.open_flags
    public static final int FOPEN_KEEP_CACHE = 1 << 1;

    // fuse_setattr_in.valid
    static final int FATTR_MODE = 1;
    static final int FATTR_UID = 1 << 1;
    static final int FATTR_GID = 1 << 2;
    static final int FATTR_SIZE = 1 << 3;
    static final int FATTR_ATIME = 1 << 4;
    static final int FATTR_MTIME = 1 << 5;
    static final int FATTR_FH = 1 << 6;
    static final int FATTR_ATIME_NOW = 1 << 7;
    static final int FATTR_MTIME_NOW = 1 << 8;

    static final int FUSE_GETATTR_FH = 1;
    static final int PAGE = 4096;
    /**
     * The largest request served: max_write, and the size a READ or READDIR may ask for. The
     * reply area ({@link #replyBufferSize()}) is sized from it, so the two cannot drift apart.
     */
    static final int MAX_TRANSFER = 1024 * 1024;

    /** A request that breaks the protocol: stackless, answered with its errno and counted. */
    static final class BadRequest extends Exception {
        private static final long serialVersionUID = 1L;
        final Errno errno;

        BadRequest(Errno errno, String what) {
            super(what, null, false, false);
            this.errno = errno;
        }
    }

    /** An open file or directory as the kernel knows it by {@code fh}. */
    private static final class Handle {
        final long nodeid;
        final long ino;
        final boolean dir;
        final int flags;
        List<DirEntry> listing;

        Handle(long nodeid, long ino, boolean dir, int flags) {
            this.nodeid = nodeid;
            this.ino = ino;
            this.dir = dir;
            this.flags = flags;
        }
    }

    /**
     * How the server asks the kernel to cache.
     *
     * @param maxWrite the largest WRITE (and READ) offered, 128 KiB to 1 MiB, a multiple of 4096;
     *     above 128 KiB it needs {@code FUSE_MAX_PAGES}
     * @param cacheNanos how long the kernel may cache entries and attributes
     * @param writebackCache offer {@code FUSE_WRITEBACK_CACHE} (ignored on a read-only filesystem)
     * @param keepCache answer opens of regular files with {@code FOPEN_KEEP_CACHE}
     */
    public record Options(int maxWrite, long cacheNanos, boolean writebackCache, boolean keepCache) {
        public Options {
            if (maxWrite < 128 * 1024 || maxWrite > MAX_TRANSFER || maxWrite % PAGE != 0) {
                throw new IllegalArgumentException("max_write " + maxWrite + " not in 128 KiB..1 MiB pages");
            }
            if (cacheNanos < 0) {
                throw new IllegalArgumentException("cache time " + cacheNanos);
            }
        }

        /** 128 KiB writes, one second of entry and attribute caching, no writeback or kept page cache. */
        public static Options defaults() {
            return new Options(128 * 1024, 1_000_000_000L, false, false);
        }

        /** What {@code rump mount} uses: 1 MiB requests, the writeback cache, pages kept across opens. */
        public static Options fast() {
            return new Options(MAX_TRANSFER, 1_000_000_000L, true, true);
        }
    }

    private final FileSystemOps fs;
    private final LongSupplier wallNanos;
    private final int maxWrite;
    private final long entryValidNanos;
    private final long attrValidNanos;
    private final boolean offerWriteback;
    private final boolean keepCache;
    private final long root;

    private final Map<Long, Long> lookups = new HashMap<>();
    private final Map<Long, Handle> handles = new HashMap<>();
    private final Map<Long, Integer> openCounts = new HashMap<>();
    private long nextFh = 1;
    private volatile int minor = -1;
    private volatile boolean writeback;
    private volatile boolean destroyed;
    private final AtomicLong badRequests = new AtomicLong();

    /**
     * @param fs the filesystem served (not closed here)
     * @param wallNanos the wall clock for {@code *_NOW} times, from the host
     * @param maxWrite the largest WRITE offered, 128 KiB to 1 MiB, a multiple of 4096
     * @param cacheNanos how long the kernel may cache entries and attributes
     */
    public FuseDispatcher(FileSystemOps fs, LongSupplier wallNanos, int maxWrite, long cacheNanos) {
        this(fs, wallNanos, new Options(maxWrite, cacheNanos, false, false));
    }

    public FuseDispatcher(FileSystemOps fs, LongSupplier wallNanos) {
        this(fs, wallNanos, Options.defaults());
    }

    /**
     * @param fs the filesystem served (not closed here)
     * @param wallNanos the wall clock for {@code *_NOW} times, from the host
     */
    public FuseDispatcher(FileSystemOps fs, LongSupplier wallNanos, Options options) {
        this.fs = fs;
        this.wallNanos = wallNanos;
        this.maxWrite = options.maxWrite();
        this.entryValidNanos = options.cacheNanos();
        this.attrValidNanos = options.cacheNanos();
        this.offerWriteback = options.writebackCache() && !fs.isReadOnly();
        this.keepCache = options.keepCache();
        this.root = fs.rootInode();
    }

    /** The size a channel's read buffer needs: the largest WRITE and its headers. */
    public int requestBufferSize() {
        return maxWrite + PAGE;
    }

    /** The size of a reply area for {@link #handle(ByteBuffer, ByteBuffer)}: the largest READ reply. */
    public int replyBufferSize() {
        return OUT_HEADER_SIZE + MAX_TRANSFER;
    }

    /** Whether INIT granted {@code FUSE_WRITEBACK_CACHE}: the kernel owns size and mtime while it caches. */
    public boolean writebackCache() {
        return writeback;
    }

    /** How many requests were malformed. */
    public long badRequests() {
        return badRequests.get();
    }

    /** Whether DESTROY has been answered. */
    public boolean isDestroyed() {
        return destroyed;
    }

    /** The negotiated protocol minor, or -1 before INIT. */
    public int protocolMinor() {
        return minor;
    }

    /** The lookup count the kernel holds on a node id (0 if none); the root always counts 1. */
    public synchronized long lookupCount(long nodeid) {
        return nodeid == FUSE_ROOT_ID ? 1 : lookups.getOrDefault(nodeid, 0L);
    }

    /** How many file and directory handles are open. */
    public synchronized int openHandles() {
        return handles.size();
    }

    // ---- request and reply ------------------------------------------------------------------------

    /** Reads a request's fields with every access checked against its length. */
    static final class In {
        final ByteBuffer b;
        final int end;
        int pos;

        In(ByteBuffer b, int start, int end) {
            this.b = b;
            this.pos = start;
            this.end = end;
        }

        int remaining() {
            return end - pos;
        }

        void need(int n, String what) throws BadRequest {
            if (n < 0 || remaining() < n) {
                throw new BadRequest(Errno.EINVAL, what + ": " + remaining() + " bytes, need " + n);
            }
        }

        int u32() {
            int v = b.getInt(pos);
            pos += 4;
            return v;
        }

        long u64() {
            long v = b.getLong(pos);
            pos += 8;
            return v;
        }

        void skip(int n) {
            pos += n;
        }

        /** A NUL-terminated string within the request. */
        String cstring(String what) throws BadRequest {
            for (int i = pos; i < end; i++) {
                if (b.get(i) == 0) {
                    byte[] s = new byte[i - pos];
                    b.get(pos, s);
                    pos = i + 1;
                    return new String(s, StandardCharsets.UTF_8);
                }
            }
            throw new BadRequest(Errno.EINVAL, what + " not NUL-terminated");
        }

        /** A directory entry name: not empty, no '/', at most 255 bytes. */
        String name(String what) throws BadRequest {
            int start = pos;
            String s = cstring(what);
            int len = pos - start - 1;
            if (len == 0 || s.indexOf('/') >= 0) {
                throw new BadRequest(Errno.EINVAL, what + " \"" + s + "\"");
            }
            if (len > 255) {
                throw new BadRequest(Errno.ENAMETOOLONG, what + " of " + len + " bytes");
            }
            return s;
        }
    }

    private static ByteBuffer reply(long unique, int bodyLength) {
        return header(ByteBuffer.allocate(OUT_HEADER_SIZE + bodyLength), unique, bodyLength);
    }

    /** A reply built in {@code area} when it is large enough (no allocation, no copy to a direct buffer), else a fresh one. */
    private static ByteBuffer reply(long unique, int bodyLength, ByteBuffer area) {
        if (area == null || area.capacity() < OUT_HEADER_SIZE + bodyLength) {
            return reply(unique, bodyLength);
        }
        return header(area.clear().limit(OUT_HEADER_SIZE + bodyLength), unique, bodyLength);
    }

    private static ByteBuffer header(ByteBuffer r, long unique, int bodyLength) {
        r.order(ByteOrder.LITTLE_ENDIAN);
        r.putInt(0, OUT_HEADER_SIZE + bodyLength);
        r.putInt(4, 0);
        r.putLong(8, unique);
        r.position(OUT_HEADER_SIZE);
        return r;
    }

    /** A GETXATTR or LISTXATTR answer: the size alone when asked with size 0, ERANGE when it does not fit. */
    private static ByteBuffer sized(long unique, int size, byte[] data) throws ErrnoException {
        if (size == 0) {
            ByteBuffer r = reply(unique, 8);
            r.putInt(data.length).putInt(0);
            return done(r);
        }
        if (Integer.toUnsignedLong(size) < data.length) {
            throw new ErrnoException(Errno.ERANGE, data.length + " bytes, buffer " + Integer.toUnsignedLong(size));
        }
        return done(reply(unique, data.length).put(data));
    }

    private static ByteBuffer error(long unique, Errno e) {
        ByteBuffer r = reply(unique, 0);
        r.putInt(4, -e.number());
        return r.position(0);
    }

    private static ByteBuffer done(ByteBuffer r) {
        r.putInt(0, r.position());
        return r.flip();
    }

    /**
     * Answers one request: {@code request} holds it from its position to its limit. Returns the
     * reply to write, from position to limit, or null when there is none (FORGET, BATCH_FORGET, or a
     * request too short to say whom to answer).
     */
    public ByteBuffer handle(ByteBuffer request) {
        return handle(request, null);
    }

    /**
     * Like {@link #handle(ByteBuffer)}, but large replies (READ data) are built in {@code area}, a
     * buffer of {@link #replyBufferSize()} bytes the caller owns (direct, so that the channel
     * writes it without a copy); the reply returned may then be {@code area} itself, valid until
     * the area's next use. Null: every reply is a fresh buffer.
     */
    public ByteBuffer handle(ByteBuffer request, ByteBuffer area) {
        ByteBuffer b = request.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int start = b.position();
        int length = b.remaining();
        if (length < 16) {
            badRequests.incrementAndGet();
            return null; // no trustworthy unique to reply to
        }
        long unique = b.getLong(start + 8);
        int opcode = b.getInt(start + 4);
        int declared = b.getInt(start);
        if (length < IN_HEADER_SIZE || declared != length) {
            badRequests.incrementAndGet();
            return opcode == FuseOpcode.FORGET || opcode == FuseOpcode.BATCH_FORGET ? null : error(unique, Errno.EINVAL);
        }
        long nodeid = b.getLong(start + 16);
        int uid = b.getInt(start + 24);
        int gid = b.getInt(start + 28);
        In in = new In(b, start + IN_HEADER_SIZE, start + length);
        try {
            if (minor < 0 && opcode != FuseOpcode.INIT) {
                throw new BadRequest(Errno.EIO, FuseOpcode.name(opcode) + " before INIT");
            }
            return dispatch(opcode, unique, nodeid, Integer.toUnsignedLong(uid), Integer.toUnsignedLong(gid), in, area);
        } catch (BadRequest e) {
            badRequests.incrementAndGet();
            return opcode == FuseOpcode.FORGET || opcode == FuseOpcode.BATCH_FORGET ? null : error(unique, e.errno);
        } catch (ErrnoException e) {
            return error(unique, e.errno());
        } catch (RuntimeException e) {
            // a filesystem bug: the kernel gets EIO rather than a hung request
            badRequests.incrementAndGet();
            return error(unique, Errno.EIO);
        }
    }

    private ByteBuffer dispatch(int opcode, long unique, long nodeid, long uid, long gid, In in, ByteBuffer area)
            throws BadRequest, ErrnoException {
        switch (opcode) {
            case FuseOpcode.INIT:
                return init(unique, in);
            case FuseOpcode.DESTROY:
                destroyed = true;
                if (!fs.isReadOnly()) {
                    fs.sync();
                }
                return done(reply(unique, 0));
            case FuseOpcode.FORGET:
                in.need(8, "fuse_forget_in");
                forget(nodeid, in.u64());
                return null;
            case FuseOpcode.BATCH_FORGET:
                batchForget(in);
                return null;
            case FuseOpcode.LOOKUP: {
                long dir = ino(nodeid);
                String name = in.name("LOOKUP name");
                return entry(unique, fs.lookup(dir, name), 0);
            }
            case FuseOpcode.GETATTR:
                return getattr(unique, nodeid, in);
            case FuseOpcode.SETATTR:
                return setattr(unique, nodeid, in);
            case FuseOpcode.READLINK: {
                long ino = ino(nodeid);
                if (!fs.getattr(ino).isSymlink()) {
                    throw new ErrnoException(Errno.EINVAL, "node " + nodeid + ": not a symbolic link");
                }
                byte[] target = fs.readlink(ino).getBytes(StandardCharsets.UTF_8);
                return done(reply(unique, target.length).put(target));
            }
            case FuseOpcode.SYMLINK: {
                long dir = ino(nodeid);
                String name = in.name("SYMLINK name");
                String target = in.cstring("SYMLINK target");
                if (target.isEmpty()) {
                    throw new ErrnoException(Errno.ENOENT, "empty symlink target");
                }
                return entry(unique, fs.symlink(dir, name, target, uid, gid), 0);
            }
            case FuseOpcode.MKNOD: {
                long dir = ino(nodeid);
                in.need(16, "fuse_mknod_in");
                int mode = in.u32();
                long rdev = Integer.toUnsignedLong(in.u32());
                in.skip(8);
                String name = in.name("MKNOD name");
                int type = mode & Attributes.S_IFMT;
                if (type == Attributes.S_IFDIR || type == Attributes.S_IFLNK) {
                    throw new ErrnoException(Errno.EINVAL, "mknod of type 0" + Integer.toOctalString(type));
                }
                int t = type == 0 ? Attributes.S_IFREG : type;
                return entry(unique, fs.create(dir, name, t | (mode & 07777), uid, gid, rdev), 0);
            }
            case FuseOpcode.MKDIR: {
                long dir = ino(nodeid);
                in.need(8, "fuse_mkdir_in");
                int mode = in.u32();
                in.skip(4);
                String name = in.name("MKDIR name");
                return entry(unique, fs.create(dir, name, Attributes.S_IFDIR | (mode & 07777), uid, gid, 0), 0);
            }
            case FuseOpcode.UNLINK: {
                long dir = ino(nodeid);
                String name = in.name("UNLINK name");
                long victim = fs.lookup(dir, name);
                if (fs.getattr(victim).isDirectory()) {
                    throw new ErrnoException(Errno.EISDIR, name);
                }
                fs.unlink(dir, name, isOpen(victim));
                return done(reply(unique, 0));
            }
            case FuseOpcode.RMDIR: {
                long dir = ino(nodeid);
                String name = in.name("RMDIR name");
                if (name.equals(".")) {
                    throw new ErrnoException(Errno.EINVAL, name);
                }
                if (name.equals("..")) {
                    throw new ErrnoException(Errno.ENOTEMPTY, name);
                }
                long victim = fs.lookup(dir, name);
                if (!fs.getattr(victim).isDirectory()) {
                    throw new ErrnoException(Errno.ENOTDIR, name);
                }
                fs.rmdir(dir, name, isOpen(victim));
                return done(reply(unique, 0));
            }
            case FuseOpcode.RENAME:
            case FuseOpcode.RENAME2: {
                long dir = ino(nodeid);
                in.need(opcode == FuseOpcode.RENAME ? 8 : 16, "fuse_rename_in");
                long newdir = ino(in.u64());
                if (opcode == FuseOpcode.RENAME2) {
                    int flags = in.u32();
                    in.skip(4);
                    if (flags != 0) {
                        throw new ErrnoException(Errno.ENOSYS, "RENAME2 flags 0x" + Integer.toHexString(flags));
                    }
                }
                String from = in.name("RENAME old name");
                String to = in.name("RENAME new name");
                if (from.equals(".") || from.equals("..") || to.equals(".") || to.equals("..")) {
                    throw new ErrnoException(Errno.EBUSY, from + " -> " + to);
                }
                fs.rename(dir, from, newdir, to, this::isOpen);
                return done(reply(unique, 0));
            }
            case FuseOpcode.LINK: {
                long dir = ino(nodeid);
                in.need(8, "fuse_link_in");
                long old = ino(in.u64());
                String name = in.name("LINK name");
                if (fs.getattr(old).isDirectory()) {
                    throw new ErrnoException(Errno.EPERM, "link to a directory");
                }
                fs.link(dir, name, old);
                return entry(unique, old, 0);
            }
            case FuseOpcode.OPEN:
            case FuseOpcode.OPENDIR:
                return open(unique, nodeid, opcode == FuseOpcode.OPENDIR, in);
            case FuseOpcode.READ:
                return read(unique, nodeid, in, area);
            case FuseOpcode.WRITE:
                return write(unique, nodeid, in);
            case FuseOpcode.RELEASE:
            case FuseOpcode.RELEASEDIR: {
                in.need(24, "fuse_release_in");
                long fh = in.u64();
                release(nodeid, fh, opcode == FuseOpcode.RELEASEDIR);
                return done(reply(unique, 0));
            }
            case FuseOpcode.FLUSH: {
                in.need(24, "fuse_flush_in");
                handle(nodeid, in.u64(), false);
                return done(reply(unique, 0));
            }
            case FuseOpcode.FSYNC:
            case FuseOpcode.FSYNCDIR: {
                in.need(16, "fuse_fsync_in");
                handle(nodeid, in.u64(), opcode == FuseOpcode.FSYNCDIR);
                if (!fs.isReadOnly()) {
                    fs.sync();
                }
                return done(reply(unique, 0));
            }
            case FuseOpcode.READDIR:
            case FuseOpcode.READDIRPLUS:
                return readdir(unique, nodeid, opcode == FuseOpcode.READDIRPLUS, in);
            case FuseOpcode.STATFS:
                return statfs(unique, nodeid);
            case FuseOpcode.ACCESS: {
                in.need(8, "fuse_access_in");
                int mask = in.u32();
                access(ino(nodeid), mask, uid, gid);
                return done(reply(unique, 0));
            }
            case FuseOpcode.SETXATTR: {
                long ino = ino(nodeid);
                in.need(8, "fuse_setxattr_in");
                int size = in.u32();
                int flags = in.u32();
                String name = in.cstring("SETXATTR name");
                in.need(size, "SETXATTR value");
                byte[] value = new byte[size];
                in.b.get(in.pos, value);
                in.skip(size);
                fs.setxattr(ino, name, value, flags);
                return done(reply(unique, 0));
            }
            case FuseOpcode.GETXATTR: {
                long ino = ino(nodeid);
                in.need(8, "fuse_getxattr_in");
                int size = in.u32();
                in.skip(4);
                String name = in.cstring("GETXATTR name");
                return sized(unique, size, fs.getxattr(ino, name));
            }
            case FuseOpcode.LISTXATTR: {
                long ino = ino(nodeid);
                in.need(8, "fuse_getxattr_in");
                int size = in.u32();
                java.io.ByteArrayOutputStream names = new java.io.ByteArrayOutputStream();
                for (String n : fs.listxattr(ino)) {
                    if (uid == 0 || !n.startsWith("trusted.")) { // trusted.* is root's alone, as on Linux
                        names.writeBytes(n.getBytes(StandardCharsets.UTF_8));
                        names.write(0);
                    }
                }
                return sized(unique, size, names.toByteArray());
            }
            case FuseOpcode.REMOVEXATTR: {
                long ino = ino(nodeid);
                fs.removexattr(ino, in.cstring("REMOVEXATTR name"));
                return done(reply(unique, 0));
            }
            case FuseOpcode.CREATE:
                return create(unique, nodeid, uid, gid, in);
            default:
                throw new ErrnoException(Errno.ENOSYS, FuseOpcode.name(opcode));
        }
    }

    // ---- INIT --------------------------------------------------------------------------------------

    private ByteBuffer init(long unique, In in) throws BadRequest {
        in.need(16, "fuse_init_in");
        int major = in.u32();
        int kernelMinor = in.u32();
        int maxReadahead = in.u32();
        int flags = in.u32();
        if (major < KERNEL_VERSION || (major == KERNEL_VERSION && kernelMinor < MIN_KERNEL_MINOR_VERSION)) {
            throw new BadRequest(Errno.EPROTO, "protocol " + major + "." + kernelMinor);
        }
        if (major > KERNEL_VERSION) {
            // as libfuse: say which major we speak; the kernel sends INIT again with 7.x
            ByteBuffer r = reply(unique, 8);
            r.putInt(KERNEL_VERSION).putInt(KERNEL_MINOR_VERSION);
            return done(r);
        }
        if (minor >= 0) {
            throw new BadRequest(Errno.EPROTO, "INIT twice");
        }
        int negotiated = Math.min(KERNEL_MINOR_VERSION, kernelMinor);
        int ours = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
        if (maxWrite > 128 * 1024) {
            ours |= FUSE_MAX_PAGES;
        }
        if (offerWriteback) {
            ours |= FUSE_WRITEBACK_CACHE;
        }
        if (fs.enforcesAcls()) {
            ours |= FUSE_POSIX_ACL; // the kernel checks access against the ACLs it reads through GETXATTR
        }
        int granted = flags & ours;
        int size = negotiated < 23 ? 24 : 64;
        ByteBuffer r = reply(unique, size);
        r.putInt(KERNEL_VERSION);
        r.putInt(negotiated);
        r.putInt(maxReadahead);
        r.putInt(granted);
        r.putShort((short) 16); // max_background
        r.putShort((short) 12); // congestion_threshold
        int write = (granted & FUSE_MAX_PAGES) != 0 ? maxWrite : Math.min(maxWrite, 128 * 1024);
        r.putInt(write);
        if (size > 24) {
            r.putInt(1); // time_gran: nanoseconds
            r.putShort((short) ((granted & FUSE_MAX_PAGES) != 0 ? maxWrite / PAGE : 0));
            r.position(OUT_HEADER_SIZE + size);
        }
        writeback = (granted & FUSE_WRITEBACK_CACHE) != 0;
        minor = negotiated;
        return done(r);
    }

    // ---- nodes -------------------------------------------------------------------------------------

    /** The inode a node id stands for; ENOENT if the kernel holds no lookup on it. */
    private long ino(long nodeid) throws ErrnoException {
        if (nodeid == FUSE_ROOT_ID) {
            return root;
        }
        synchronized (this) {
            if (!lookups.containsKey(nodeid)) {
                throw new ErrnoException(Errno.ENOENT, "node " + nodeid + " was never looked up");
            }
        }
        return nodeid == root ? FUSE_ROOT_ID : nodeid;
    }

    private long nodeid(long ino) {
        return ino == root ? FUSE_ROOT_ID : ino == FUSE_ROOT_ID ? root : ino;
    }

    private synchronized void addLookup(long nodeid) {
        if (nodeid != FUSE_ROOT_ID) {
            lookups.merge(nodeid, 1L, Long::sum);
        }
    }

    private synchronized void forget(long nodeid, long n) {
        Long have = lookups.get(nodeid);
        if (have == null || nodeid == FUSE_ROOT_ID) {
            return;
        }
        if (Long.compareUnsigned(n, have) >= 0) {
            lookups.remove(nodeid);
        } else {
            lookups.put(nodeid, have - n);
        }
    }

    private void batchForget(In in) throws BadRequest {
        in.need(8, "fuse_batch_forget_in");
        long count = Integer.toUnsignedLong(in.u32());
        in.skip(4);
        if (count * 16 != in.remaining()) {
            throw new BadRequest(Errno.EINVAL, "BATCH_FORGET of " + count + " in " + in.remaining() + " bytes");
        }
        for (long i = 0; i < count; i++) {
            long nodeid = in.u64();
            forget(nodeid, in.u64());
        }
    }

    private synchronized boolean isOpen(long ino) {
        return openCounts.containsKey(ino);
    }

    /** Replies fuse_entry_out for {@code ino} (plus {@code extra} bytes the caller fills) and counts the lookup. */
    private ByteBuffer entry(long unique, long ino, int extra) throws ErrnoException {
        Attributes a = fs.getattr(ino);
        ByteBuffer r = reply(unique, ENTRY_OUT_SIZE + extra);
        long nodeid = nodeid(ino);
        putEntry(r, nodeid, a);
        addLookup(nodeid);
        return extra == 0 ? done(r) : r;
    }

    private void putEntry(ByteBuffer r, long nodeid, Attributes a) {
        r.putLong(nodeid);
        r.putLong(0); // generation
        r.putLong(entryValidNanos / 1_000_000_000L);
        r.putLong(attrValidNanos / 1_000_000_000L);
        r.putInt((int) (entryValidNanos % 1_000_000_000L));
        r.putInt((int) (attrValidNanos % 1_000_000_000L));
        putAttr(r, a);
    }

    /** struct fuse_attr. */
    static void putAttr(ByteBuffer r, Attributes a) {
        r.putLong(a.ino());
        r.putLong(a.size());
        r.putLong(a.blocks512());
        r.putLong(Math.floorDiv(a.atimeNanos(), 1_000_000_000L));
        r.putLong(Math.floorDiv(a.mtimeNanos(), 1_000_000_000L));
        r.putLong(Math.floorDiv(a.ctimeNanos(), 1_000_000_000L));
        r.putInt((int) Math.floorMod(a.atimeNanos(), 1_000_000_000L));
        r.putInt((int) Math.floorMod(a.mtimeNanos(), 1_000_000_000L));
        r.putInt((int) Math.floorMod(a.ctimeNanos(), 1_000_000_000L));
        r.putInt(a.mode());
        r.putInt(a.nlink());
        r.putInt((int) a.uid());
        r.putInt((int) a.gid());
        r.putInt((int) a.rdev());
        r.putInt(a.blockSize());
        r.putInt(0); // flags
    }

    private ByteBuffer attrOut(long unique, Attributes a) {
        ByteBuffer r = reply(unique, ATTR_OUT_SIZE);
        r.putLong(attrValidNanos / 1_000_000_000L);
        r.putInt((int) (attrValidNanos % 1_000_000_000L));
        r.putInt(0);
        putAttr(r, a);
        return done(r);
    }

    private ByteBuffer getattr(long unique, long nodeid, In in) throws BadRequest, ErrnoException {
        long ino = ino(nodeid);
        in.need(16, "fuse_getattr_in");
        int flags = in.u32();
        in.skip(4);
        long fh = in.u64();
        if ((flags & FUSE_GETATTR_FH) != 0) {
            handle(nodeid, fh, null);
        }
        return attrOut(unique, fs.getattr(ino));
    }

    private ByteBuffer setattr(long unique, long nodeid, In in) throws BadRequest, ErrnoException {
        long ino = ino(nodeid);
        in.need(88, "fuse_setattr_in");
        int valid = in.u32();
        in.skip(4);
        long fh = in.u64();
        long size = in.u64();
        in.skip(8); // lock_owner
        long atime = in.u64();
        long mtime = in.u64();
        in.skip(8); // ctime
        int atimensec = in.u32();
        int mtimensec = in.u32();
        in.skip(4); // ctimensec
        int mode = in.u32();
        in.skip(4);
        long uid = Integer.toUnsignedLong(in.u32());
        long gid = Integer.toUnsignedLong(in.u32());
        if ((valid & FATTR_FH) != 0) {
            handle(nodeid, fh, false);
        }
        if ((valid & (FATTR_ATIME | FATTR_MTIME)) != 0) {
            if (Integer.compareUnsigned(atimensec, 999_999_999) > 0 || Integer.compareUnsigned(mtimensec, 999_999_999) > 0) {
                throw new BadRequest(Errno.EINVAL, "nanoseconds out of range");
            }
        }
        if ((valid & FATTR_SIZE) != 0) {
            Attributes a = fs.getattr(ino);
            if (a.isDirectory()) {
                throw new ErrnoException(Errno.EISDIR, "node " + nodeid);
            }
            if (size < 0) {
                throw new ErrnoException(Errno.EINVAL, "size " + Long.toUnsignedString(size));
            }
            fs.truncate(ino, size);
        }
        int newMode = (valid & FATTR_MODE) != 0 ? mode & 07777 : -1;
        long newUid = (valid & FATTR_UID) != 0 ? uid : -1;
        long newGid = (valid & FATTR_GID) != 0 ? gid : -1;
        long now = (valid & (FATTR_ATIME_NOW | FATTR_MTIME_NOW)) != 0 ? wallNanos.getAsLong() : 0;
        long newAtime = (valid & FATTR_ATIME) == 0 ? Long.MIN_VALUE
                : (valid & FATTR_ATIME_NOW) != 0 ? now : nanos(atime, atimensec);
        long newMtime = (valid & FATTR_MTIME) == 0 ? Long.MIN_VALUE
                : (valid & FATTR_MTIME_NOW) != 0 ? now : nanos(mtime, mtimensec);
        if (newMode >= 0 || newUid >= 0 || newGid >= 0 || newAtime != Long.MIN_VALUE || newMtime != Long.MIN_VALUE) {
            fs.setattr(ino, newMode, newUid, newGid, newAtime, newMtime);
        }
        return attrOut(unique, fs.getattr(ino));
    }

    private static long nanos(long seconds, int nsec) throws BadRequest {
        try {
            return Math.addExact(Math.multiplyExact(seconds, 1_000_000_000L), nsec);
        } catch (ArithmeticException e) {
            throw new BadRequest(Errno.EINVAL, "time " + seconds + "s out of range");
        }
    }

    private void access(long ino, int mask, long uid, long gid) throws ErrnoException {
        if ((mask & ~7) != 0) {
            throw new ErrnoException(Errno.EINVAL, "access mask " + mask);
        }
        Attributes a = fs.getattr(ino);
        if ((mask & OpenFlags.W_OK) != 0 && fs.isReadOnly()) {
            throw new ErrnoException(Errno.EROFS, "ino " + ino);
        }
        int perm = a.permissions();
        if (uid == 0) {
            if ((mask & OpenFlags.X_OK) != 0 && !a.isDirectory() && (perm & 0111) == 0) {
                throw new ErrnoException(Errno.EACCES, "ino " + ino);
            }
            return;
        }
        int bits = uid == a.uid() ? perm >> 6 : gid == a.gid() ? perm >> 3 : perm;
        if ((bits & mask & 7) != (mask & 7)) {
            throw new ErrnoException(Errno.EACCES, "ino " + ino);
        }
    }

    // ---- handles -----------------------------------------------------------------------------------

    /** The handle {@code fh}, which must be open on {@code nodeid} and be a directory as {@code dir} says (null: either). */
    private synchronized Handle handle(long nodeid, long fh, Boolean dir) throws ErrnoException {
        Handle h = handles.get(fh);
        if (h == null || h.nodeid != nodeid || (dir != null && h.dir != dir)) {
            throw new ErrnoException(Errno.EBADF, "fh " + fh + " on node " + nodeid);
        }
        return h;
    }

    private synchronized long install(Handle h) {
        long fh = nextFh++;
        handles.put(fh, h);
        openCounts.merge(h.ino, 1, Integer::sum);
        return fh;
    }

    private void release(long nodeid, long fh, boolean dir) throws ErrnoException {
        Handle h;
        boolean last;
        synchronized (this) {
            h = handle(nodeid, fh, dir);
            handles.remove(fh);
            last = openCounts.merge(h.ino, -1, Integer::sum) == 0;
            if (last) {
                openCounts.remove(h.ino);
            }
        }
        if (last && !h.dir) {
            fs.released(h.ino);
        }
    }

    private ByteBuffer open(long unique, long nodeid, boolean dir, In in) throws BadRequest, ErrnoException {
        long ino = ino(nodeid);
        in.need(8, "fuse_open_in");
        int flags = in.u32();
        Attributes a = fs.getattr(ino);
        if (dir && !a.isDirectory()) {
            throw new ErrnoException(Errno.ENOTDIR, "node " + nodeid);
        }
        if (!dir && a.isDirectory()) {
            throw new ErrnoException(Errno.EISDIR, "node " + nodeid);
        }
        if ((flags & OpenFlags.O_ACCMODE) == OpenFlags.O_ACCMODE) {
            throw new ErrnoException(Errno.EINVAL, "open flags 0" + Integer.toOctalString(flags));
        }
        if (!dir && (flags & OpenFlags.O_ACCMODE) != OpenFlags.O_RDONLY && fs.isReadOnly()) {
            throw new ErrnoException(Errno.EROFS, "node " + nodeid);
        }
        long fh = install(new Handle(nodeid, ino, dir, flags));
        ByteBuffer r = reply(unique, OPEN_OUT_SIZE);
        r.putLong(fh).putInt(!dir && keepCache ? FOPEN_KEEP_CACHE : 0).putInt(0);
        return done(r);
    }

    private ByteBuffer create(long unique, long nodeid, long uid, long gid, In in) throws BadRequest, ErrnoException {
        long dir = ino(nodeid);
        in.need(16, "fuse_create_in");
        int flags = in.u32();
        int mode = in.u32();
        in.skip(8);
        String name = in.name("CREATE name");
        if ((flags & OpenFlags.O_ACCMODE) == OpenFlags.O_ACCMODE) {
            throw new ErrnoException(Errno.EINVAL, "open flags 0" + Integer.toOctalString(flags));
        }
        long ino = fs.create(dir, name, Attributes.S_IFREG | (mode & 07777), uid, gid, 0);
        ByteBuffer r = entry(unique, ino, OPEN_OUT_SIZE);
        long fh = install(new Handle(nodeid(ino), ino, false, flags));
        r.putLong(fh).putInt(keepCache ? FOPEN_KEEP_CACHE : 0).putInt(0);
        return done(r);
    }

    private ByteBuffer read(long unique, long nodeid, In in, ByteBuffer area) throws BadRequest, ErrnoException {
        ino(nodeid);
        in.need(24, "fuse_read_in");
        long fh = in.u64();
        long offset = in.u64();
        int size = in.u32();
        Handle h = handle(nodeid, fh, false);
        if ((h.flags & OpenFlags.O_ACCMODE) == OpenFlags.O_WRONLY && !writeback) {
            // With the writeback cache the kernel reads through any handle to fill a page it caches.
            throw new ErrnoException(Errno.EBADF, "fh " + fh + " is not open for reading");
        }
        if (offset < 0) {
            throw new ErrnoException(Errno.EINVAL, "offset " + Long.toUnsignedString(offset));
        }
        if (size < 0 || size > MAX_TRANSFER) {
            throw new BadRequest(Errno.EINVAL, "READ of " + Integer.toUnsignedString(size) + " bytes");
        }
        ByteBuffer r = reply(unique, size, area);
        ByteBuffer dst = r.slice(OUT_HEADER_SIZE, size);
        while (dst.hasRemaining()) {
            int n = fs.read(h.ino, offset + dst.position(), dst); // stops at the end of the file
            if (n <= 0) {
                break;
            }
        }
        r.position(OUT_HEADER_SIZE + dst.position());
        return done(r);
    }

    private ByteBuffer write(long unique, long nodeid, In in) throws BadRequest, ErrnoException {
        ino(nodeid);
        in.need(40, "fuse_write_in");
        long fh = in.u64();
        long offset = in.u64();
        int size = in.u32();
        in.skip(20);
        if (size != in.remaining()) {
            throw new BadRequest(Errno.EINVAL, "WRITE of " + Integer.toUnsignedString(size) + " bytes carries "
                    + in.remaining());
        }
        Handle h = handle(nodeid, fh, false);
        if ((h.flags & OpenFlags.O_ACCMODE) == OpenFlags.O_RDONLY) {
            throw new ErrnoException(Errno.EBADF, "fh " + fh + " is not open for writing");
        }
        if (offset < 0 || offset + size < 0) {
            throw new ErrnoException(Errno.EFBIG, "offset " + Long.toUnsignedString(offset));
        }
        ByteBuffer src = in.b.slice(in.pos, size);
        while (src.hasRemaining()) {
            int n = fs.write(h.ino, offset + src.position(), src);
            if (n <= 0) {
                break;
            }
        }
        ByteBuffer r = reply(unique, 8);
        r.putInt(src.position()).putInt(0);
        return done(r);
    }

    // ---- directories -------------------------------------------------------------------------------

    private ByteBuffer readdir(long unique, long nodeid, boolean plus, In in) throws BadRequest, ErrnoException {
        ino(nodeid);
        in.need(24, "fuse_read_in");
        long fh = in.u64();
        long offset = in.u64();
        int size = in.u32();
        if (size < 0 || size > MAX_TRANSFER) {
            throw new BadRequest(Errno.EINVAL, "READDIR of " + Integer.toUnsignedString(size) + " bytes");
        }
        Handle h = handle(nodeid, fh, true);
        List<DirEntry> listing;
        synchronized (h) {
            if (h.listing == null || offset == 0) {
                h.listing = fs.readdir(h.ino);
            }
            listing = h.listing;
        }
        ByteBuffer r = reply(unique, size);
        int end = OUT_HEADER_SIZE + size;
        for (long i = offset; i >= 0 && i < listing.size(); i++) {
            DirEntry e = listing.get((int) i);
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            int record = align8(DIRENT_SIZE + name.length) + (plus ? ENTRY_OUT_SIZE : 0);
            if (r.position() + record > end) {
                break;
            }
            if (plus) {
                boolean dot = e.name().equals(".") || e.name().equals("..");
                Attributes a = null;
                if (!dot) {
                    try {
                        a = fs.getattr(e.ino());
                    } catch (ErrnoException gone) {
                        a = null; // removed meanwhile: an entry without a node
                    }
                }
                if (a == null) {
                    // nodeid 0: the kernel takes no reference and does not cache it
                    r.put(new byte[ENTRY_OUT_SIZE]);
                } else {
                    long id = nodeid(e.ino());
                    putEntry(r, id, a);
                    addLookup(id);
                }
            }
            int at = r.position();
            r.putLong(e.ino());
            r.putLong(i + 1);
            r.putInt(name.length);
            r.putInt(e.type());
            r.put(name);
            r.position(at + align8(DIRENT_SIZE + name.length)); // padding is already zero
        }
        return done(r);
    }

    static int align8(int n) {
        return (n + 7) & ~7;
    }

    private ByteBuffer statfs(long unique, long nodeid) throws ErrnoException {
        ino(nodeid);
        StatVfs s = fs.statvfs();
        ByteBuffer r = reply(unique, 80);
        r.putLong(s.blocks());
        r.putLong(s.freeBlocks());
        r.putLong(s.availableBlocks());
        r.putLong(s.files());
        r.putLong(s.freeFiles());
        r.putInt(s.blockSize());
        r.putInt(s.nameMax());
        r.putInt(s.blockSize()); // frsize
        r.position(OUT_HEADER_SIZE + 80);
        return done(r);
    }
}
