package io.jrump.kernel.sys;

/** {@code open(2)} flags, access modes and {@code lseek}/{@code access}/{@code utimensat} constants, with Linux's values. */
public final class OpenFlags {
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 01;
    public static final int O_RDWR = 02;
    public static final int O_ACCMODE = 03;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_TRUNC = 01000;
    public static final int O_APPEND = 02000;
    public static final int O_DIRECTORY = 0200000;
    public static final int O_NOFOLLOW = 0400000;

    public static final int SEEK_SET = 0;
    public static final int SEEK_CUR = 1;
    public static final int SEEK_END = 2;
    public static final int SEEK_DATA = 3;
    public static final int SEEK_HOLE = 4;

    public static final int F_OK = 0;
    public static final int X_OK = 1;
    public static final int W_OK = 2;
    public static final int R_OK = 4;

    /** utimensat: set this time to now, or leave it as it is. */
    public static final long UTIME_NOW = Long.MAX_VALUE;
    public static final long UTIME_OMIT = Long.MIN_VALUE;

    /** The flags open(2) knows; any other bit is EINVAL. */
    public static final int KNOWN = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY | O_NOFOLLOW;

    private OpenFlags() {
    }

    public static boolean readable(int flags) {
        int acc = flags & O_ACCMODE;
        return acc == O_RDONLY || acc == O_RDWR;
    }

    public static boolean writable(int flags) {
        int acc = flags & O_ACCMODE;
        return acc == O_WRONLY || acc == O_RDWR;
    }
}
