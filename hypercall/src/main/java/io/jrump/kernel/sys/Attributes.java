package io.jrump.kernel.sys;

/** What {@code stat(2)} reports of an inode; times in nanoseconds since the epoch. */
public record Attributes(long ino, int mode, int nlink, long uid, long gid, long rdev, long size, long blocks512,
                         int blockSize, long atimeNanos, long mtimeNanos, long ctimeNanos) {
    public static final int S_IFMT = 0170000;
    public static final int S_IFSOCK = 0140000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFBLK = 0060000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFCHR = 0020000;
    public static final int S_IFIFO = 0010000;

    public int type() {
        return mode & S_IFMT;
    }

    public int permissions() {
        return mode & 07777;
    }

    public boolean isDirectory() {
        return type() == S_IFDIR;
    }

    public boolean isRegular() {
        return type() == S_IFREG;
    }

    public boolean isSymlink() {
        return type() == S_IFLNK;
    }
}
