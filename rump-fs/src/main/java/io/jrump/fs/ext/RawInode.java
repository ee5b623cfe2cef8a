package io.jrump.fs.ext;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * An inode's on-disk bytes being changed ({@code struct ext4_inode}): setters for the fields the
 * writer touches, each split across its low and high halves as the layout wants. Not
 * thread-safe; the filesystem lock guards it. {@link ExtFs#writeInode} sets the checksum.
 */
final class RawInode {
    static final int INDEX_FL = 0x1000;
    static final int HUGE_FILE_FL = 0x40000;

    final long number;
    final ByteBuffer b;

    RawInode(long number, byte[] raw) {
        this.number = number;
        this.b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    }

    byte[] bytes() {
        return b.array();
    }

    Inode parsed() {
        return Inode.parse(number, b, 0, b.capacity());
    }

    int mode() {
        return b.getShort(0) & 0xffff;
    }

    void mode(int mode) {
        b.putShort(0, (short) mode);
    }

    void uid(long uid) {
        b.putShort(2, (short) uid);
        b.putShort(120, (short) (uid >>> 16));
    }

    void gid(long gid) {
        b.putShort(24, (short) gid);
        b.putShort(122, (short) (gid >>> 16));
    }

    long size() {
        return Integer.toUnsignedLong(b.getInt(4)) | (Integer.toUnsignedLong(b.getInt(108)) << 32);
    }

    void size(long size) {
        b.putInt(4, (int) size);
        b.putInt(108, (int) (size >>> 32));
    }

    int links() {
        return b.getShort(26) & 0xffff;
    }

    void links(int n) {
        b.putShort(26, (short) n);
    }

    /** i_blocks in 512-byte units (the huge_file per-inode scaling is never set by us, and refused if found). */
    long blocks512() {
        return Integer.toUnsignedLong(b.getInt(28)) | ((long) (b.getShort(116) & 0xffff) << 32);
    }

    void blocks512(long n) {
        b.putInt(28, (int) n);
        b.putShort(116, (short) (n >>> 32));
    }

    int flags() {
        return b.getInt(32);
    }

    void flags(int flags) {
        b.putInt(32, flags);
    }

    long dtime() {
        return Integer.toUnsignedLong(b.getInt(20));
    }

    void dtime(long v) {
        b.putInt(20, (int) v);
    }

    long fileAcl() {
        return Integer.toUnsignedLong(b.getInt(104)) | ((long) (b.getShort(118) & 0xffff) << 32);
    }

    void fileAcl(long block) {
        b.putInt(104, (int) block);
        b.putShort(118, (short) (block >>> 32));
    }

    int generation() {
        return b.getInt(100);
    }

    void generation(int g) {
        b.putInt(100, g);
    }

    /** The 60-byte i_block area, as a view (extent root, block map or fast symlink). */
    ByteBuffer iblock() {
        return b.duplicate().position(40).limit(100).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    private int extraIsize() {
        return b.capacity() > 128 ? b.getShort(128) & 0xffff : 0;
    }

    /** Sets a timestamp: seconds in the base field, nanoseconds and epoch bits in the extra field if there is one. */
    private void time(int base, int extra, long epochNanos) {
        long sec = Math.floorDiv(epochNanos, 1_000_000_000L);
        int nsec = (int) Math.floorMod(epochNanos, 1_000_000_000L);
        b.putInt(base, (int) sec);
        if (extraIsize() >= extra - 128 + 4) {
            b.putInt(extra, (nsec << 2) | (int) ((sec - (int) sec) >> 32 & 3));
        }
    }

    void atime(long epochNanos) {
        time(8, 140, epochNanos);
    }

    void ctime(long epochNanos) {
        time(12, 132, epochNanos);
    }

    void mtime(long epochNanos) {
        time(16, 136, epochNanos);
    }

    void crtime(long epochNanos) {
        if (extraIsize() >= 24) {
            long sec = Math.floorDiv(epochNanos, 1_000_000_000L);
            b.putInt(144, (int) sec);
            b.putInt(148, ((int) Math.floorMod(epochNanos, 1_000_000_000L) << 2) | (int) ((sec - (int) sec) >> 32 & 3));
        }
    }
}
