package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The ext2/3/4 superblock (1024 bytes at byte 1024 of the device), parsed and checked: magic,
 * sizes, counts against the device, feature flags, and the metadata_csum checksum. Field names
 * follow the kernel's {@code struct ext4_super_block}; {@code hashSeed}, {@code defHashVersion} and
 * {@code flags} are s_hash_seed, s_def_hash_version and s_flags. {@code clusterBits} is log2 of the
 * blocks per allocation cluster: 0 without bigalloc; with it, block bitmaps, group free counts and
 * s_clusters_per_group count clusters of 2^clusterBits blocks. {@code firstMetaBg} is
 * s_first_meta_bg (meta_bg: the descriptor blocks kept after every superblock copy). Immutable.
 */
record Superblock(long inodesCount, long blocksCount, long firstDataBlock, int blockSize, long blocksPerGroup,
                  long inodesPerGroup, int inodeSize, int revLevel, long firstIno, int featureCompat,
                  int featureIncompat, int featureRoCompat, byte[] uuid, String volumeName, int descSize,
                  int checksumSeed, long groupCount, long journalInum, long freeBlocks, long freeInodes,
                  long reservedBlocks, int reservedGdtBlocks, int[] backupGroups, int[] hashSeed,
                  int defHashVersion, int flags, int clusterBits, long firstMetaBg) {

    static final int OFFSET = 1024;
    static final int SIZE = 1024;
    static final int MAGIC = 0xEF53;

    static final int COMPAT_HAS_JOURNAL = 0x4;
    static final int INCOMPAT_FILETYPE = 0x2;
    static final int INCOMPAT_RECOVER = 0x4;
    static final int INCOMPAT_JOURNAL_DEV = 0x8;
    static final int INCOMPAT_META_BG = 0x10;
    static final int INCOMPAT_EXTENTS = 0x40;
    static final int INCOMPAT_64BIT = 0x80;
    static final int INCOMPAT_MMP = 0x100;
    static final int INCOMPAT_FLEX_BG = 0x200;
    static final int INCOMPAT_EA_INODE = 0x400;
    static final int INCOMPAT_DIRDATA = 0x1000;
    static final int INCOMPAT_CSUM_SEED = 0x2000;
    static final int INCOMPAT_LARGEDIR = 0x4000;
    static final int INCOMPAT_INLINE_DATA = 0x8000;
    static final int INCOMPAT_ENCRYPT = 0x10000;
    static final int INCOMPAT_CASEFOLD = 0x20000;
    static final int RO_COMPAT_METADATA_CSUM = 0x400;
    static final int RO_COMPAT_GDT_CSUM = 0x10;
    static final int RO_COMPAT_HUGE_FILE = 0x8;
    static final int RO_COMPAT_DIR_NLINK = 0x20;
    static final int RO_COMPAT_BIGALLOC = 0x200;
    static final int COMPAT_DIR_INDEX = 0x20;
    /** s_flags: directory hashes treat name bytes as unsigned chars (set by mke2fs where char is unsigned). */
    static final int FLAG_UNSIGNED_HASH = 0x2;

    /** Incompatible features this reader handles; any other refuses the mount. */
    static final int INCOMPAT_SUPPORTED = INCOMPAT_FILETYPE | INCOMPAT_EXTENTS | INCOMPAT_64BIT
            | INCOMPAT_FLEX_BG | INCOMPAT_CSUM_SEED | INCOMPAT_LARGEDIR | INCOMPAT_INLINE_DATA | INCOMPAT_RECOVER
            | INCOMPAT_ENCRYPT | INCOMPAT_CASEFOLD | INCOMPAT_META_BG | INCOMPAT_EA_INODE | INCOMPAT_MMP;

    private static final String[] INCOMPAT_NAMES = {"compression", "filetype", "needs_recovery",
        "journal_dev (an external journal device, not a filesystem)", "meta_bg", "0x20", "extent", "64bit", "mmp",
        "flex_bg", "ea_inode", "0x800", "dirdata", "metadata_csum_seed",
        "large_dir", "inline_data", "encrypt", "casefold"};

    boolean has64bit() {
        return (featureIncompat & INCOMPAT_64BIT) != 0;
    }

    /** meta_bg: descriptor blocks past s_first_meta_bg live in their own meta group ({@link GdtLayout}). */
    boolean hasMetaBg() {
        return (featureIncompat & INCOMPAT_META_BG) != 0;
    }

    boolean hasMetadataCsum() {
        return (featureRoCompat & RO_COMPAT_METADATA_CSUM) != 0;
    }

    boolean hasDirIndex() {
        return (featureCompat & COMPAT_DIR_INDEX) != 0;
    }

    boolean hasLargeDir() {
        return (featureIncompat & INCOMPAT_LARGEDIR) != 0;
    }

    boolean hasDirNlink() {
        return (featureRoCompat & RO_COMPAT_DIR_NLINK) != 0;
    }

    /** Whether s_flags says directory hashes use unsigned chars (the {@code *_unsigned} hash versions). */
    boolean unsignedHash() {
        return (flags & FLAG_UNSIGNED_HASH) != 0;
    }

    boolean hasJournal() {
        return (featureCompat & COMPAT_HAS_JOURNAL) != 0;
    }

    boolean needsRecovery() {
        return (featureIncompat & INCOMPAT_RECOVER) != 0;
    }

    static Superblock parse(ByteBuffer raw, long deviceBytes, String device) throws ErrnoException {
        return parse(raw, deviceBytes, device, true);
    }

    /**
     * Parses; with {@code verifyChecksum} false the checksum is not checked — only for finding
     * the journal that will rewrite a superblock a crash tore (its layout fields are the same in
     * every version of it), never for using it.
     */
    static Superblock parse(ByteBuffer raw, long deviceBytes, String device, boolean verifyChecksum)
            throws ErrnoException {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        String where = device + ": ext superblock";
        if ((b.getShort(56) & 0xffff) != MAGIC) {
            throw new ErrnoException(Errno.EINVAL, where + ": bad magic 0x" + Integer.toHexString(b.getShort(56) & 0xffff)
                    + " (not an ext2/3/4 filesystem)");
        }
        int logBlock = b.getInt(24);
        if (logBlock < 0 || logBlock > 6) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": s_log_block_size " + logBlock + " (block size above 64 KiB)");
        }
        int blockSize = 1024 << logBlock;
        int incompat = b.getInt(96);
        int roCompat = b.getInt(100);
        // Features before geometry: an unknown feature may change what the counts mean.
        List<String> unsupported = unsupported(incompat);
        if (!unsupported.isEmpty()) {
            throw new ErrnoException(Errno.EOPNOTSUPP, device + ": unsupported ext feature: " + String.join(", ", unsupported));
        }
        int encoding = b.getShort(Casefold.SB_ENCODING) & 0xffff;
        if ((incompat & INCOMPAT_CASEFOLD) != 0 && encoding != Casefold.ENCODING_UTF8) {
            throw new ErrnoException(Errno.EOPNOTSUPP, device + ": unsupported ext feature: casefold with s_encoding "
                    + encoding + " (only 1, utf8-12.1, is known)");
        }
        long blocks = Integer.toUnsignedLong(b.getInt(4));
        int descSize = 32;
        if ((incompat & INCOMPAT_64BIT) != 0) {
            blocks |= Integer.toUnsignedLong(b.getInt(336)) << 32;
            descSize = b.getShort(254) & 0xffff;
            if (descSize < 64 || descSize > 1024 || Integer.bitCount(descSize) != 1) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": s_desc_size " + descSize);
            }
        }
        long inodes = Integer.toUnsignedLong(b.getInt(0));
        long firstData = Integer.toUnsignedLong(b.getInt(20));
        long blocksPerGroup = Integer.toUnsignedLong(b.getInt(32));
        long inodesPerGroup = Integer.toUnsignedLong(b.getInt(40));
        int revLevel = b.getInt(76);
        int inodeSize = revLevel == 0 ? 128 : b.getShort(88) & 0xffff;
        long firstIno = revLevel == 0 ? 11 : Integer.toUnsignedLong(b.getInt(84));
        if (blocks == 0 || blocks > deviceBytes / blockSize) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": s_blocks_count " + blocks + " exceeds the device's "
                    + deviceBytes / blockSize + " blocks of " + blockSize);
        }
        int clusterBits = 0;
        if ((roCompat & RO_COMPAT_BIGALLOC) != 0) {
            clusterBits = b.getInt(0x1C) - logBlock;
            long clustersPerGroup = Integer.toUnsignedLong(b.getInt(0x24));
            if (clusterBits < 1 || clusterBits > MAX_CLUSTER_BITS || firstData != 0
                    || (incompat & INCOMPAT_EXTENTS) == 0 || clustersPerGroup << clusterBits != blocksPerGroup) {
                throw new ErrnoException(Errno.EUCLEAN, where + ": bigalloc with s_log_cluster_size " + b.getInt(0x1C)
                        + " (block size 2^" + (10 + logBlock) + "), " + clustersPerGroup + " clusters and "
                        + blocksPerGroup + " blocks per group, first data block " + firstData
                        + ((incompat & INCOMPAT_EXTENTS) == 0 ? ", no extents" : ""));
            }
        }
        long groupBitmapBits = blocksPerGroup >>> clusterBits;
        if (blocksPerGroup == 0 || groupBitmapBits > 8L * blockSize || inodesPerGroup == 0
                || inodesPerGroup > 8L * blockSize || firstData >= blocks) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": " + blocksPerGroup + " blocks and " + inodesPerGroup
                    + " inodes per group, first data block " + firstData);
        }
        if (inodeSize < 128 || inodeSize > blockSize || Integer.bitCount(inodeSize) != 1) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": s_inode_size " + inodeSize);
        }
        if (firstIno < 11 || firstIno > inodes) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": s_first_ino " + firstIno + " (11 to " + inodes + ")");
        }
        long groups = (blocks - firstData + blocksPerGroup - 1) / blocksPerGroup;
        if (inodes > groups * inodesPerGroup || inodes == 0 || groups > Integer.MAX_VALUE) {
            throw new ErrnoException(Errno.EUCLEAN, where + ": s_inodes_count " + inodes + " for " + groups + " groups of "
                    + inodesPerGroup);
        }
        byte[] uuid = new byte[16];
        b.get(104, uuid);
        byte[] label = new byte[16];
        b.get(120, label);
        int len = 0;
        while (len < 16 && label[len] != 0) {
            len++;
        }
        int seed = 0;
        if ((roCompat & RO_COMPAT_METADATA_CSUM) != 0) {
            int stored = b.getInt(1020);
            int actual = Crc32c.update(~0, b, 0, 1020);
            if (stored != actual && verifyChecksum) {
                throw new ErrnoException(Errno.EUCLEAN, String.format("%s: checksum 0x%08x, expected 0x%08x", where,
                        stored, actual));
            }
            seed = (incompat & INCOMPAT_CSUM_SEED) != 0 ? b.getInt(0x270)
                    : Crc32c.update(~0, ByteBuffer.wrap(uuid), 0, 16);
        }
        return new Superblock(inodes, blocks, firstData, blockSize, blocksPerGroup, inodesPerGroup, inodeSize, revLevel,
                firstIno, b.getInt(92), incompat, roCompat, uuid, new String(label, 0, len, StandardCharsets.ISO_8859_1),
                descSize, seed, groups, Integer.toUnsignedLong(b.getInt(0xE0)),
                wide(b, 12, 0x158, incompat), Integer.toUnsignedLong(b.getInt(16)), wide(b, 8, 0x154, incompat),
                b.getShort(0xCE) & 0xffff, new int[] {b.getInt(0x24C), b.getInt(0x250)},
                new int[] {b.getInt(0xEC), b.getInt(0xF0), b.getInt(0xF4), b.getInt(0xF8)}, b.get(0xFC) & 0xff,
                b.getInt(0x160), clusterBits, Integer.toUnsignedLong(b.getInt(0x104)));
    }

    /** The largest cluster this reader accepts: 2^16 blocks, as far as mke2fs goes with 4 KiB blocks (256 MiB). */
    static final int MAX_CLUSTER_BITS = 16;

    /**
     * The first block of the primary group descriptors: the one after the superblock's (block 1
     * with 1 KiB blocks, whose block 0 is the boot block, else block 0) — with bigalloc's first
     * data block 0 too, not the first data block plus one.
     */
    long primaryGdtBlock() {
        return OFFSET / blockSize + 1;
    }

    boolean hasBigalloc() {
        return clusterBits > 0;
    }

    /** Blocks per allocation cluster: 1 without bigalloc. */
    int clusterRatio() {
        return 1 << clusterBits;
    }

    /** Bits in a group's block bitmap: one per cluster (a block without bigalloc). */
    long clustersPerGroup() {
        return blocksPerGroup >>> clusterBits;
    }

    static final int COMPAT_RESIZE_INODE = 0x10;
    static final int COMPAT_SPARSE_SUPER2 = 0x200;
    static final int RO_COMPAT_SPARSE_SUPER = 0x1;

    /** Whether group {@code g} holds a copy of the superblock and group descriptors. */
    boolean hasSuperblockCopy(long g) {
        if (g == 0) {
            return true;
        }
        if ((featureCompat & COMPAT_SPARSE_SUPER2) != 0) {
            return g == Integer.toUnsignedLong(backupGroups[0]) || g == Integer.toUnsignedLong(backupGroups[1]);
        }
        if ((featureRoCompat & RO_COMPAT_SPARSE_SUPER) == 0 || g == 1) {
            return g == 1 || (featureRoCompat & RO_COMPAT_SPARSE_SUPER) == 0;
        }
        return isPower(g, 3) || isPower(g, 5) || isPower(g, 7);
    }

    private static boolean isPower(long n, int base) {
        long p = base;
        while (p < n) {
            p *= base;
        }
        return p == n;
    }

    /** A block count split into a low word and, with 64bit, a high word. */
    private static long wide(ByteBuffer b, int lo, int hi, int incompat) {
        long v = Integer.toUnsignedLong(b.getInt(lo));
        return (incompat & INCOMPAT_64BIT) != 0 ? v | (Integer.toUnsignedLong(b.getInt(hi)) << 32) : v;
    }

    /** Names of the incompatible features set that this reader does not handle; empty if none. */
    List<String> unsupportedIncompat() {
        return unsupported(featureIncompat);
    }

    /** The features that keep this reader from reading the filesystem at all: incompatible ones it does not know. */
    private static List<String> unsupported(int featureIncompat) {
        List<String> out = new ArrayList<>();
        int unknown = featureIncompat & ~INCOMPAT_SUPPORTED;
        for (int bit = 0; bit < 32; bit++) {
            if ((unknown & (1 << bit)) != 0) {
                out.add(bit < INCOMPAT_NAMES.length ? INCOMPAT_NAMES[bit] : "0x" + Integer.toHexString(1 << bit));
            }
        }
        return out;
    }
}
