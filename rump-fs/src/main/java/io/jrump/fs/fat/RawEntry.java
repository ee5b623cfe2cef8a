package io.jrump.fs.fat;

/**
 * The fields of one 32-byte short directory entry (fatgen103, 6), read from and written to a
 * directory's bytes. Mutable: a file's entry is changed and written back when its size, first
 * cluster or times change.
 */
final class RawEntry {
    static final int SIZE = 32;
    static final int ATTR_READ_ONLY = 0x01;
    static final int ATTR_HIDDEN = 0x02;
    static final int ATTR_SYSTEM = 0x04;
    static final int ATTR_VOLUME_ID = 0x08;
    static final int ATTR_DIRECTORY = 0x10;
    static final int ATTR_ARCHIVE = 0x20;
    static final int ATTR_LONG_NAME = 0x0F;
    static final int DELETED = 0xE5;

    final byte[] name = new byte[11];
    int attr;
    int ntFlags;
    int createTenths;
    int createTime;
    int createDate;
    int accessDate;
    long firstCluster;
    int writeTime;
    int writeDate;
    long size;

    static RawEntry read(byte[] dir, int at, boolean fat32) {
        RawEntry e = new RawEntry();
        System.arraycopy(dir, at, e.name, 0, 11);
        e.attr = dir[at + 11] & 0xff;
        e.ntFlags = dir[at + 12] & 0xff;
        e.createTenths = dir[at + 13] & 0xff;
        e.createTime = u16(dir, at + 14);
        e.createDate = u16(dir, at + 16);
        e.accessDate = u16(dir, at + 18);
        long hi = fat32 ? u16(dir, at + 20) : 0; // FAT12/16 keep EA data there, not cluster bits
        e.writeTime = u16(dir, at + 22);
        e.writeDate = u16(dir, at + 24);
        e.firstCluster = hi << 16 | u16(dir, at + 26);
        e.size = (dir[at + 28] & 0xffL) | (dir[at + 29] & 0xffL) << 8 | (dir[at + 30] & 0xffL) << 16
                | (dir[at + 31] & 0xffL) << 24;
        return e;
    }

    void write(byte[] dir, int at) {
        System.arraycopy(name, 0, dir, at, 11);
        dir[at + 11] = (byte) attr;
        dir[at + 12] = (byte) ntFlags;
        dir[at + 13] = (byte) createTenths;
        put16(dir, at + 14, createTime);
        put16(dir, at + 16, createDate);
        put16(dir, at + 18, accessDate);
        put16(dir, at + 20, (int) (firstCluster >>> 16));
        put16(dir, at + 22, writeTime);
        put16(dir, at + 24, writeDate);
        put16(dir, at + 26, (int) firstCluster);
        dir[at + 28] = (byte) size;
        dir[at + 29] = (byte) (size >>> 8);
        dir[at + 30] = (byte) (size >>> 16);
        dir[at + 31] = (byte) (size >>> 24);
    }

    boolean isDirectory() {
        return (attr & ATTR_DIRECTORY) != 0;
    }

    static int u16(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8;
    }

    static void put16(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
    }
}
