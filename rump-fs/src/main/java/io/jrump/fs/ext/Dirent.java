package io.jrump.fs.ext;

/**
 * One entry of an ext directory as it is on disk: its name, the inode it names and the ext
 * file-type code (1 regular … 7 symlink; 0 without the filetype feature). The VFS sees these as
 * {@link io.jrump.kernel.sys.DirEntry}.
 */
record Dirent(String name, long inode, int fileType) {
}
