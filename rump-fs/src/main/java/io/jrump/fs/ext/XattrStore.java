package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Extended attributes read and written by name, as getxattr, listxattr, setxattr and removexattr
 * see them. A new or changed attribute goes into the inode's extra space when it fits there,
 * else into the inode's xattr block (entries sorted, values at the block's end). A block shared
 * with other inodes (h_refcount above 1) is copied before it changes, and a block left empty is
 * released — freed when its last reference goes. Writes join the running transaction; callers
 * hold the filesystem lock and, for changes, have begun a change.
 */
final class XattrStore {
    /** setxattr flags, as Linux numbers them. */
    static final int XATTR_CREATE = 1;
    static final int XATTR_REPLACE = 2;

    private final ExtFs fs;
    private final Superblock sb;

    XattrStore(ExtFs fs) {
        this.fs = fs;
        this.sb = fs.superblock();
    }

    /** An inode's attributes: those in the inode, those in its block. */
    private record Stored(RawInode inode, List<Xattrs.Entry> inInode, List<Xattrs.Entry> inBlock) {
    }

    private Stored load(long ino) throws ErrnoException {
        RawInode n = fs.readRawInode(ino);
        String where = fs.deviceName() + ": inode " + ino;
        List<Xattrs.Entry> inInode = Xattrs.inInodeEntries(n.b, 0, sb.inodeSize(), where);
        List<Xattrs.Entry> inBlock = new ArrayList<>();
        long block = n.fileAcl();
        if (block != 0) {
            ByteBuffer b = fs.metaForRead(block, "inode " + ino + " xattr block");
            if (sb.hasMetadataCsum()) {
                int crc = ExtChecksums.xattrBlockChecksum(sb, block, b);
                if (crc != b.getInt(16)) {
                    throw new ErrnoException(Errno.EUCLEAN, String.format("%s: xattr block %d: checksum 0x%08x, expected 0x%08x",
                            where, block, b.getInt(16), crc));
                }
            }
            inBlock = Xattrs.blockEntries(b, where + " xattr block " + block);
        }
        return new Stored(n, inInode, inBlock);
    }

    private static int find(List<Xattrs.Entry> list, Xattrs.Entry e) {
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i).sameName(e)) {
                return i;
            }
        }
        return -1;
    }

    private static boolean isAcl(Xattrs.Entry e) {
        return e.index() == Xattrs.POSIX_ACL_ACCESS || e.index() == Xattrs.POSIX_ACL_DEFAULT;
    }

    /** getxattr: the value, ENODATA if the inode has no such attribute. */
    byte[] get(long ino, String name) throws ErrnoException {
        Xattrs.Entry want = Xattrs.resolve(name, null);
        Stored s = load(ino);
        int i = find(s.inInode(), want);
        Xattrs.Entry found = i >= 0 ? s.inInode().get(i) : null;
        if (found == null) {
            int k = find(s.inBlock(), want);
            found = k >= 0 ? s.inBlock().get(k) : null;
        }
        if (found == null) {
            throw new ErrnoException(Errno.ENODATA, name);
        }
        if (found.inEaInode()) {
            found = found.withValue(new EaInodes(fs).read(found, s.inode(), fs.deviceName() + ": inode " + ino));
        }
        return isAcl(found) ? PosixAcls.fromDisk(found.value(), fs.deviceName() + ": inode " + ino + " " + name)
                : found.value();
    }

    /** listxattr: every name a caller may use, those in the inode first (system.data is not one). */
    List<String> list(long ino) throws ErrnoException {
        Stored s = load(ino);
        List<String> out = new ArrayList<>();
        for (List<Xattrs.Entry> region : List.of(s.inInode(), s.inBlock())) {
            for (Xattrs.Entry e : region) {
                if (e.visible() && !out.contains(e.fullName())) {
                    out.add(e.fullName());
                }
            }
        }
        return out;
    }

    /** setxattr with Linux's flags: EEXIST under XATTR_CREATE, ENODATA under XATTR_REPLACE. */
    void set(long ino, String name, byte[] value, int flags) throws ErrnoException {
        if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) != 0) {
            throw new ErrnoException(Errno.EINVAL, name + ": setxattr flags 0x" + Integer.toHexString(flags));
        }
        Xattrs.Entry e = Xattrs.resolve(name, value);
        Stored s = load(ino);
        if (isAcl(e)) {
            byte[] callers = e.value();
            e = new Xattrs.Entry(e.index(), e.name(), PosixAcls.toDisk(callers));
            boolean empty = callers.length == 4;
            if (e.index() == Xattrs.POSIX_ACL_ACCESS && !empty) {
                // As Linux: the mode follows the ACL, and an ACL that says no more than the mode is not kept.
                RawInode n = s.inode();
                n.mode(n.mode() & ~0777 | PosixAcls.modeBits(callers));
                if (PosixAcls.equivalentToMode(callers)) {
                    empty = true;
                }
            }
            if (empty) {
                dropAcl(s, e, flags);
                return;
            }
        }
        int i = find(s.inInode(), e);
        int k = find(s.inBlock(), e);
        boolean exists = i >= 0 || k >= 0;
        if ((flags & XATTR_CREATE) != 0 && exists) {
            throw new ErrnoException(Errno.EEXIST, name);
        }
        if ((flags & XATTR_REPLACE) != 0 && !exists) {
            throw new ErrnoException(Errno.ENODATA, name);
        }
        List<Xattrs.Entry> inInode = new ArrayList<>(s.inInode());
        List<Xattrs.Entry> inBlock = new ArrayList<>(s.inBlock());
        if (i >= 0) {
            inInode.remove(i);
        }
        if (k >= 0) {
            inBlock.remove(k);
        }
        boolean blockChanged = k >= 0;
        int inodeRoom = Xattrs.inInodeRoom(s.inode().b, sb.inodeSize());
        int blockRoom = Xattrs.blockRoom(sb.blockSize());
        boolean intoInode = fits(inInode, e, inodeRoom);
        if (!intoInode && !fits(inBlock, e, blockRoom)) {
            if (!EaInodes.enabled(sb)) {
                throw new ErrnoException(Errno.ENOSPC, name + ": a value of " + e.value().length
                        + " bytes does not fit in the inode or its xattr block");
            }
            // Too big for the inode and the block: the value goes into an inode of its own (ea_inode).
            Xattrs.Entry entryOnly = e.inInode(1, 0);
            intoInode = fits(inInode, entryOnly, inodeRoom);
            if (!intoInode && !fits(inBlock, entryOnly, blockRoom)) {
                throw new ErrnoException(Errno.ENOSPC, name + ": no room for another xattr entry in the inode or its"
                        + " xattr block");
            }
            e = new EaInodes(fs).store(e, ino);
        }
        if (intoInode) {
            inInode.add(e);
        } else {
            inBlock.add(e);
            blockChanged = true;
        }
        store(s, inInode, blockChanged ? inBlock : null);
    }

    /** Whether {@code list} with {@code e} added still fits {@code room} bytes. */
    private static boolean fits(List<Xattrs.Entry> list, Xattrs.Entry e, int room) {
        List<Xattrs.Entry> with = new ArrayList<>(list);
        with.add(e);
        return Xattrs.bytesNeeded(with) <= room;
    }

    /** An empty ACL (or one the mode says all of) is no ACL: removed if there, else only the mode stored. */
    private void dropAcl(Stored s, Xattrs.Entry e, int flags) throws ErrnoException {
        int i = find(s.inInode(), e);
        int k = find(s.inBlock(), e);
        if ((flags & XATTR_REPLACE) != 0 && i < 0 && k < 0) {
            throw new ErrnoException(Errno.ENODATA, e.fullName());
        }
        if ((flags & XATTR_CREATE) != 0 && (i >= 0 || k >= 0)) {
            throw new ErrnoException(Errno.EEXIST, e.fullName());
        }
        List<Xattrs.Entry> inInode = new ArrayList<>(s.inInode());
        List<Xattrs.Entry> inBlock = new ArrayList<>(s.inBlock());
        if (i >= 0) {
            inInode.remove(i);
        }
        if (k >= 0) {
            inBlock.remove(k);
        }
        store(s, inInode, k >= 0 ? inBlock : null);
    }

    /**
     * A new inode in a directory with a default ACL, as Linux's posix_acl_create: a directory
     * inherits the default ACL itself; the access ACL is the default masked by the creation mode
     * (owner, mask or owning group, other), and the mode follows it (an access ACL that says no
     * more than the mode is not kept).
     */
    void inherit(long dir, long ino, int mode) throws ErrnoException {
        byte[] def;
        try {
            def = get(dir, "system.posix_acl_default");
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENODATA) {
                return;
            }
            throw e;
        }
        if ((mode & Inode.S_IFMT) == Inode.S_IFDIR) {
            set(ino, "system.posix_acl_default", def, 0);
        }
        set(ino, "system.posix_acl_access", PosixAcls.masked(def, mode), 0);
    }

    /** After chmod: an access ACL's owner, mask and other entries follow the new mode, as Linux's posix_acl_chmod. */
    void chmodAcl(long ino, int mode) throws ErrnoException {
        byte[] acl;
        try {
            acl = get(ino, "system.posix_acl_access");
        } catch (ErrnoException e) {
            if (e.errno() == Errno.ENODATA) {
                return;
            }
            throw e;
        }
        set(ino, "system.posix_acl_access", PosixAcls.chmod(acl, mode), XATTR_REPLACE);
    }

    /** removexattr: ENODATA if the inode has no such attribute. */
    void remove(long ino, String name) throws ErrnoException {
        Xattrs.Entry e = Xattrs.resolve(name, null);
        Stored s = load(ino);
        int i = find(s.inInode(), e);
        int k = find(s.inBlock(), e);
        if (i < 0 && k < 0) {
            throw new ErrnoException(Errno.ENODATA, name);
        }
        List<Xattrs.Entry> inInode = new ArrayList<>(s.inInode());
        List<Xattrs.Entry> inBlock = new ArrayList<>(s.inBlock());
        if (i >= 0) {
            inInode.remove(i);
        }
        if (k >= 0) {
            inBlock.remove(k);
        }
        store(s, inInode, k >= 0 ? inBlock : null);
    }

    /**
     * Writes the inode's region and, when {@code inBlock} is not null, its block's new entries.
     * With ea_inode, value inodes gain and lose references as entries naming them come and go (a
     * shared block keeps its own; a copy of it references again what it names), and the inode's
     * i_blocks follows the values charged to it.
     */
    private void store(Stored s, List<Xattrs.Entry> inInode, List<Xattrs.Entry> inBlock) throws ErrnoException {
        RawInode n = s.inode();
        java.util.Map<Long, Long> delta = new java.util.HashMap<>();
        if (EaInodes.enabled(sb)) {
            EaInodes.count(delta, s.inInode(), -1);
            EaInodes.count(delta, inInode, 1);
            List<Xattrs.Entry> blockAfter = s.inBlock();
            if (inBlock != null) {
                long old = n.fileAcl();
                if (old == 0 || fs.metaForRead(old, "inode " + n.number + " xattr block").getInt(4) <= 1) {
                    EaInodes.count(delta, s.inBlock(), -1);
                }
                EaInodes.count(delta, inBlock, 1);
                blockAfter = inBlock;
            }
            long charged = EaInodes.chargedSectors(inInode, sb.blockSize()) + EaInodes.chargedSectors(blockAfter,
                    sb.blockSize()) - EaInodes.chargedSectors(s.inInode(), sb.blockSize())
                    - EaInodes.chargedSectors(s.inBlock(), sb.blockSize());
            n.blocks512(Math.max(0, n.blocks512() + charged));
        }
        Xattrs.writeInInode(n.b, sb.inodeSize(), inInode);
        long oldBlock = n.fileAcl();
        if (inBlock != null) {
            storeBlock(n, inBlock);
            if (fs.quota() != null && oldBlock != 0 && oldBlock == n.fileAcl()) {
                // Rewritten in place: the quota sees this block only as it is now, on both sides of the inode write.
                fs.quota().valueInodesChanged(n, valueEntries(inBlock) - valueEntries(s.inBlock()));
            }
        }
        n.ctime(fs.now());
        fs.writeInode(n);
        if (!delta.isEmpty()) {
            new EaInodes(fs).adjust(delta);
        }
    }

    private static long valueEntries(List<Xattrs.Entry> entries) {
        return entries.stream().filter(Xattrs.Entry::inEaInode).count();
    }

    /**
     * An inode being freed drops its references to value inodes: those its own region names,
     * and those of its xattr block when this inode holds the block's last reference.
     */
    void dropValueInodes(RawInode n) throws ErrnoException {
        String where = fs.deviceName() + ": inode " + n.number;
        java.util.Map<Long, Long> delta = new java.util.HashMap<>();
        EaInodes.count(delta, Xattrs.inInodeEntries(n.b, 0, sb.inodeSize(), where), -1);
        long block = n.fileAcl();
        if (block != 0) {
            ByteBuffer b = fs.metaForRead(block, "inode " + n.number + " xattr block");
            if (b.getInt(4) <= 1) {
                EaInodes.count(delta, Xattrs.blockEntries(b, where + " xattr block " + block), -1);
            }
        }
        new EaInodes(fs).adjust(delta);
    }

    private void storeBlock(RawInode n, List<Xattrs.Entry> entries) throws ErrnoException {
        long old = n.fileAcl();
        int refs = old != 0 ? fs.metaForRead(old, "inode " + n.number + " xattr block").getInt(4) : 0;
        if (entries.isEmpty()) {
            if (old != 0) {
                release(fs, n, old, refs);
                n.fileAcl(0);
                n.blocks512(Math.max(0, n.blocks512() - fs.writer().allocator().sectorsPerAllocation()));
            }
            return;
        }
        if (old != 0 && refs == 1) {
            ByteBuffer b = fs.metaForWrite(old, "inode " + n.number + " xattr block");
            Xattrs.writeBlock(b, 1, entries);
            fs.sealXattrBlock(old, b);
            return;
        }
        // No block yet, or one other inodes share: this inode gets a block of its own.
        long goal = sb.firstDataBlock() + (n.number - 1) / sb.inodesPerGroup() * sb.blocksPerGroup();
        long fresh = fs.writer().allocator().allocBlocks(goal, 1)[0];
        ByteBuffer b = fs.metaZeroed(fresh);
        Xattrs.writeBlock(b, 1, entries);
        fs.sealXattrBlock(fresh, b);
        if (old != 0) {
            release(fs, n, old, refs);
        } else {
            n.blocks512(n.blocks512() + fs.writer().allocator().sectorsPerAllocation());
        }
        n.fileAcl(fresh);
    }

    /** Drops one reference to a block: freed at the last, else its h_refcount lowered. */
    /** Drops {@code n}'s reference to xattr block {@code block} ({@code refs} before): freed at the last one. */
    static void release(ExtFs fs, RawInode n, long block, int refs) throws ErrnoException {
        if (refs <= 1) {
            fs.writer().allocator().freeBlocks(block, 1);
        } else {
            ByteBuffer b = fs.metaForWrite(block, "inode " + n.number + " xattr block");
            b.putInt(4, refs - 1);
            fs.sealXattrBlock(block, b);
        }
    }
}
