package io.jrump.fs.ext;

/**
 * One entry of an ext directory as it is on disk: its name, the inode it names and the ext
 * file-type code (1 regular … 7 symlink; 0 without the filetype feature). The VFS sees these as
 * {@link io.jrump.kernel.sys.DirEntry}.
 */
record Dirent(String name, long inode, int fileType) {
    /**
     * Whether {@code name} is ".". Tested by length and character, not {@code equals}: a fuzzer's
     * string-compare hook (Jazzer's) would otherwise encode every long name compared with it.
     */
    static boolean isDot(String name) {
        return name.length() == 1 && name.charAt(0) == '.';
    }

    /** Whether {@code name} is "..", tested as {@link #isDot} is. */
    static boolean isDotDot(String name) {
        return name.length() == 2 && name.charAt(0) == '.' && name.charAt(1) == '.';
    }
}
