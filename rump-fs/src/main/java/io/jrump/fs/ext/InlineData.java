package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Inline data (INCOMPAT_INLINE_DATA) as ext4 keeps it: an inode with EXT4_INLINE_DATA_FL holds
 * its bytes in the 60 bytes of {@code i_block}, then in the value of the {@code system.data}
 * attribute in the inode's extra space (never in an xattr block). The attribute is there, empty,
 * even when everything fits in {@code i_block}. Everything here changes an inode held in memory
 * ({@link RawInode}); the caller stores it. The value's length follows the kernel: for a file,
 * the bytes past the first 60 ({@code max(0, size - 60)}); for a directory, {@code size - 60}.
 */
final class InlineData {
    static final int IBLOCK = 60;
    private static final byte[] DATA = "data".getBytes(StandardCharsets.US_ASCII);

    private final ExtFs fs;
    private final Superblock sb;

    InlineData(ExtFs fs) {
        this.fs = fs;
        this.sb = fs.superblock();
    }

    /** Whether the filesystem has inline_data and inodes with room for attributes. */
    boolean enabled() {
        return (sb.featureIncompat() & Superblock.INCOMPAT_INLINE_DATA) != 0 && sb.inodeSize() > 128;
    }

    static boolean isInline(RawInode n) {
        return (n.flags() & Inode.INLINE_DATA_FL) != 0;
    }

    static boolean isSystemData(Xattrs.Entry e) {
        return e.index() == Xattrs.SYSTEM && java.util.Arrays.equals(e.name(), DATA);
    }

    private List<Xattrs.Entry> entries(RawInode n) throws ErrnoException {
        return Xattrs.inInodeEntries(n.b, 0, sb.inodeSize(), fs.deviceName() + ": inode " + n.number);
    }

    /**
     * The largest {@code system.data} value that fits beside the inode's other in-inode
     * attributes (a multiple of 4, as values are padded), or -1 if not even an empty one does.
     */
    int maxValue(RawInode n) throws ErrnoException {
        if (!enabled() || (n.b.getShort(128) & 0xffff) == 0) {
            return -1; // as the kernel: no i_extra_isize, no in-inode attributes, nothing inline
        }
        List<Xattrs.Entry> others = entries(n);
        others.removeIf(InlineData::isSystemData);
        int entry = new Xattrs.Entry(Xattrs.SYSTEM, DATA, new byte[0]).entrySize();
        int free = Xattrs.inInodeRoom(n.b, sb.inodeSize()) - Xattrs.bytesNeeded(others) - entry;
        return free < 0 ? -1 : free & ~3;
    }

    /** How many bytes the inode can hold inline (i_block and the largest system.data), or -1. */
    int capacity(RawInode n) throws ErrnoException {
        int v = maxValue(n);
        return v < 0 ? -1 : IBLOCK + v;
    }

    /** The inode's inline bytes: i_block, then system.data's value. EUCLEAN if the attribute or the feature is missing. */
    byte[] bytes(RawInode n) throws ErrnoException {
        if ((sb.featureIncompat() & Superblock.INCOMPAT_INLINE_DATA) == 0) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": inode " + n.number
                    + " has the inline-data flag on a filesystem without inline_data");
        }
        byte[] value = null;
        for (Xattrs.Entry e : entries(n)) {
            if (isSystemData(e)) {
                value = e.value();
            }
        }
        if (value == null) {
            throw new ErrnoException(Errno.EUCLEAN, fs.deviceName() + ": inode " + n.number
                    + " has the inline-data flag but no system.data attribute");
        }
        byte[] all = new byte[IBLOCK + value.length];
        n.iblock().get(0, all, 0, IBLOCK);
        System.arraycopy(value, 0, all, IBLOCK, value.length);
        return all;
    }

    /**
     * The bytes a file holds inline, up to its size. A size past them (e2fsck accepts one) reads
     * as zeros there, as the kernel reads it; callers keep the size.
     */
    byte[] content(RawInode n) throws ErrnoException {
        byte[] all = bytes(n);
        return java.util.Arrays.copyOf(all, (int) Math.min(n.size(), all.length));
    }

    /**
     * Stores {@code all} (at least 60 bytes): the first 60 in i_block, the rest as system.data.
     * ENOSPC if it does not fit (callers check {@link #capacity} first).
     */
    void store(RawInode n, byte[] all) throws ErrnoException {
        List<Xattrs.Entry> list = entries(n);
        int at = -1;
        for (int i = 0; i < list.size(); i++) {
            if (isSystemData(list.get(i))) {
                at = i;
            }
        }
        Xattrs.Entry data = new Xattrs.Entry(Xattrs.SYSTEM, DATA, java.util.Arrays.copyOfRange(all, IBLOCK, all.length));
        if (at >= 0) {
            list.set(at, data);
        } else {
            list.add(0, data);
        }
        if (Xattrs.bytesNeeded(list) > Xattrs.inInodeRoom(n.b, sb.inodeSize())) {
            throw new ErrnoException(Errno.ENOSPC, fs.deviceName() + ": inode " + n.number + ": " + all.length
                    + " bytes of inline data do not fit in the inode");
        }
        n.iblock().put(0, all, 0, IBLOCK);
        Xattrs.writeInInode(n.b, sb.inodeSize(), list);
    }

    /** Makes an inode inline and empty: the flag set, the extents flag cleared, an empty system.data. */
    void begin(RawInode n) throws ErrnoException {
        n.flags((n.flags() | Inode.INLINE_DATA_FL) & ~Inode.EXTENTS_FL);
        store(n, new byte[IBLOCK]);
    }

    /** Ends inline storage: system.data removed, i_block zeroed, the flag cleared. */
    void end(RawInode n) throws ErrnoException {
        List<Xattrs.Entry> list = entries(n);
        list.removeIf(InlineData::isSystemData);
        Xattrs.writeInInode(n.b, sb.inodeSize(), list);
        n.iblock().put(0, new byte[IBLOCK]);
        n.flags(n.flags() & ~Inode.INLINE_DATA_FL);
    }

    /**
     * Writes {@code src} at {@code pos} into a regular file held inline, or into an empty one
     * that becomes inline ({@code start}); returns false, changing nothing, when the result would
     * not fit. The size grows to the end of the write; bytes between the old end and {@code pos}
     * read as zeros.
     */
    boolean write(RawInode n, long pos, ByteBuffer src, boolean start) throws ErrnoException {
        long newSize = Math.max(n.size(), pos + src.remaining());
        int cap = capacity(n);
        if (cap < 0 || newSize > cap) {
            return false;
        }
        if (start) {
            begin(n);
        }
        byte[] old = content(n);
        byte[] all = new byte[(int) Math.max(IBLOCK, newSize)];
        System.arraycopy(old, 0, all, 0, old.length);
        src.duplicate().get(all, (int) pos, src.remaining());
        store(n, all);
        n.size(newSize);
        return true;
    }

    /**
     * Shortens a file held inline to {@code size} (at most its {@link #capacity}); the bytes past
     * it are dropped (zeros in i_block), system.data cut to the rest, as ext4_inline_data_truncate.
     */
    void shrink(RawInode n, long size) throws ErrnoException {
        byte[] old = content(n);
        byte[] all = new byte[(int) Math.max(IBLOCK, size)];
        System.arraycopy(old, 0, all, 0, (int) Math.min(size, old.length));
        store(n, all);
        n.size(size);
    }
}
