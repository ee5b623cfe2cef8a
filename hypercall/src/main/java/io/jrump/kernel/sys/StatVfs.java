package io.jrump.kernel.sys;

/** What {@code statvfs(3)} reports of a mounted filesystem. */
public record StatVfs(int blockSize, long blocks, long freeBlocks, long availableBlocks, long files, long freeFiles,
                      int nameMax, boolean readOnly) {
}
