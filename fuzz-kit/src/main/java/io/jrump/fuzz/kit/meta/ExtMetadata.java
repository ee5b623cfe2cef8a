package io.jrump.fuzz.kit.meta;

import io.jrump.fs.ext.ExtChecksums;
import io.jrump.fuzz.kit.meta.MetadataMap.Region;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The metadata of an ext2/3/4 image, read from the on-disk format: the primary superblock and
 * group descriptor table, each group's bitmaps, the inode table blocks up to the last inode in
 * use, and for each inode in use its extent-tree or indirect blocks, its directory blocks (a
 * directory's whole contents are metadata) and its xattr block. File data, symlink targets
 * outside the inode and free space are left out. Backup superblocks and descriptor tables are
 * left out too (mount reads the primary). The base image is trusted (made by our mkfs or
 * mke2fs): fields are read as they are, with bounds only against the image's end.
 */
public final class ExtMetadata {
    private static final int EXTENTS_FL = 0x80000;
    private static final int INLINE_DATA_FL = 0x10000000;
    private static final int S_IFMT = 0xf000;
    private static final int S_IFDIR = 0x4000;

    private final ByteBuffer img;
    private final int blockSize;
    private final long blocks;
    private final List<Region> regions = new ArrayList<>();

    private ExtMetadata(byte[] image) {
        img = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        blockSize = 1024 << img.getInt(1024 + 24);
        blocks = Math.min(image.length / blockSize, Integer.toUnsignedLong(img.getInt(1024 + 4)));
    }

    /** The map of {@code image}, an ext2/3/4 filesystem (superblock magic 0xEF53 at 1080). */
    public static MetadataMap map(byte[] image) {
        ExtMetadata m = new ExtMetadata(image);
        if ((m.img.getShort(1024 + 56) & 0xffff) != 0xef53) {
            throw new IllegalArgumentException("not an ext image: no superblock magic at 1080");
        }
        m.walk();
        return MetadataMap.of(m.regions, image.length);
    }

    /**
     * Rewrites every metadata_csum checksum of {@code image} (superblock, group descriptors,
     * bitmaps, inodes, extent tails, directory leaf and dx tails, xattr blocks) with rump-fs's
     * {@link ExtChecksums}; an image without metadata_csum stays as it is, and so does any
     * structure the rewriter cannot follow.
     */
    public static void fixChecksums(byte[] image) {
        try {
            ExtChecksums.rewrite(new ByteArrayDevice(image));
        } catch (ErrnoException e) {
            // What it could not reach keeps its checksum: the harness meets it as corruption.
        }
    }

    private void walk() {
        int sb = 1024;
        long firstData = Integer.toUnsignedLong(img.getInt(sb + 20));
        long blocksPerGroup = Integer.toUnsignedLong(img.getInt(sb + 32));
        long inodesPerGroup = Integer.toUnsignedLong(img.getInt(sb + 40));
        int inodeSize = img.getInt(sb + 76) == 0 ? 128 : img.getShort(sb + 88) & 0xffff;
        boolean is64 = (img.getInt(sb + 96) & 0x80) != 0;
        int descSize = is64 ? img.getShort(sb + 254) & 0xffff : 32;
        long groups = (blocks - firstData + blocksPerGroup - 1) / blocksPerGroup;
        regions.add(new Region(sb, 1024, "ext superblock"));
        long gdt = (firstData + 1) * blockSize;
        int gdtBytes = (int) (groups * descSize);
        regions.add(new Region(gdt, roundUp(gdtBytes), "group descriptor table"));
        for (long g = 0; g < groups; g++) {
            int d = (int) (gdt + g * descSize);
            long blockBitmap = word(d, d + 0x20, descSize);
            long inodeBitmap = word(d + 4, d + 0x24, descSize);
            long inodeTable = word(d + 8, d + 0x28, descSize);
            int flags = img.getShort(d + 0x12) & 0xffff;
            addBlock(blockBitmap, "block bitmap of group " + g);
            addBlock(inodeBitmap, "inode bitmap of group " + g);
            if ((flags & 1) != 0 || !inBounds(inodeBitmap) || !inBounds(inodeTable)) {
                continue; // INODE_UNINIT: no inode of this group is in use
            }
            long last = lastUsedInode(inodeBitmap, inodesPerGroup);
            int perBlock = blockSize / inodeSize;
            for (long k = 0; k <= last / perBlock; k++) {
                long first = g * inodesPerGroup + k * perBlock + 1;
                addBlock(inodeTable + k, "inode table block " + k + " of group " + g + " (inodes " + first + "-"
                        + (first + perBlock - 1) + ")");
            }
            for (long i = 0; i <= last; i++) {
                if ((img.get((int) (inodeBitmap * blockSize + i / 8)) >> (i % 8) & 1) != 0) {
                    long at = inodeTable * blockSize + i * inodeSize;
                    inode(g * inodesPerGroup + i + 1, (int) at);
                }
            }
        }
    }

    private void inode(long ino, int at) {
        if (at + 128 > img.capacity()) {
            return;
        }
        int mode = img.getShort(at) & 0xffff;
        int links = img.getShort(at + 26) & 0xffff;
        int flags = img.getInt(at + 32);
        if (mode == 0 || links == 0) {
            return;
        }
        long acl = Integer.toUnsignedLong(img.getInt(at + 104)) | (long) (img.getShort(at + 118) & 0xffff) << 32;
        if (acl != 0) {
            addBlock(acl, "xattr block of inode " + ino);
        }
        if ((flags & INLINE_DATA_FL) != 0) {
            return;
        }
        boolean dir = (mode & S_IFMT) == S_IFDIR;
        List<Long> dataBlocks = new ArrayList<>();
        if ((flags & EXTENTS_FL) != 0) {
            extents(ino, at + 40, 0, dataBlocks);
        } else if ((mode & S_IFMT) != 0xa000 || img.getInt(at + 28) != 0) { // a fast symlink keeps its target in i_block
            for (int k = 0; k < 15; k++) {
                long b = Integer.toUnsignedLong(img.getInt(at + 40 + 4 * k));
                indirect(ino, b, k < 12 ? 0 : k - 11, dataBlocks);
            }
        }
        if (dir) {
            for (int k = 0; k < dataBlocks.size(); k++) {
                addBlock(dataBlocks.get(k), "directory block " + k + " of inode " + ino);
            }
        }
    }

    /** An extent node at {@code at}: index nodes' children are extent blocks, leaves give the data blocks. */
    private void extents(long ino, int at, int level, List<Long> data) {
        if (level > 5 || (img.getShort(at) & 0xffff) != 0xf30a) {
            return;
        }
        int entries = img.getShort(at + 2) & 0xffff;
        int depth = img.getShort(at + 6) & 0xffff;
        for (int i = 0; i < entries; i++) {
            int e = at + 12 + 12 * i;
            if (e + 12 > img.capacity()) {
                return;
            }
            if (depth > 0) {
                long child = Integer.toUnsignedLong(img.getInt(e + 4)) | (long) (img.getShort(e + 8) & 0xffff) << 32;
                if (addBlock(child, "extent block of inode " + ino + " (depth " + (depth - 1) + ")")) {
                    extents(ino, (int) (child * blockSize), level + 1, data);
                }
            } else {
                int len = img.getShort(e + 4) & 0xffff;
                len = len > 32768 ? len - 32768 : len;
                long start = Integer.toUnsignedLong(img.getInt(e + 8)) | (long) (img.getShort(e + 6) & 0xffff) << 32;
                for (int k = 0; k < len && data.size() < 4096; k++) {
                    data.add(start + k);
                }
            }
        }
    }

    /** Block {@code b} of an ext2/3 block map at indirection {@code level} (0: a data block). */
    private void indirect(long ino, long b, int level, List<Long> data) {
        if (b == 0 || !inBounds(b) || data.size() >= 4096) {
            return;
        }
        if (level == 0) {
            data.add(b);
            return;
        }
        addBlock(b, "indirect block (level " + level + ") of inode " + ino);
        for (int k = 0; k < blockSize / 4; k++) {
            indirect(ino, Integer.toUnsignedLong(img.getInt((int) (b * blockSize + 4L * k))), level - 1, data);
        }
    }

    private long lastUsedInode(long bitmap, long inodesPerGroup) {
        long last = 0;
        for (long i = 0; i < inodesPerGroup && i < 8L * blockSize; i++) {
            if ((img.get((int) (bitmap * blockSize + i / 8)) >> (i % 8) & 1) != 0) {
                last = i;
            }
        }
        return last;
    }

    private long word(int lo, int hi, int descSize) {
        long v = Integer.toUnsignedLong(img.getInt(lo));
        return descSize >= 64 ? v | Integer.toUnsignedLong(img.getInt(hi)) << 32 : v;
    }

    private boolean inBounds(long block) {
        return block > 0 && block < blocks;
    }

    private boolean addBlock(long block, String what) {
        if (!inBounds(block)) {
            return false;
        }
        regions.add(new Region(block * blockSize, blockSize, what));
        return true;
    }

    private int roundUp(int bytes) {
        return (bytes + blockSize - 1) / blockSize * blockSize;
    }
}
