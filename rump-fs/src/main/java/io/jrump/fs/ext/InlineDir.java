package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Changing an inline directory, as ext4 lays it out: the parent's inode number in the first 4
 * bytes of i_block, then directory entries filling the other 56 bytes, then (once those are
 * full) a second run of entries filling the whole system.data value. Each run is its own chain of
 * records: a record never crosses from i_block into system.data. When i_block is full the
 * attribute grows, at once, to all the room the inode has, as the kernel's
 * ext4_update_inline_dir does; when that is full too the directory becomes one ordinary block
 * ({@link #toBlock}: ".", "..", the entries, the checksum tail with metadata_csum). The size of
 * an inline directory is always 60 plus the attribute's length, as e2fsck wants.
 */
final class InlineDir {
    /** The 4 bytes of the parent's inode number before the first entry. */
    static final int DOTDOT = 4;

    private final ExtFs fs;
    private final InlineData inline;

    InlineDir(ExtFs fs, InlineData inline) {
        this.fs = fs;
        this.inline = inline;
    }

    /** Whether a new directory can be created inline (the feature, and room in the inode). */
    boolean canCreate(RawInode n) throws ErrnoException {
        return inline.enabled() && inline.capacity(n) >= InlineData.IBLOCK;
    }

    /** A new, empty inline directory: the parent, one empty record over the rest of i_block. */
    void init(RawInode dir, long parent) throws ErrnoException {
        inline.begin(dir);
        byte[] all = new byte[InlineData.IBLOCK];
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, (int) parent);
        b.putShort(DOTDOT + 4, (short) (InlineData.IBLOCK - DOTDOT));
        inline.store(dir, all);
        dir.size(InlineData.IBLOCK);
    }

    private String where(RawInode dir) {
        return fs.deviceName() + ": inline directory inode " + dir.number;
    }

    /** The two runs of records: [4, 60) and [60, end). */
    private static int[][] runs(int length) {
        return length > InlineData.IBLOCK ? new int[][] {{DOTDOT, InlineData.IBLOCK}, {InlineData.IBLOCK, length}}
                : new int[][] {{DOTDOT, InlineData.IBLOCK}};
    }

    /** Adds an entry where a record has room, growing system.data once; false if the directory is full. */
    boolean add(RawInode dir, byte[] name, long ino, int fileType) throws ErrnoException {
        byte[] all = inline.bytes(dir);
        if (insert(dir, all, name, ino, fileType)) {
            inline.store(dir, all);
            return true;
        }
        int old = all.length - InlineData.IBLOCK;
        int max = inline.maxValue(dir);
        if (max - old <= DirWriter.recLenFor(1)) {
            return false;
        }
        byte[] grown = java.util.Arrays.copyOf(all, InlineData.IBLOCK + max);
        ByteBuffer g = ByteBuffer.wrap(grown).order(ByteOrder.LITTLE_ENDIAN);
        if (old == 0) {
            g.putShort(InlineData.IBLOCK + 4, (short) max); // one empty record over the new room
        } else {
            int last = lastRecord(dir, grown, InlineData.IBLOCK, all.length);
            g.putShort(last + 4, (short) ((g.getShort(last + 4) & 0xffff) + max - old));
        }
        if (!insert(dir, grown, name, ino, fileType)) {
            return false;
        }
        inline.store(dir, grown);
        dir.size(grown.length);
        return true;
    }

    private int lastRecord(RawInode dir, byte[] all, int from, int to) throws ErrnoException {
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int at = from;
        int last = from;
        while (at < to) {
            last = at;
            at += DirEntries.recordLength(b, at, to, DirEntries.HEADER, where(dir));
        }
        return last;
    }

    private boolean insert(RawInode dir, byte[] all, byte[] name, long ino, int fileType) throws ErrnoException {
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int need = DirWriter.recLenFor(name.length);
        for (int[] run : runs(all.length)) {
            for (int at = run[0]; at < run[1]; ) {
                int recLen = DirEntries.recordLength(b, at, run[1], DirEntries.HEADER, where(dir));
                int used = b.getInt(at) == 0 ? 0 : DirWriter.recLenFor(b.get(at + 6) & 0xff);
                if (recLen - used >= need) {
                    if (used > 0) {
                        b.putShort(at + 4, (short) used);
                    }
                    DirWriter.putEntry(b, at + used, ino, recLen - used, name, fileType);
                    return true;
                }
                at += recLen;
            }
        }
        return false;
    }

    /**
     * Removes the entry {@code name} (folded into the record before it in its run, or emptied if
     * it is a run's first), or repoints it at {@code newIno} (and type, unless negative); returns
     * the inode it named. ENOENT if there is none.
     */
    long change(RawInode dir, byte[] name, boolean remove, long newIno, int newType) throws ErrnoException {
        byte[] all = inline.bytes(dir);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] run : runs(all.length)) {
            int prev = -1;
            for (int at = run[0]; at < run[1]; ) {
                int recLen = DirEntries.recordLength(b, at, run[1], DirEntries.HEADER, where(dir));
                long entryIno = Integer.toUnsignedLong(b.getInt(at));
                if (entryIno != 0 && nameIs(b, at, name)) {
                    if (!remove) {
                        b.putInt(at, (int) newIno);
                        if (newType >= 0) {
                            b.put(at + 7, (byte) newType);
                        }
                    } else if (prev >= 0) {
                        b.putShort(prev + 4, (short) ((b.getShort(prev + 4) & 0xffff) + recLen));
                    } else {
                        b.putInt(at, 0);
                    }
                    inline.store(dir, all);
                    return entryIno;
                }
                prev = at;
                at += recLen;
            }
        }
        throw new ErrnoException(Errno.ENOENT, new String(name, java.nio.charset.StandardCharsets.UTF_8));
    }

    private static boolean nameIs(ByteBuffer b, int at, byte[] name) {
        if ((b.get(at + 6) & 0xff) != name.length) {
            return false;
        }
        for (int i = 0; i < name.length; i++) {
            if (b.get(at + 8 + i) != name[i]) {
                return false;
            }
        }
        return true;
    }

    /** Points ".." (the first 4 bytes) at {@code parent}. */
    void setParent(RawInode dir, long parent) {
        dir.iblock().putInt(0, (int) parent);
    }

    /** One live entry, as it moves into a block. */
    private record Entry(long ino, byte[] name, int type) {
    }

    /**
     * Turns a full inline directory into a one-block directory as ext4's
     * ext4_convert_inline_data_nolock does: ".", "..", then every entry in order, the last record
     * spanning to the checksum tail; system.data removed, the inline flag cleared, the extents
     * flag set on an extents filesystem.
     */
    void toBlock(RawInode dir, ExtWriter writer, DirWriter dirs, int tail) throws ErrnoException {
        byte[] all = inline.bytes(dir);
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long parent = Integer.toUnsignedLong(b.getInt(0));
        List<Entry> entries = new ArrayList<>();
        int bytes = 24;
        for (int[] run : runs(all.length)) {
            for (int at = run[0]; at < run[1]; ) {
                int recLen = DirEntries.recordLength(b, at, run[1], DirEntries.HEADER, where(dir));
                int nameLen = b.get(at + 6) & 0xff;
                if (b.getInt(at) != 0 && nameLen > 0) {
                    byte[] name = new byte[nameLen];
                    b.get(at + 8, name);
                    entries.add(new Entry(Integer.toUnsignedLong(b.getInt(at)), name, b.get(at + 7) & 0xff));
                    bytes += DirWriter.recLenFor(nameLen);
                }
                at += recLen;
            }
        }
        int usable = fs.blockSize() - tail;
        if (bytes > usable) {
            throw new ErrnoException(Errno.EOPNOTSUPP, where(dir) + ": " + bytes
                    + " bytes of entries do not fit one block; converting it is not supported");
        }
        inline.end(dir);
        if ((fs.superblock().featureIncompat() & Superblock.INCOMPAT_EXTENTS) != 0) {
            dir.flags(dir.flags() | Inode.EXTENTS_FL);
            ExtentTree.init(dir);
        }
        dir.size(0);
        long pb = writer.appendBlock(dir, 0);
        ByteBuffer w = fs.metaZeroed(pb);
        int dirType = fs.fileTypeCode(Inode.S_IFDIR);
        DirWriter.putEntry(w, 0, dir.number, 12, new byte[] {'.'}, dirType);
        int at = 12;
        DirWriter.putEntry(w, at, parent, entries.isEmpty() ? usable - at : 12, new byte[] {'.', '.'}, dirType);
        at += 12;
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            int recLen = i == entries.size() - 1 ? usable - at : DirWriter.recLenFor(e.name().length);
            DirWriter.putEntry(w, at, e.ino(), recLen, e.name(), e.type());
            at += recLen;
        }
        dirs.seal(dir, w);
    }
}
