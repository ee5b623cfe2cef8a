package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The checker's view of ea_inode, as e2fsck's: value inodes are named by xattr entries, not
 * directories — each must be named by as many entries (in inode regions, and once per xattr
 * block however many inodes share it) as its reference count says — and an owner's i_blocks
 * includes the blocks of the values it names.
 */
final class EaInodeChecks {
    private final ExtFs fs;
    private final boolean enabled;
    private final Map<Long, Long> named = new HashMap<>();
    private final Set<Long> blocksSeen = new HashSet<>();

    EaInodeChecks(ExtFs fs) {
        this.fs = fs;
        this.enabled = EaInodes.enabled(fs.superblock());
    }

    /** The value-inode entries of an inode: its region's, and its block's (all of them, or only a block not yet seen). */
    private static List<Xattrs.Entry> entries(ExtFs fs, Inode inode, Set<Long> blocksSeen) throws ErrnoException {
        String where = fs.deviceName() + ": inode " + inode.number();
        List<Xattrs.Entry> out = new ArrayList<>(Xattrs.inInodeEntries(fs.readRawInode(inode.number()).b, 0,
                fs.superblock().inodeSize(), where));
        long b = inode.fileAcl();
        if (b != 0 && b < fs.superblock().blocksCount() && (blocksSeen == null || blocksSeen.add(b))) {
            out.addAll(Xattrs.blockEntries(fs.block(b, "inode " + inode.number() + " xattr block"), where
                    + " xattr block " + b));
        }
        out.removeIf(e -> !e.inEaInode());
        return out;
    }

    /** Sectors of i_blocks an inode is charged for the values it keeps in value inodes (0 without ea_inode). */
    static long chargedSectors(ExtFs fs, Inode inode) {
        if (!EaInodes.enabled(fs.superblock())) {
            return 0;
        }
        try {
            return EaInodes.chargedSectors(entries(fs, inode, null), fs.superblock().blockSize());
        } catch (ErrnoException e) {
            return 0; // damaged xattrs are reported where they are read
        }
    }

    /** How many value inodes an inode's entries name: each counts as one inode in its owner's quota. */
    static long valueInodes(ExtFs fs, Inode inode) {
        if (!EaInodes.enabled(fs.superblock())) {
            return 0;
        }
        try {
            return entries(fs, inode, null).stream().mapToLong(Xattrs.Entry::valueInum).distinct().count();
        } catch (ErrnoException e) {
            return 0; // damaged xattrs are reported where they are read
        }
    }

    /** Counts the entries of {@code inode} that name value inodes. */
    void collect(Inode inode, Consumer<String> report) throws ErrnoException {
        if (!enabled) {
            return;
        }
        try {
            for (Xattrs.Entry e : entries(fs, inode, blocksSeen)) {
                named.merge(e.valueInum(), 1L, Long::sum);
            }
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EUCLEAN) {
                throw e;
            }
            report.accept(e.detail());
        }
    }

    /** Takes value inodes out of {@code unattached}, reporting those no entry names or whose count is wrong. */
    void finish(Set<Long> unattached, Consumer<String> report) throws ErrnoException {
        if (!enabled) {
            return;
        }
        for (long ino : new ArrayList<>(unattached)) {
            RawInode raw = fs.readRawInode(ino);
            if ((raw.flags() & Inode.EA_INODE_FL) == 0) {
                continue;
            }
            unattached.remove(ino);
            long count = Integer.toUnsignedLong(raw.b.getInt(12)) << 32 | Integer.toUnsignedLong(raw.b.getInt(0x24));
            long entries = named.getOrDefault(ino, 0L);
            if (entries == 0) {
                report.accept("xattr value inode " + ino + " is in use but no xattr entry names it");
            } else if (entries != count) {
                report.accept("xattr value inode " + ino + ": reference count " + count + ", but " + entries
                        + " xattr entries name it");
            }
        }
        for (Map.Entry<Long, Long> e : named.entrySet()) {
            long ino = e.getKey();
            if (ino < fs.superblock().firstIno() || ino > fs.superblock().inodesCount()
                    || (fs.readRawInode(ino).flags() & Inode.EA_INODE_FL) == 0 || fs.readRawInode(ino).links() == 0) {
                report.accept("xattr entries name inode " + ino + " for their value, which is not a value inode in use");
            }
        }
    }
}
