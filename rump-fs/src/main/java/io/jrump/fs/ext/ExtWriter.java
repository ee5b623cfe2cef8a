package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The changing half of ext2/3/4: files written, extended and truncated; inodes created, linked,
 * unlinked, renamed; attributes set; unlinked-but-open inodes kept on the orphan list until their
 * last close. Every change goes into the running transaction of {@link ExtFs}; callers hold the
 * filesystem lock.
 */
final class ExtWriter {
    static final int LINK_MAX = 65000;

    private final ExtFs fs;
    private final Allocator alloc;
    private final DirWriter dirs;
    private final Superblock sb;
    private final InlineData inline;
    /**
     * Regular files created by this mount and not yet written: as the kernel's
     * EXT4_STATE_MAY_INLINE_DATA, their first write goes inline if it fits. Bounded; a file left
     * out only loses the chance.
     */
    private final java.util.Set<Long> mayInline = new java.util.HashSet<>();
    private int generation;

    ExtWriter(ExtFs fs, Allocator alloc) {
        this.fs = fs;
        this.alloc = alloc;
        this.sb = fs.superblock();
        this.inline = new InlineData(fs);
        this.dirs = new DirWriter(fs, this, inline);
        this.generation = (int) (fs.now() / 1000) ^ 0x5bd1e995;
    }

    Allocator allocator() {
        return alloc;
    }

    private long now() {
        return fs.now();
    }

    private RawInode load(long ino) throws ErrnoException {
        return fs.readRawInode(ino);
    }

    private void store(RawInode n) throws ErrnoException {
        fs.writeInode(n);
    }

    private static boolean isDir(RawInode n) {
        return (n.mode() & Inode.S_IFMT) == Inode.S_IFDIR;
    }

    private static int type(RawInode n) {
        return n.mode() & Inode.S_IFMT;
    }

    private RawInode loadDir(long dir) throws ErrnoException {
        RawInode d = load(dir);
        if (!isDir(d)) {
            throw new ErrnoException(Errno.ENOTDIR, fs.deviceName() + ": inode " + dir + " is not a directory");
        }
        if (d.links() == 0) {
            throw new ErrnoException(Errno.ENOENT, fs.deviceName() + ": directory inode " + dir + " has been removed");
        }
        return d;
    }

    private void checkName(String name) throws ErrnoException {
        if (name.isEmpty() || name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
            throw new ErrnoException(Errno.EINVAL, "invalid file name '" + name + "'");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > 255) {
            throw new ErrnoException(Errno.ENAMETOOLONG, name);
        }
    }

    /** The inode {@code name} names in {@code dir}, or 0. */
    private long entry(RawInode dir, String name) throws ErrnoException {
        return fs.dirCache.lookup(dir.number, name);
    }

    private long goalFor(long ino) {
        return sb.firstDataBlock() + (ino - 1) / sb.inodesPerGroup() * sb.blocksPerGroup();
    }

    private boolean extents() {
        return (sb.featureIncompat() & Superblock.INCOMPAT_EXTENTS) != 0;
    }

    // ---- creating --------------------------------------------------------------------------------

    /** Creates a file, directory, fifo, socket or device node; returns its inode. */
    long create(long dir, String name, int mode, long uid, long gid, long rdev) throws ErrnoException {
        checkName(name);
        RawInode d = loadDir(dir);
        dirs.checkNewName(d, name);
        if (entry(d, name) != 0) {
            throw new ErrnoException(Errno.EEXIST, name);
        }
        boolean directory = (mode & Inode.S_IFMT) == Inode.S_IFDIR;
        if (directory && d.links() >= LINK_MAX && !dirNlink()) {
            throw new ErrnoException(Errno.EMLINK, name + ": directory inode " + dir + " has " + d.links()
                    + " links and the filesystem lacks dir_nlink");
        }
        RawInode n = newInode(dir, mode, uid, gid, directory);
        int t = mode & Inode.S_IFMT;
        if (t == 0x2000 || t == 0x6000) { // character and block devices keep their number in i_block
            ByteBuffer ib = n.iblock();
            long major = rdev >>> 8 & 0xfff;
            long minor = rdev & 0xff | (rdev >>> 12 & ~0xffL);
            if (major < 256 && minor < 256) {
                ib.putInt(0, (int) (major << 8 | minor));
            } else {
                ib.putInt(4, (int) (minor & 0xff | major << 8 | (minor & ~0xffL) << 12));
            }
        } else if (extents() && (t == Inode.S_IFREG || directory)) {
            n.flags(n.flags() | Inode.EXTENTS_FL);
            ExtentTree.init(n);
        }
        if (directory) {
            if (Casefold.applies(sb, d.parsed())) {
                n.flags(n.flags() | Casefold.CASEFOLD_FL); // inherited, as ext4 gives new directories
            }
            n.links(2);
            if (dirs.inlineDirs().canCreate(n)) {
                dirs.inlineDirs().init(n, dir); // as ext4's mkdir on an inline_data filesystem
            } else {
                long pb = appendBlock(n, 0);
                dirs.initBlock(n, pb, dir);
            }
            d.links(withSubdirectory(d.links()));
        } else if (t == Inode.S_IFREG && inline.enabled() && mayInline.size() < 1 << 16) {
            mayInline.add(n.number);
        }
        store(n);
        dirs.add(d, name, n.number, fs.fileTypeCode(mode));
        touch(d, true);
        store(d);
        return n.number;
    }

    private boolean dirNlink() {
        return sb.hasDirNlink();
    }

    /**
     * A directory's link count once it has one more subdirectory, as ext4 counts with dir_nlink:
     * past {@link #LINK_MAX} the count is 1 ("many"), and a count of 1 stays 1. Without
     * dir_nlink callers refuse with EMLINK before the count would pass the limit.
     */
    static int withSubdirectory(int links) {
        int n = links + 1;
        return n > LINK_MAX || n == 2 ? 1 : n;
    }

    private RawInode newInode(long parent, int mode, long uid, long gid, boolean directory) throws ErrnoException {
        long ino = alloc.allocInode(parent, directory);
        RawInode n = new RawInode(ino, new byte[sb.inodeSize()]);
        n.mode(mode);
        n.uid(uid);
        n.gid(gid);
        n.links(1);
        n.generation(++generation);
        if (sb.inodeSize() > 128) {
            n.b.putShort(128, (short) 32);
            inheritProject(parent, n, directory);
        }
        long t = now();
        n.atime(t);
        n.mtime(t);
        n.ctime(t);
        n.crtime(t);
        return n;
    }

    /**
     * A new xattr value inode (ea_inode) near {@code owner}: a regular file, mode 0600, owned by
     * root, flagged EA_INODE_FL and holding {@code value}; its hash and references are the caller's.
     */
    long createEaInode(long owner, byte[] value) throws ErrnoException {
        RawInode n = newInode(owner, Inode.S_IFREG | 0600, 0, 0, false);
        n.flags(n.flags() | Inode.EA_INODE_FL);
        if (extents()) {
            n.flags(n.flags() | Inode.EXTENTS_FL);
            ExtentTree.init(n);
        }
        store(n);
        write(n.number, 0, ByteBuffer.wrap(value));
        return n.number;
    }

    /** Frees an xattr value inode whose last reference went. */
    void freeEaInode(long inum) throws ErrnoException {
        free(load(inum));
    }

    /** EXT4_PROJINHERIT_FL: new inodes under this directory take its project id. */
    private static final int PROJINHERIT_FL = 0x20000000;

    /** With project: the parent's project id, if it passes it on (and to directories the flag too), as ext4. */
    private void inheritProject(long parent, RawInode n, boolean directory) throws ErrnoException {
        if ((sb.featureRoCompat() & Quota.RO_COMPAT_PROJECT) == 0) {
            return;
        }
        RawInode p = load(parent);
        int extra = p.b.capacity() > 128 ? p.b.getShort(128) & 0xffff : 0;
        if ((p.flags() & PROJINHERIT_FL) != 0 && extra >= 32) {
            n.b.putInt(156, p.b.getInt(156));
            if (directory) {
                n.flags(n.flags() | PROJINHERIT_FL);
            }
        }
    }

    /** A symbolic link: the target in i_block when it fits (a fast symlink), else in one block. */
    long symlink(long dir, String name, String target, long uid, long gid) throws ErrnoException {
        checkName(name);
        byte[] t = target.getBytes(StandardCharsets.UTF_8);
        if (t.length == 0 || t.length >= Math.min(4096, sb.blockSize())) {
            throw new ErrnoException(t.length == 0 ? Errno.ENOENT : Errno.ENAMETOOLONG, "symlink target of " + t.length + " bytes");
        }
        RawInode d = loadDir(dir);
        dirs.checkNewName(d, name);
        if (entry(d, name) != 0) {
            throw new ErrnoException(Errno.EEXIST, name);
        }
        RawInode n = newInode(dir, Inode.S_IFLNK | 0777, uid, gid, false);
        if (t.length < 60) {
            n.iblock().put(0, t);
        } else {
            if (extents()) {
                n.flags(n.flags() | Inode.EXTENTS_FL);
                ExtentTree.init(n);
            }
            long pb = appendBlock(n, 0);
            fs.metaZeroed(pb).put(0, t);
        }
        n.size(t.length);
        store(n);
        dirs.add(d, name, n.number, fs.fileTypeCode(Inode.S_IFLNK));
        touch(d, true);
        store(d);
        return n.number;
    }

    void link(long dir, String name, long ino) throws ErrnoException {
        checkName(name);
        RawInode d = loadDir(dir);
        dirs.checkNewName(d, name);
        RawInode n = load(ino);
        if (isDir(n)) {
            throw new ErrnoException(Errno.EPERM, name + ": hard links to directories are not allowed");
        }
        if (n.links() >= LINK_MAX) {
            throw new ErrnoException(Errno.EMLINK, name + ": inode " + ino + " has " + n.links() + " links");
        }
        if (entry(d, name) != 0) {
            throw new ErrnoException(Errno.EEXIST, name);
        }
        dirs.add(d, name, ino, fs.fileTypeCode(n.mode()));
        n.links(n.links() + 1);
        n.ctime(now());
        store(n);
        touch(d, true);
        store(d);
    }

    // ---- removing --------------------------------------------------------------------------------

    /** Removes a non-directory's name; its inode goes when the last name and the last open file do. */
    void unlink(long dir, String name, boolean open) throws ErrnoException {
        RawInode d = loadDir(dir);
        dirs.checkNames(d);
        long ino = entry(d, name);
        if (ino == 0) {
            throw new ErrnoException(Errno.ENOENT, name);
        }
        RawInode n = load(ino);
        if (isDir(n)) {
            throw new ErrnoException(Errno.EISDIR, name);
        }
        dirs.remove(d, name);
        touch(d, true);
        store(d);
        if (n.links() == 0) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": inode " + ino + " is named by '" + name
                    + "' but has no links");
        }
        n.links(n.links() - 1);
        n.ctime(now());
        dropIfUnlinked(n, open);
    }

    void rmdir(long dir, String name, boolean open) throws ErrnoException {
        if (Dirent.isDot(name)) {
            throw new ErrnoException(Errno.EINVAL, name);
        }
        if (Dirent.isDotDot(name)) {
            throw new ErrnoException(Errno.ENOTEMPTY, name);
        }
        RawInode d = loadDir(dir);
        dirs.checkNames(d);
        long ino = entry(d, name);
        if (ino == 0) {
            throw new ErrnoException(Errno.ENOENT, name);
        }
        RawInode n = load(ino);
        if (!isDir(n)) {
            throw new ErrnoException(Errno.ENOTDIR, name);
        }
        if (!isEmpty(n)) {
            throw new ErrnoException(Errno.ENOTEMPTY, name);
        }
        dirs.remove(d, name);
        fs.dirCache.dropped(ino);
        if (d.links() > 2) {
            d.links(d.links() - 1);
        }
        touch(d, true);
        store(d);
        n.links(0);
        n.ctime(now());
        dropIfUnlinked(n, open);
    }

    private boolean isEmpty(RawInode dir) throws ErrnoException {
        for (Dirent e : fs.readDir(dir.parsed())) {
            if (!Dirent.isDot(e.name()) && !Dirent.isDotDot(e.name())) {
                return false;
            }
        }
        return true;
    }

    /** An inode with no names left is freed now, or put on the orphan list while it is open. */
    private void dropIfUnlinked(RawInode n, boolean open) throws ErrnoException {
        if (n.links() > 0) {
            store(n);
        } else if (open) {
            n.dtime(fs.lastOrphan());
            fs.lastOrphan(n.number);
            store(n);
        } else {
            free(n);
        }
    }

    /** The last close of an unlinked inode: off the orphan list, and freed. */
    void releaseOrphan(long ino) throws ErrnoException {
        RawInode n = load(ino);
        if (n.links() > 0) {
            return;
        }
        unchainOrphan(ino);
        free(load(ino));
    }

    private void unchainOrphan(long ino) throws ErrnoException {
        long cur = fs.lastOrphan();
        if (cur == ino) {
            fs.lastOrphan(load(ino).dtime());
            return;
        }
        for (long steps = 0; cur != 0 && steps < sb.inodesCount(); steps++) {
            RawInode c = load(cur);
            if (c.dtime() == ino) {
                c.dtime(load(ino).dtime());
                store(c);
                return;
            }
            cur = c.dtime();
        }
        throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": orphan inode " + ino + " is not on the orphan list");
    }

    /** Frees what the orphan list holds, as a read-write mount does after a crash. */
    int processOrphans() throws ErrnoException {
        int n = 0;
        long cur = fs.lastOrphan();
        fs.lastOrphan(0);
        for (long steps = 0; cur != 0; steps++) {
            if (steps >= sb.inodesCount() || cur > sb.inodesCount()) {
                throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": orphan list loops or leaves the inode table at "
                        + cur);
            }
            RawInode o = load(cur);
            long next = o.dtime();
            if (o.links() == 0) {
                free(o);
            } else {
                o.dtime(0); // a truncate that was cut short: the size already says what to keep
                store(o);
            }
            n++;
            cur = next;
        }
        return n;
    }

    /**
     * An inode the orphan file lists: freed if no name is left, else (a truncate cut short) a
     * regular file loses the blocks past its size, as ext4's orphan cleanup does.
     */
    void finishOrphan(long ino) throws ErrnoException {
        RawInode o = load(ino);
        if (o.links() == 0) {
            free(o);
        } else if (type(o) == Inode.S_IFREG && hasBlocks(o)) {
            cutBlocks(o, (o.size() + sb.blockSize() - 1) / sb.blockSize());
            store(o);
        }
    }

    /** Frees all of an inode: its blocks, its xattr block, then the inode itself. */
    private void free(RawInode n) throws ErrnoException {
        if (EaInodes.enabled(sb)) {
            new XattrStore(fs).dropValueInodes(n); // before the xattr block goes: it names some of them
        }
        if (hasBlocks(n)) {
            cutBlocks(n, 0);
        }
        if (n.fileAcl() != 0) {
            releaseXattrBlock(n);
        }
        mayInline.remove(n.number);
        n.dtime(Math.max(1, now() / 1_000_000_000L));
        n.links(0);
        n.size(0);
        store(n);
        alloc.freeInode(n.number, isDir(n));
    }

    private boolean hasBlocks(RawInode n) {
        int t = type(n);
        if ((n.flags() & Inode.INLINE_DATA_FL) != 0 || t == 0x2000 || t == 0x6000 || t == 0x1000 || t == 0xC000) {
            return false;
        }
        return !n.parsed().isFastSymlink(sb.blockSize());
    }

    private void releaseXattrBlock(RawInode n) throws ErrnoException {
        long block = n.fileAcl();
        int refs = fs.metaForRead(block, "inode " + n.number + " xattr block").getInt(4);
        XattrStore.release(fs, n, block, refs);
        n.fileAcl(0);
        n.blocks512(Math.max(0, n.blocks512() - alloc.sectorsPerAllocation()));
    }

    // ---- renaming --------------------------------------------------------------------------------

    /** rename(2): moves {@code from} to {@code to}, replacing a compatible target. */
    void rename(long fromDir, String fromName, long toDir, String toName, java.util.function.LongPredicate open)
            throws ErrnoException {
        checkName(toName);
        if (Dirent.isDot(fromName) || Dirent.isDotDot(fromName) || Dirent.isDot(toName) || Dirent.isDotDot(toName)) {
            throw new ErrnoException(Errno.EINVAL, "cannot rename '.' or '..'");
        }
        RawInode s = loadDir(fromDir);
        RawInode d = toDir == fromDir ? s : loadDir(toDir);
        dirs.checkNames(s);
        dirs.checkNewName(d, toName);
        long ino = entry(s, fromName);
        if (ino == 0) {
            throw new ErrnoException(Errno.ENOENT, fromName);
        }
        RawInode n = load(ino);
        boolean directory = isDir(n);
        if (directory && fromDir != toDir) {
            checkNotAncestor(ino, toDir); // before anything else, as Linux checks it
            if (d.links() >= LINK_MAX && !dirNlink()) {
                throw new ErrnoException(Errno.EMLINK, toName + ": directory inode " + toDir + " has " + d.links()
                        + " links and the filesystem lacks dir_nlink");
            }
        }
        long target = entry(d, toName);
        if (target == ino) {
            return; // the same file under both names: POSIX says do nothing
        }
        RawInode t = target != 0 ? load(target) : null;
        if (t != null) {
            if (directory && !isDir(t)) {
                throw new ErrnoException(Errno.ENOTDIR, toName);
            }
            if (!directory && isDir(t)) {
                throw new ErrnoException(Errno.EISDIR, toName);
            }
            if (isDir(t) && !isEmpty(t)) {
                throw new ErrnoException(Errno.ENOTEMPTY, toName);
            }
        }
        if (t != null) {
            dirs.replace(d, toName, ino, fs.fileTypeCode(n.mode()));
        } else {
            dirs.add(d, toName, ino, fs.fileTypeCode(n.mode()));
        }
        dirs.remove(s, fromName);
        if (directory && fromDir != toDir) {
            // The moved directory's ".." now counts on its new parent instead of the old one.
            dirs.setParent(n, toDir);
            if (s.links() > 2) {
                s.links(s.links() - 1);
            }
            d.links(withSubdirectory(d.links()));
        }
        if (t != null && isDir(t) && d.links() > 2) {
            d.links(d.links() - 1); // the replaced directory's ".." no longer counts
        }
        n.ctime(now());
        store(n);
        touch(s, true);
        store(s);
        if (d != s) {
            touch(d, true);
            store(d);
        }
        if (t != null) {
            t.links(isDir(t) ? 0 : t.links() - 1);
            t.ctime(now());
            dropIfUnlinked(t, open.test(target));
        }
    }

    /** EINVAL if {@code dir} is {@code ino} or lies below it: a directory cannot move into itself. */
    private void checkNotAncestor(long ino, long dir) throws ErrnoException {
        long cur = dir;
        for (long steps = 0; steps < sb.inodesCount(); steps++) {
            if (cur == ino) {
                throw new ErrnoException(Errno.EINVAL, "cannot move a directory into itself");
            }
            if (cur == ExtFs.ROOT_INODE) {
                return;
            }
            cur = entry(load(cur), "..");
            if (cur == 0) {
                throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": directory inode " + dir + " has no '..'");
            }
        }
        throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": the '..' chain from inode " + dir + " loops");
    }

    // ---- data ------------------------------------------------------------------------------------

    private long maxFileBlocks() {
        return extents() ? 1L << 32 : BlockMap.maxBlocks(sb.blockSize());
    }

    private RawInode loadRegular(long ino) throws ErrnoException {
        RawInode n = load(ino);
        if (isDir(n)) {
            throw new ErrnoException(Errno.EISDIR, fs.deviceName() + ": inode " + ino + " is a directory");
        }
        if (type(n) != Inode.S_IFREG) {
            throw new ErrnoException(Errno.EINVAL, fs.deviceName() + ": inode " + ino + " is not a regular file");
        }
        return n;
    }

    private void checkSize(long ino, long end) throws ErrnoException {
        boolean largeFile = (sb.featureRoCompat() & 0x2) != 0;
        long limit = largeFile ? maxFileBlocks() * sb.blockSize() : Integer.MAX_VALUE;
        if (end > limit || end < 0) {
            throw new ErrnoException(Errno.EFBIG, fs.deviceName() + ": inode " + ino + ": size " + end
                    + " beyond the largest file this filesystem can hold (" + limit + ")");
        }
    }

    /** Writes {@code src} at {@code pos}; returns the bytes written (all of them). */
    int write(long ino, long pos, ByteBuffer src) throws ErrnoException {
        RawInode n = loadRegular(ino);
        int len = src.remaining();
        if (len == 0) {
            return 0;
        }
        checkSize(ino, pos + len);
        boolean isInline = InlineData.isInline(n);
        if (isInline || mayInline.contains(ino) && n.size() == 0 && dataBlocks(n) == 0) {
            if (inline.write(n, pos, src, !isInline)) {
                mayInline.remove(ino);
                touch(n, true);
                store(n);
                src.position(src.limit());
                return len;
            }
            if (isInline) {
                inlineToBlocks(n);
            }
            mayInline.remove(ino);
        }
        writeMapped(n, pos, src);
        touch(n, true);
        store(n);
        src.position(src.limit());
        return len;
    }

    /** Blocks an inode holds besides its xattr block. */
    private long dataBlocks(RawInode n) {
        return n.blocks512() / (sb.blockSize() / 512) - (n.fileAcl() != 0 ? 1 : 0);
    }

    /**
     * An inline file that outgrows its inode: its bytes move to blocks (an extent tree on an
     * extents filesystem, else a block map), system.data goes and the flag is cleared, as ext4's
     * ext4_convert_inline_data does.
     */
    private void inlineToBlocks(RawInode n) throws ErrnoException {
        byte[] data = inline.content(n);
        inline.end(n);
        if (extents()) {
            n.flags(n.flags() | Inode.EXTENTS_FL);
            ExtentTree.init(n);
        }
        if (data.length > 0) {
            writeMapped(n, 0, ByteBuffer.wrap(data));
        }
    }

    /** Writes {@code src} at {@code pos} through the block mapping, allocating blocks as needed; grows the size. */
    private void writeMapped(RawInode n, long pos, ByteBuffer src) throws ErrnoException {
        int len = src.remaining();
        FileMap map = new FileMap(n);
        int bs = sb.blockSize();
        long end = pos + len;
        long lb = pos / bs;
        long last = (end - 1) / bs;
        long goal = map.goalBefore(lb);
        while (lb <= last) {
            long[] m = map.lookup(lb, last - lb + 1); // {physical, run, unwritten}
            long run = Math.min(m[1], last - lb + 1);
            if (m[0] == 0) {
                long[] got = place(map, lb, Math.min(run, 8192), goal);
                writeBlocks(got[0], lb, got[1], pos, src, true);
                map.mapped(lb, got[0], got[1]);
                n.blocks512(n.blocks512() + got[2]);
                goal = got[0] + got[1];
                lb += got[1];
            } else {
                run = Math.min(run, 8192);
                writeBlocks(m[0], lb, run, pos, src, m[2] != 0);
                if (m[2] != 0) {
                    map.mapped(lb, m[0], run);
                }
                goal = m[0] + run;
                lb += run;
            }
        }
        map.finish();
        if (end > n.size()) {
            n.size(end);
        }
    }

    /**
     * Where the first {@code run} blocks of a hole at logical {@code lb} go: {physical, blocks,
     * sectors to add to i_blocks}. With bigalloc a block whose logical cluster the file already
     * maps goes into that cluster (nothing allocated, nothing charged); otherwise whole clusters
     * are allocated, each block at its own offset in them, and charged whole.
     */
    private long[] place(FileMap map, long lb, long run, long goal) throws ErrnoException {
        if (!sb.hasBigalloc()) {
            long[] got = alloc.allocBlocks(goal, run);
            return new long[] {got[0], got[1], got[1] * (sb.blockSize() / 512)};
        }
        if (map.extents == null) {
            throw new ErrnoException(Errno.EOPNOTSUPP, fs.deviceName() + ": inode " + map.n.number
                    + " maps blocks without extents on a bigalloc filesystem; writing it is not supported");
        }
        int c = sb.clusterRatio();
        long off = lb & (c - 1);
        long owned = Clusters.physicalCluster(map.extents, lb - off, c);
        if (owned != -1 && (owned < 0 || (owned & (c - 1)) != 0 || owned + c > sb.blocksCount())) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": inode " + map.n.number + ": logical block "
                    + (lb - off) + " would lie at block " + owned + ", not the start of a cluster of " + c
                    + " blocks (an extent breaks bigalloc's cluster rule)");
        }
        if (owned >= 0) {
            return new long[] {owned + off, Math.min(run, c - off), 0};
        }
        long end = lb + run;
        long endCluster = end & -(long) c;
        if (end != endCluster && endCluster > lb && Clusters.physicalCluster(map.extents, endCluster, c) >= 0) {
            end = endCluster; // the hole's last logical cluster is mapped already, beyond the hole
        }
        long[] got = alloc.allocBlocks(goal, off + end - lb);
        return new long[] {got[0] + off, Math.min(end - lb, got[1] - off), got[1] / c * alloc.sectorsPerAllocation()};
    }

    /**
     * Writes the part of {@code src} (which starts at file offset {@code pos}) that falls in
     * {@code count} blocks from logical {@code lb}, to physical {@code phys}. Blocks only partly
     * covered are read first, or zero-filled when {@code fresh}.
     */
    private void writeBlocks(long phys, long lb, long count, long pos, ByteBuffer src, boolean fresh) throws ErrnoException {
        int bs = sb.blockSize();
        long from = lb * bs;
        long to = from + count * bs;
        long srcEnd = pos + src.remaining();
        long dataFrom = Math.max(from, pos);
        long dataTo = Math.min(to, srcEnd);
        int srcOff = src.position() + (int) (dataFrom - pos);
        if (dataFrom == from && dataTo == to) {
            fs.writeData(phys * bs, src.duplicate().limit(srcOff + (int) (to - from)).position(srcOff));
            return;
        }
        ByteBuffer buf = ByteBuffer.allocate((int) (to - from));
        if (!fresh) {
            if (dataFrom > from) {
                fs.readData(phys * bs, buf.duplicate().limit(bs));
            }
            if (dataTo < to && (count > 1 || dataFrom == from)) {
                fs.readData((phys + count - 1) * bs, buf.duplicate().position((int) (to - from - bs)));
            }
        }
        buf.put((int) (dataFrom - from), src, srcOff, (int) (dataTo - dataFrom));
        fs.writeData(phys * bs, buf);
    }

    /** truncate(2): a new size; blocks past it are freed, the tail of the last block zeroed. */
    void truncate(long ino, long size) throws ErrnoException {
        if (size < 0) {
            throw new ErrnoException(Errno.EINVAL, "negative size " + size);
        }
        RawInode n = loadRegular(ino);
        checkSize(ino, size);
        int bs = sb.blockSize();
        if (InlineData.isInline(n)) {
            if (size <= n.size() && size <= inline.capacity(n)) {
                inline.shrink(n, size);
                touch(n, true);
                store(n);
                return;
            }
            inlineToBlocks(n); // growing: ext4 moves the data to blocks first
        }
        if (size < n.size()) {
            if (size % bs != 0) {
                zeroTail(n, size);
            }
            cutBlocks(n, (size + bs - 1) / bs);
        }
        n.size(size);
        touch(n, true);
        store(n);
    }

    private void zeroTail(RawInode n, long size) throws ErrnoException {
        int bs = sb.blockSize();
        ExtFs.Mapping m = fs.map(n.parsed(), size / bs);
        if (m.physical() == 0 || m.unwritten()) {
            return;
        }
        ByteBuffer b = ByteBuffer.allocate(bs);
        fs.readData(m.physical() * bs, b);
        for (int i = (int) (size % bs); i < bs; i++) {
            b.put(i, (byte) 0);
        }
        fs.writeData(m.physical() * bs, b.clear());
    }

    /** Frees every block at or after logical {@code from}. */
    private void cutBlocks(RawInode n, long from) throws ErrnoException {
        if ((n.flags() & Inode.EXTENTS_FL) != 0) {
            ExtentTree.Loaded tree = ExtentTree.load(fs, n);
            long[] freed = {0};
            List<ExtentTree.Extent> kept = ExtentTree.truncate(tree.extents(), from, sb.hasBigalloc() ? null : alloc, freed);
            if (sb.hasBigalloc()) {
                freed[0] = Clusters.releaseFrom(tree.extents(), from, alloc, sb.clusterRatio()) * sb.clusterRatio();
            }
            n.blocks512(Math.max(0, n.blocks512() - freed[0] * (sb.blockSize() / 512)));
            ExtentTree.store(fs, alloc, n, kept, tree.treeBlocks());
        } else if (sb.hasBigalloc()) {
            throw new ErrnoException(Errno.EOPNOTSUPP, fs.deviceName() + ": inode " + n.number
                    + " maps blocks without extents on a bigalloc filesystem; freeing them is not supported");
        } else {
            BlockMap.truncate(fs, alloc, n, from);
        }
    }

    /** Adds a block at logical {@code lb} of a directory or symlink; returns its physical number. */
    long appendBlock(RawInode n, long lb) throws ErrnoException {
        FileMap map = new FileMap(n);
        long[] got = place(map, lb, 1, lb == 0 ? goalFor(n.number) : map.goalBefore(lb));
        map.mapped(lb, got[0], 1);
        map.finish();
        n.blocks512(n.blocks512() + got[2]);
        if (isDir(n)) {
            n.size((lb + 1) * sb.blockSize());
        }
        return got[0];
    }

    // ---- attributes ------------------------------------------------------------------------------

    /** chmod/chown/utimensat in one: a negative value leaves its field alone. */
    /**
     * Sets or clears a directory's casefold flag, as ext4's FS_IOC_SETFLAGS does for chattr +F
     * and -F: only with the casefold feature, only on a directory, only while it is empty.
     */
    void setCasefold(long ino, boolean on) throws ErrnoException {
        RawInode n = load(ino);
        if ((sb.featureIncompat() & Superblock.INCOMPAT_CASEFOLD) == 0) {
            throw new ErrnoException(Errno.EOPNOTSUPP, fs.deviceName() + ": the filesystem lacks the casefold feature");
        }
        if (!isDir(n)) {
            throw new ErrnoException(Errno.ENOTDIR, "inode " + ino);
        }
        if (((n.flags() & Casefold.CASEFOLD_FL) != 0) == on) {
            return;
        }
        dirs.checkNames(n);
        if (!isEmpty(n)) {
            throw new ErrnoException(Errno.ENOTEMPTY, "inode " + ino + ": the casefold flag changes only on an empty directory");
        }
        n.flags(on ? n.flags() | Casefold.CASEFOLD_FL : n.flags() & ~Casefold.CASEFOLD_FL);
        n.ctime(now());
        store(n);
        fs.dirCache.dropped(ino);
    }

    void setattr(long ino, int mode, long uid, long gid, long atimeNanos, long mtimeNanos) throws ErrnoException {
        RawInode n = load(ino);
        if (mode >= 0) {
            n.mode((n.mode() & Inode.S_IFMT) | (mode & 07777));
        }
        if (uid >= 0) {
            n.uid(uid);
        }
        if (gid >= 0) {
            n.gid(gid);
        }
        if (atimeNanos != Long.MIN_VALUE) {
            n.atime(atimeNanos);
        }
        if (mtimeNanos != Long.MIN_VALUE) {
            n.mtime(mtimeNanos);
        }
        n.ctime(now());
        store(n);
    }

    private void touch(RawInode n, boolean modified) {
        long t = now();
        if (modified) {
            n.mtime(t);
        }
        n.ctime(t);
    }

    /**
     * One file's block mapping during a write: an extent list held in memory and written back
     * once, or a block map changed in place.
     */
    private final class FileMap {
        private final RawInode n;
        private final ExtentTree.Loaded tree;
        private List<ExtentTree.Extent> extents;
        private boolean changed;

        FileMap(RawInode n) throws ErrnoException {
            this.n = n;
            this.tree = (n.flags() & Inode.EXTENTS_FL) != 0 ? ExtentTree.load(fs, n) : null;
            this.extents = tree != null ? tree.extents() : null;
        }

        /** {physical (0 for a hole), blocks in the run, unwritten (1) or not} for logical {@code lb}. */
        long[] lookup(long lb, long want) throws ErrnoException {
            if (tree == null) {
                ExtFs.Mapping m = fs.map(n.parsed(), lb);
                if (m.physical() != 0) {
                    return new long[] {m.physical(), 1, 0};
                }
                return new long[] {0, 1, 0};
            }
            int lo = 0;
            int hi = extents.size() - 1;
            long nextStart = Long.MAX_VALUE;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                ExtentTree.Extent e = extents.get(mid);
                if (lb < e.logical()) {
                    nextStart = e.logical();
                    hi = mid - 1;
                } else if (lb >= e.end()) {
                    lo = mid + 1;
                } else {
                    return new long[] {e.physical() + (lb - e.logical()), e.end() - lb, e.unwritten() ? 1 : 0};
                }
            }
            return new long[] {0, Math.min(want, nextStart - lb), 0};
        }

        /** Where to look for blocks for logical {@code lb}: right after the block before it. */
        long goalBefore(long lb) throws ErrnoException {
            if (lb > 0) {
                long[] prev = lookup(lb - 1, 1);
                if (prev[0] != 0) {
                    return prev[0] + 1;
                }
            }
            if (tree != null && !extents.isEmpty()) {
                // As ext4_ext_find_goal: where lb lies if the file is contiguous with its nearest
                // mapped neighbour, so writes that arrive out of order (several FUSE workers, the
                // kernel's writeback) still fill one run instead of interleaving their extents.
                ExtentTree.Extent before = null;
                ExtentTree.Extent after = null;
                for (ExtentTree.Extent e : extents) {
                    if (e.logical() <= lb) {
                        before = e;
                    } else {
                        after = e;
                        break;
                    }
                }
                if (before != null) {
                    return before.physical() + (lb - before.logical());
                }
                long below = after.physical() - (after.logical() - lb);
                return below > 0 ? below : after.physical() + after.length();
            }
            return goalFor(n.number);
        }

        void mapped(long lb, long physical, long count) throws ErrnoException {
            if (tree == null) {
                for (long k = 0; k < count; k++) {
                    BlockMap.set(fs, alloc, n, lb + k, physical + k);
                }
                return;
            }
            extents = ExtentTree.map(extents, lb, physical, count, false);
            changed = true;
        }

        void finish() throws ErrnoException {
            if (changed) {
                ExtentTree.store(fs, alloc, n, extents, tree.treeBlocks());
            }
        }
    }
}
