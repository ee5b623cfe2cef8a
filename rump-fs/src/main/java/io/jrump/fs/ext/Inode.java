package io.jrump.fs.ext;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * An inode as read from the inode table ({@code struct ext4_inode}): the fields a stat and a read
 * need, and the 60-byte {@code i_block} area that holds the extent tree root, the block map or a
 * fast symlink's target. Immutable.
 */
record Inode(long number, int mode, long uid, long gid, long size, int linksCount, long blocks512, int flags,
             long atime, long mtime, long ctime, int atimeNs, int mtimeNs, int ctimeNs, long fileAcl, int generation,
             byte[] block) {

    static final int S_IFMT = 0xF000;
    static final int S_IFDIR = 0x4000;
    static final int S_IFREG = 0x8000;
    static final int S_IFLNK = 0xA000;
    static final int EXTENTS_FL = 0x80000;
    static final int INLINE_DATA_FL = 0x10000000;

    boolean isDir() {
        return (mode & S_IFMT) == S_IFDIR;
    }

    boolean isRegular() {
        return (mode & S_IFMT) == S_IFREG;
    }

    boolean isSymlink() {
        return (mode & S_IFMT) == S_IFLNK;
    }

    boolean usesExtents() {
        return (flags & EXTENTS_FL) != 0;
    }

    boolean hasInlineData() {
        return (flags & INLINE_DATA_FL) != 0;
    }

    static final int EA_INODE_FL = 0x200000;

    /**
     * Whether this is a fast symlink, its target in i_block rather than in a data block: the
     * kernel's and e2fsck's rule, which goes by the size alone (shorter than i_block's 60 bytes,
     * not empty) — not by i_blocks, which also counts an xattr block. Only an inode that holds an
     * xattr value (EA_INODE_FL) goes by its data blocks. An inline-data symlink is not one: its
     * target is inline data.
     */
    boolean isFastSymlink(int blockSize) {
        if (!isSymlink() || hasInlineData()) {
            return false;
        }
        if ((flags & EA_INODE_FL) != 0) {
            return blocks512 - (fileAcl != 0 ? blockSize / 512 : 0) == 0;
        }
        return size > 0 && size < 60;
    }

    /** Permission and type bits as {@code stat} reports them. */
    int permissions() {
        return mode & 0xFFF;
    }

    static Inode parse(long number, ByteBuffer raw, int offset, int inodeSize) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int mode = b.getShort(offset) & 0xffff;
        long uid = (b.getShort(offset + 2) & 0xffff) | ((long) (b.getShort(offset + 120) & 0xffff) << 16);
        long gid = (b.getShort(offset + 24) & 0xffff) | ((long) (b.getShort(offset + 122) & 0xffff) << 16);
        long size = Integer.toUnsignedLong(b.getInt(offset + 4)) | (Integer.toUnsignedLong(b.getInt(offset + 108)) << 32);
        int links = b.getShort(offset + 26) & 0xffff;
        long blocks = Integer.toUnsignedLong(b.getInt(offset + 28)) | ((long) (b.getShort(offset + 116) & 0xffff) << 32);
        int flags = b.getInt(offset + 32);
        long fileAcl = Integer.toUnsignedLong(b.getInt(offset + 104)) | ((long) (b.getShort(offset + 118) & 0xffff) << 32);
        int extra = inodeSize > 128 ? b.getShort(offset + 128) & 0xffff : 0;
        int ctimeNs = extra >= 8 ? b.getInt(offset + 132) >>> 2 : 0;
        int mtimeNs = extra >= 12 ? b.getInt(offset + 136) >>> 2 : 0;
        int atimeNs = extra >= 16 ? b.getInt(offset + 140) >>> 2 : 0;
        // The low two bits of each *_extra field extend the seconds past 2038.
        long atime = epoch(b.getInt(offset + 8), extra >= 16 ? b.getInt(offset + 140) : 0);
        long ctime = epoch(b.getInt(offset + 12), extra >= 8 ? b.getInt(offset + 132) : 0);
        long mtime = epoch(b.getInt(offset + 16), extra >= 12 ? b.getInt(offset + 136) : 0);
        byte[] block = new byte[60];
        b.get(offset + 40, block);
        return new Inode(number, mode, uid, gid, size, links, blocks, flags, atime, mtime, ctime, atimeNs, mtimeNs,
                ctimeNs, fileAcl, b.getInt(offset + 100), block);
    }

    private static long epoch(int seconds, int extra) {
        return (long) seconds + ((long) (extra & 3) << 32);
    }
}
