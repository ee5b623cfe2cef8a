package io.jrump.fs.ext;

import io.jrump.blk.BlockDevice;
import io.jrump.fs.vfs.FileSystemOps;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.kernel.sys.Attributes;
import io.jrump.kernel.sys.DirEntry;
import io.jrump.kernel.sys.StatVfs;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongPredicate;

/**
 * ext2/3/4 as the VFS sees it: the vnode operations on an {@link ExtFs}, each under the
 * filesystem's lock, with the running transaction committed when it has grown large. Lookups go
 * through the filesystem's directory name cache, then a directory's htree index, then a linear
 * scan; a directory listed whole by readdir joins the name cache.
 */
public final class ExtVfs implements FileSystemOps {
    private final ExtFs fs;
    private final InodeFlagRules flagRules;
    private final List<AutoCloseable> owned = new ArrayList<>();

    public ExtVfs(ExtFs fs) {
        this.fs = fs;
        this.flagRules = new InodeFlagRules(fs);
    }

    /** Mounts the ext filesystem on {@code dev}. */
    public static ExtVfs mount(BlockDevice dev, ExtFs.MountOptions options) throws ErrnoException {
        return new ExtVfs(ExtFs.mount(dev, options));
    }

    /** Things to close after unmounting (the cache and device below), in the order given. */
    public ExtVfs closing(AutoCloseable... things) {
        owned.addAll(java.util.Arrays.asList(things));
        return this;
    }

    public ExtFs ext() {
        return fs;
    }

    private volatile boolean acls;

    /** With {@code on}, the VFS checks POSIX access ACLs ({@code mount -o acl}); off by default. */
    public ExtVfs enforcingAcls(boolean on) {
        this.acls = on;
        return this;
    }

    @Override
    public boolean enforcesAcls() {
        return acls;
    }

    @FunctionalInterface
    private interface Op<T> {
        T run() throws ErrnoException;
    }

    private <T> T locked(Op<T> op) throws ErrnoException {
        fs.lock.lock();
        try {
            return op.run();
        } catch (RuntimeException e) {
            // A corrupt structure that slipped past a check must not escape as an unchecked exception.
            throw new ErrnoException(Errno.EIO, fs.deviceName() + ": internal error: " + e, e);
        } finally {
            fs.lock.unlock();
        }
    }

    private <T> T changing(Op<T> op) throws ErrnoException {
        return locked(() -> {
            fs.writer();
            fs.begin();
            T result;
            try {
                result = op.run();
            } catch (ErrnoException | RuntimeException e) {
                fs.rollback(); // a failed call leaves no trace in the transaction
                throw e;
            } finally {
                fs.end();
            }
            fs.commitIfFull();
            return result;
        });
    }

    @Override
    public String type() {
        return fs.type();
    }

    @Override
    public long rootInode() {
        return ExtFs.ROOT_INODE;
    }

    @Override
    public boolean isReadOnly() {
        return fs.isReadOnly();
    }

    /** ENOKEY if inode {@code ino} is fscrypt-encrypted (only possible with the encrypt feature). */
    private void noKey(long ino) throws ErrnoException {
        if ((fs.superblock().featureIncompat() & Superblock.INCOMPAT_ENCRYPT) != 0) {
            Encrypted.check(fs, fs.inode(ino));
        }
    }

    @Override
    public Attributes getattr(long ino) throws ErrnoException {
        return locked(() -> attributes(fs.inode(ino)));
    }

    private Attributes attributes(Inode i) {
        long rdev = 0;
        int t = i.mode() & Inode.S_IFMT;
        if (t == 0x2000 || t == 0x6000) {
            ByteBuffer ib = ByteBuffer.wrap(i.block()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            int old = ib.getInt(0);
            if (old != 0) {
                rdev = (old >>> 8 & 0xff) << 8 | old & 0xff;
            } else {
                int nw = ib.getInt(4);
                long major = nw >>> 8 & 0xfff;
                long minor = nw & 0xff | (nw >>> 12 & 0xfff00);
                rdev = (major << 8) | (minor & 0xff) | ((minor & ~0xffL) << 12);
            }
        }
        return new Attributes(i.number(), i.mode(), i.linksCount(), i.uid(), i.gid(), rdev, i.size(), i.blocks512(),
                fs.blockSize(), i.atime() * 1_000_000_000L + i.atimeNs(), i.mtime() * 1_000_000_000L + i.mtimeNs(),
                i.ctime() * 1_000_000_000L + i.ctimeNs());
    }

    @Override
    public long lookup(long dir, String name) throws ErrnoException {
        return locked(() -> {
            noKey(dir);
            long ino = fs.dirCache.lookup(dir, name);
            if (ino == 0) {
                throw new ErrnoException(Errno.ENOENT, name);
            }
            return ino;
        });
    }

    @Override
    public List<DirEntry> readdir(long dir) throws ErrnoException {
        return locked(() -> {
            noKey(dir);
            List<Dirent> entries = fs.readDir(fs.inode(dir));
            fs.dirCache.read(dir, entries);
            List<DirEntry> out = new ArrayList<>(entries.size());
            for (Dirent e : entries) {
                out.add(new DirEntry(e.name(), e.inode(), dtype(e.fileType())));
            }
            return out;
        });
    }

    private static int dtype(int extType) {
        switch (extType) {
            case 1: return DirEntry.DT_REG;
            case 2: return DirEntry.DT_DIR;
            case 3: return DirEntry.DT_CHR;
            case 4: return DirEntry.DT_BLK;
            case 5: return DirEntry.DT_FIFO;
            case 6: return DirEntry.DT_SOCK;
            case 7: return DirEntry.DT_LNK;
            default: return DirEntry.DT_UNKNOWN;
        }
    }

    @Override
    public long create(long dir, String name, int mode, long uid, long gid, long rdev) throws ErrnoException {
        return changing(() -> {
            flagRules.addName(dir, 0);
            long ino = fs.writer().create(dir, name, mode, uid, gid, rdev);
            if (acls) {
                new XattrStore(fs).inherit(dir, ino, mode);
            }
            return ino;
        });
    }

    @Override
    public long symlink(long dir, String name, String target, long uid, long gid) throws ErrnoException {
        return changing(() -> {
            flagRules.addName(dir, 0);
            return fs.writer().symlink(dir, name, target, uid, gid);
        });
    }

    @Override
    public void link(long dir, String name, long ino) throws ErrnoException {
        changing(() -> {
            flagRules.addName(dir, ino);
            fs.writer().link(dir, name, ino);
            return null;
        });
    }

    @Override
    public void unlink(long dir, String name, boolean open) throws ErrnoException {
        changing(() -> {
            flagRules.removeName(dir, name);
            fs.writer().unlink(dir, name, open);
            return null;
        });
    }

    @Override
    public void rmdir(long dir, String name, boolean open) throws ErrnoException {
        changing(() -> {
            flagRules.removeName(dir, name);
            fs.writer().rmdir(dir, name, open);
            return null;
        });
    }

    @Override
    public void rename(long fromDir, String fromName, long toDir, String toName, LongPredicate open)
            throws ErrnoException {
        changing(() -> {
            flagRules.removeName(fromDir, fromName);
            flagRules.addName(toDir, 0);
            if (fs.dirCache.lookup(toDir, toName) != 0) {
                flagRules.removeName(toDir, toName);
            }
            fs.writer().rename(fromDir, fromName, toDir, toName, open);
            return null;
        });
    }

    @Override
    public String readlink(long ino) throws ErrnoException {
        return locked(() -> {
            noKey(ino);
            return fs.readlink(fs.inode(ino));
        });
    }

    @Override
    public int read(long ino, long pos, ByteBuffer dst) throws ErrnoException {
        return locked(() -> {
            Inode i = fs.inode(ino);
            if (i.isDir()) {
                throw new ErrnoException(Errno.EISDIR, "inode " + ino);
            }
            noKey(ino);
            int n = fs.read(i, pos, dst);
            dst.position(dst.position() + n);
            return n;
        });
    }

    @Override
    public int write(long ino, long pos, ByteBuffer src) throws ErrnoException {
        return changing(() -> {
            noKey(ino);
            flagRules.write(ino, pos);
            return fs.writer().write(ino, pos, src);
        });
    }

    @Override
    public void truncate(long ino, long size) throws ErrnoException {
        changing(() -> {
            noKey(ino);
            flagRules.truncate(ino);
            fs.writer().truncate(ino, size);
            return null;
        });
    }

    /**
     * ext4's casefold flag on a directory, as Linux's {@code chattr +F} / {@code -F} set it (the
     * VFS has no inode-flags call): names in it are then compared case-insensitively. Only on a
     * filesystem with the casefold feature ({@code EOPNOTSUPP}), on a directory ({@code ENOTDIR})
     * that is empty ({@code ENOTEMPTY}).
     */
    public void setCasefold(long dir, boolean on) throws ErrnoException {
        changing(() -> {
            fs.writer().setCasefold(dir, on);
            return null;
        });
    }

    /** Whether directory {@code dir} compares names case-insensitively (casefold flag, {@code lsattr} F). */
    public boolean isCasefolded(long dir) throws ErrnoException {
        return locked(() -> Casefold.applies(fs.superblock(), fs.inode(dir)));
    }

    @Override
    public void setattr(long ino, int mode, long uid, long gid, long atimeNanos, long mtimeNanos) throws ErrnoException {
        changing(() -> {
            flagRules.setattr(ino);
            fs.writer().setattr(ino, mode, uid, gid, atimeNanos, mtimeNanos);
            if (mode >= 0) {
                new XattrStore(fs).chmodAcl(ino, mode);
            }
            return null;
        });
    }

    @Override
    public byte[] getxattr(long ino, String name) throws ErrnoException {
        return locked(() -> new XattrStore(fs).get(ino, name));
    }

    @Override
    public List<String> listxattr(long ino) throws ErrnoException {
        return locked(() -> new XattrStore(fs).list(ino));
    }

    @Override
    public void setxattr(long ino, String name, byte[] value, int flags) throws ErrnoException {
        changing(() -> {
            flagRules.xattr(ino);
            new XattrStore(fs).set(ino, name, value, flags);
            return null;
        });
    }

    @Override
    public void removexattr(long ino, String name) throws ErrnoException {
        changing(() -> {
            flagRules.xattr(ino);
            new XattrStore(fs).remove(ino, name);
            return null;
        });
    }

    @Override
    public long seek(long ino, long offset, boolean hole) throws ErrnoException {
        return locked(() -> {
            Inode i = fs.inode(ino);
            long size = i.size();
            if (offset < 0 || offset >= size) {
                throw new ErrnoException(Errno.ENXIO, "offset " + offset + " of a file of " + size + " bytes");
            }
            if (i.hasInlineData() || !(i.isRegular() || i.isDir())) {
                return hole ? size : offset;
            }
            int bs = fs.blockSize();
            long lb = offset / bs;
            long lastBlock = (size - 1) / bs;
            while (lb <= lastBlock) {
                ExtFs.Mapping m = fs.map(i, lb);
                boolean isData = m.physical() != 0 && !m.unwritten();
                if (isData != hole) {
                    return Math.max(offset, lb * bs);
                }
                lb += Math.max(1, m.run());
            }
            if (hole) {
                return size; // the end of a file counts as a hole
            }
            throw new ErrnoException(Errno.ENXIO, "no data after offset " + offset);
        });
    }

    @Override
    public void released(long ino) throws ErrnoException {
        locked(() -> {
            if (!fs.isReadOnly()) {
                fs.writer().releaseOrphan(ino);
                fs.commitIfFull();
            }
            return null;
        });
    }

    @Override
    public void sync() throws ErrnoException {
        locked(() -> {
            fs.commit();
            return null;
        });
    }

    @Override
    public StatVfs statvfs() throws ErrnoException {
        return locked(fs::statvfs);
    }

    @Override
    public void close() throws ErrnoException {
        try {
            fs.unmount();
        } finally {
            for (AutoCloseable c : owned) {
                try {
                    c.close();
                } catch (Exception e) {
                    if (e instanceof ErrnoException ee) {
                        throw ee;
                    }
                    throw new ErrnoException(Errno.EIO, fs.deviceName() + ": closing: " + e, e);
                }
            }
            owned.clear();
        }
    }
}
