package io.jrump.fs.ext;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes an empty ext2, ext3 or ext4 filesystem on a whole device: superblock and its backups,
 * group descriptors (after each superblock, or with meta_bg in their meta groups), reserved GDT
 * blocks and the resize inode, bitmaps, inode tables (zeroed, or with lazy_itable_init left
 * unwritten in unused groups), the root directory with {@code lost+found}, a jbd2 journal
 * (extent-mapped, or block-mapped without extents) and the checksums metadata_csum or uninit_bg
 * ask for. Which features: {@link MkfsFeatures}.
 *
 * <p>Layout: every group keeps its own bitmaps and inode table right after its superblock copy
 * and descriptors, if it has them; flex_bg, when set, lets metadata lie anywhere, and this
 * layout is one of those it allows. Data blocks (the two directories, the resize inode's double
 * indirect block and the journal) are taken in order from the free space after group 0's metadata.
 *
 * <p>The uuid and the creation time come in as options: nothing here reads a clock or randomness.
 */
public final class Mkfs {

    public enum Type { EXT2, EXT4 }

    /**
     * What to make. {@code uuid} is 16 bytes; {@code bytesPerInode} sets the inode count;
     * {@code reservedPercent} of the blocks are kept for root; {@code features} start as the
     * type's defaults ({@link MkfsFeatures#defaults}); {@code lazyItableInit} leaves the inode
     * tables of groups without inodes unwritten (mke2fs -E lazy_itable_init=1; needs group
     * checksums, metadata_csum or uninit_bg).
     */
    public record Options(Type type, int blockSize, int inodeSize, long bytesPerInode, String label, byte[] uuid,
                          long createdEpochSeconds, int reservedPercent, MkfsFeatures features,
                          boolean lazyItableInit) {

        /** mke2fs's defaults: 4 KiB blocks, 256-byte inodes, an inode per 16 KiB, 5% reserved, no label. */
        public static Options defaults(Type type, byte[] uuid, long createdEpochSeconds) {
            return new Options(type, 4096, 256, 16384, "", uuid, createdEpochSeconds, 5, MkfsFeatures.defaults(type),
                    false);
        }

        /** Another type, with that type's default features. */
        public Options withType(Type t) {
            return new Options(t, blockSize, inodeSize, bytesPerInode, label, uuid, createdEpochSeconds, reservedPercent,
                    MkfsFeatures.defaults(t), lazyItableInit);
        }

        public Options withBlockSize(int bs) {
            return new Options(type, bs, inodeSize, bytesPerInode, label, uuid, createdEpochSeconds, reservedPercent,
                    features, lazyItableInit);
        }

        public Options withInodeSize(int size) {
            return new Options(type, blockSize, size, bytesPerInode, label, uuid, createdEpochSeconds, reservedPercent,
                    features, lazyItableInit);
        }

        public Options withBytesPerInode(long ratio) {
            return new Options(type, blockSize, inodeSize, ratio, label, uuid, createdEpochSeconds, reservedPercent,
                    features, lazyItableInit);
        }

        public Options withLabel(String l) {
            return new Options(type, blockSize, inodeSize, bytesPerInode, l, uuid, createdEpochSeconds, reservedPercent,
                    features, lazyItableInit);
        }

        public Options withUuid(byte[] u) {
            return new Options(type, blockSize, inodeSize, bytesPerInode, label, u, createdEpochSeconds, reservedPercent,
                    features, lazyItableInit);
        }

        public Options withCreated(long epochSeconds) {
            return new Options(type, blockSize, inodeSize, bytesPerInode, label, uuid, epochSeconds, reservedPercent,
                    features, lazyItableInit);
        }

        public Options withReservedPercent(int percent) {
            return new Options(type, blockSize, inodeSize, bytesPerInode, label, uuid, createdEpochSeconds, percent,
                    features, lazyItableInit);
        }

        public Options withFeatures(MkfsFeatures f) {
            return new Options(type, blockSize, inodeSize, bytesPerInode, label, uuid, createdEpochSeconds,
                    reservedPercent, f, lazyItableInit);
        }

        /** The features changed by an mke2fs-style {@code -O} list ({@link MkfsFeatures#with}). */
        public Options withFeatures(String list) throws ErrnoException {
            return withFeatures(features.with(list));
        }

        public Options withLazyItableInit(boolean lazy) {
            return new Options(type, blockSize, inodeSize, bytesPerInode, label, uuid, createdEpochSeconds,
                    reservedPercent, features, lazy);
        }
    }

    private static final int ROOT_INO = 2;
    private static final int RESIZE_INO = 7;
    private static final int JOURNAL_INO = 8;
    private static final int LOST_FOUND_INO = 11;
    private static final int FIRST_INO = 11;
    private static final int LOST_FOUND_BLOCKS = 4;
    private static final int EXTENTS_FL = 0x80000;
    private static final int BG_INODE_UNINIT = 0x1;
    private static final int BG_BLOCK_UNINIT = 0x2;
    private static final int BG_INODE_ZEROED = 0x4;
    private static final int EXTRA_ISIZE = 32;
    private static final int LOG_GROUPS_PER_FLEX = 4;
    private static final int MAX_EXTENT_LEN = 32768;
    private static final int ZERO_CHUNK = 512 << 10;
    private static final int MIN_EXT2_BLOCKS = 64;
    private static final int MIN_JOURNAL_BLOCKS = 1024;
    /** The descriptor table is held in memory: 64 MiB of it, a million 64-byte descriptors, is the most. */
    private static final long MAX_GDT_BYTES = 64L << 20;

    private Mkfs() {
    }

    /**
     * Formats the whole device.
     *
     * @throws ErrnoException {@code EINVAL} for a bad option or a device too small, naming which;
     *     {@code EOPNOTSUPP} for a feature this mkfs does not make; {@code ENOSPC} if the
     *     directories and journal do not fit; errors of the device
     */
    public static void format(BlockDevice dev, Options o) throws ErrnoException {
        validate(dev, o);
        Layout l = Layout.plan(dev, o);
        new Writer(dev, o, l).write();
    }

    private static void validate(BlockDevice dev, Options o) throws ErrnoException {
        String where = dev.name() + ": mkfs: ";
        if (o.type() == null || o.features() == null) {
            throw new ErrnoException(Errno.EINVAL, where + "no filesystem type or features");
        }
        o.features().validate(where);
        if (o.lazyItableInit() && !o.features().groupChecksums()) {
            throw new ErrnoException(Errno.EINVAL, where + "lazy_itable_init needs metadata_csum or uninit_bg (group "
                    + "checksums, whose flags say which inode tables are not yet zeroed)");
        }
        int bs = o.blockSize();
        if (bs != 1024 && bs != 2048 && bs != 4096) {
            throw new ErrnoException(Errno.EINVAL, where + "block size " + bs + " (must be 1024, 2048 or 4096)");
        }
        if ((o.inodeSize() != 128 && o.inodeSize() != 256) || o.inodeSize() > bs) {
            throw new ErrnoException(Errno.EINVAL, where + "inode size " + o.inodeSize() + " (must be 128 or 256)");
        }
        if (o.bytesPerInode() < 1024 || o.bytesPerInode() > (1L << 26)) {
            throw new ErrnoException(Errno.EINVAL, where + "bytes per inode " + o.bytesPerInode()
                    + " (must be 1024 to 64 MiB)");
        }
        String label = o.label() == null ? "" : o.label();
        if (label.getBytes(StandardCharsets.UTF_8).length > 16) {
            throw new ErrnoException(Errno.EINVAL, where + "label \"" + label + "\" longer than 16 bytes");
        }
        if (o.uuid() == null || o.uuid().length != 16) {
            throw new ErrnoException(Errno.EINVAL, where + "uuid must be 16 bytes");
        }
        if (o.reservedPercent() < 0 || o.reservedPercent() > 50) {
            throw new ErrnoException(Errno.EINVAL, where + "reserved percent " + o.reservedPercent() + " (must be 0 to 50)");
        }
        if (o.createdEpochSeconds() < 0 || o.createdEpochSeconds() > 0xFFFFFFFFL) {
            throw new ErrnoException(Errno.EINVAL, where + "creation time " + o.createdEpochSeconds() + " out of range");
        }
        if (dev.isReadOnly()) {
            throw new ErrnoException(Errno.EROFS, where + "device is read-only");
        }
    }

    /** mke2fs's journal size for a filesystem of {@code blocks} blocks. */
    static int defaultJournalBlocks(long blocks) {
        if (blocks < 32768) {
            return 1024;
        }
        if (blocks < 256 * 1024) {
            return 4096;
        }
        if (blocks < 512 * 1024) {
            return 8192;
        }
        if (blocks < 4096 * 1024) {
            return 16384;
        }
        if (blocks < 8192 * 1024) {
            return 32768;
        }
        if (blocks < 16384 * 1024) {
            return 65536;
        }
        return blocks < 32768 * 1024 ? 131072 : 262144;
    }

    /** How many indirect blocks (single, double, triple) a block map of {@code n} blocks needs. */
    static long indirectBlocks(long n, long perBlock) {
        long left = n - 12;
        if (left <= 0) {
            return 0;
        }
        long count = 1;
        left -= perBlock;
        if (left <= 0) {
            return count;
        }
        long second = Math.min(left, perBlock * perBlock);
        count += 1 + (second + perBlock - 1) / perBlock;
        left -= second;
        if (left <= 0) {
            return count;
        }
        return count + 1 + (left + perBlock * perBlock - 1) / (perBlock * perBlock) + (left + perBlock - 1) / perBlock;
    }

    /** Whether group {@code g} holds a superblock copy under sparse_super: 0, 1 and powers of 3, 5, 7. */
    static boolean hasBackup(long g) {
        return g <= 1 || isPower(g, 3) || isPower(g, 5) || isPower(g, 7);
    }

    private static boolean isPower(long n, int base) {
        long p = base;
        while (p < n) {
            p *= base;
        }
        return p == n;
    }

    /** A contiguous run of blocks. */
    private record Run(long start, long length) {
    }

    /** Where everything goes: groups, their metadata, and the data blocks taken for the directories and journal. */
    private static final class Layout {
        MkfsFeatures f;
        int bs;
        long firstData;
        long blocksPerGroup;
        long blocks;
        int groups;
        long inodesPerGroup;
        long itableBlocks;
        int descSize;
        long descPerBlock;
        long gdtBlocks;
        long reservedGdt;
        long[] dataUsed; // blocks taken by data in each group, right after its metadata
        Run root;
        Run lostFound;
        Run resizeDind;
        List<Run> journal = List.of();
        List<Run> journalIndirect = List.of(); // without extents: the journal's indirect blocks

        static Layout plan(BlockDevice dev, Options o) throws ErrnoException {
            Layout l = new Layout();
            l.f = o.features().normalized();
            l.bs = o.blockSize();
            l.firstData = l.bs == 1024 ? 1 : 0;
            l.blocksPerGroup = 8L * l.bs;
            l.descSize = l.f.is64bit() ? 64 : 32;
            l.descPerBlock = l.bs / l.descSize;
            long blocks = dev.size() / l.bs;
            String where = dev.name() + ": mkfs: ";
            long min = l.f.hasJournal() ? 2L * MIN_JOURNAL_BLOCKS : MIN_EXT2_BLOCKS;
            if (blocks < min) {
                throw new ErrnoException(Errno.EINVAL, where + "device of " + blocks + " blocks of " + l.bs
                        + " is too small (" + o.type() + " needs at least " + min + ")");
            }
            if (!l.f.is64bit() && blocks > 0xFFFFFFFFL) {
                throw new ErrnoException(Errno.EINVAL, where + "device of " + blocks + " blocks is too large without "
                        + "64bit (block numbers of 32 bits)");
            }
            if ((blocks / l.blocksPerGroup + 1) * l.descSize > MAX_GDT_BYTES) {
                throw new ErrnoException(Errno.EINVAL, where + "device of " + blocks + " blocks is too large (a group "
                        + "descriptor table above " + (MAX_GDT_BYTES >> 20) + " MiB)");
            }
            l.size(blocks, o);
            // A short last group that cannot hold its metadata and some data is dropped, as mke2fs does.
            if (l.groups > 1 && l.groupBlocks(l.groups - 1) < l.overhead(l.groups - 1) + 50) {
                l.size(l.firstData + (l.groups - 1) * l.blocksPerGroup, o);
            }
            if (l.groupBlocks(l.groups - 1) <= l.overhead(l.groups - 1)) {
                throw new ErrnoException(Errno.EINVAL, where + "device of " + blocks + " blocks is too small for its metadata");
            }
            l.allocate(where, o);
            return l;
        }

        /** Sizes the groups, descriptor table, reserved GDT blocks and inode tables for {@code blocks} blocks. */
        private void size(long blockCount, Options o) {
            blocks = blockCount;
            groups = (int) ((blocks - firstData + blocksPerGroup - 1) / blocksPerGroup);
            gdtBlocks = ((long) groups * descSize + bs - 1) / bs;
            reservedGdt = o.features().resizeInode() ? reservedGdtBlocks() : 0;
            // Past 2^32 blocks the resize inode, whose block map holds 32-bit numbers, is dropped.
            f = blocks <= 0xFFFFFFFFL ? o.features().normalized()
                    : new MkfsFeatures(o.features().compat() & ~MkfsFeatures.COMPAT_RESIZE_INODE,
                            o.features().incompat(), o.features().roCompat()).normalized();
            long inodes = Math.max(blocks * bs / o.bytesPerInode(), FIRST_INO + 1);
            long perBlock = bs / o.inodeSize();
            long unit = Math.max(8, perBlock); // whole inode-table blocks and whole bitmap bytes
            long ipg = Math.max((inodes + groups - 1) / groups, 16);
            ipg = Math.min(ipg, 0xFFFFFFFFL / groups); // s_inodes_count is 32 bits
            ipg = Math.max((ipg + unit - 1) / unit * unit, unit);
            if (ipg * groups > 0xFFFFFFFFL) {
                ipg -= unit;
            }
            inodesPerGroup = Math.min(ipg, 8L * bs);
            itableBlocks = inodesPerGroup / perBlock;
            dataUsed = new long[groups];
        }

        /**
         * mke2fs's reserve of GDT blocks for resize2fs: enough descriptors for 1024 times the
         * size, up to 2^32 blocks, at most one indirect block of them (none may be needed: the
         * resize inode is made all the same, as mke2fs makes it).
         */
        private long reservedGdtBlocks() {
            if (blocks > 0xFFFFFFFFL) {
                return 0;
            }
            long max = blocks < 0xFFFFFFFFL / 1024 ? blocks * 1024 : 0xFFFFFFFFL;
            long rsvGroups = (max - firstData + blocksPerGroup - 1) / blocksPerGroup;
            long rsv = (rsvGroups + descPerBlock - 1) / descPerBlock - gdtBlocks;
            return Math.max(0, Math.min(rsv, bs / 4));
        }

        /** Whether group {@code g} holds a superblock copy: sparse_super's groups, or all without it. */
        boolean hasSuper(long g) {
            return !f.sparseSuper() || hasBackup(g);
        }

        /** With meta_bg: whether group {@code g} holds a copy of its meta group's descriptor block (first, second, last). */
        boolean holdsMetaDescriptors(long g) {
            long w = g % descPerBlock;
            return w == 0 || w == 1 || w == descPerBlock - 1;
        }

        /** Blocks at the start of group {@code g} for the superblock copy, descriptors and reserved GDT blocks. */
        long headBlocks(long g) {
            if (!f.metaBg()) {
                return hasSuper(g) ? 1 + gdtBlocks + reservedGdt : 0;
            }
            return (hasSuper(g) ? 1 : 0) + (holdsMetaDescriptors(g) ? 1 : 0);
        }

        long groupStart(long g) {
            return firstData + g * blocksPerGroup;
        }

        long groupBlocks(int g) {
            return Math.min(blocksPerGroup, blocks - groupStart(g));
        }

        long overhead(int g) {
            return headBlocks(g) + 2 + itableBlocks;
        }

        long blockBitmap(int g) {
            return groupStart(g) + headBlocks(g);
        }

        long inodeBitmap(int g) {
            return blockBitmap(g) + 1;
        }

        long inodeTable(int g) {
            return blockBitmap(g) + 2;
        }

        long firstFree(int g) {
            return groupStart(g) + overhead(g) + dataUsed[g];
        }

        long freeIn(int g) {
            return groupBlocks(g) - overhead(g) - dataUsed[g];
        }

        /** Takes the directories' blocks, the resize inode's indirect block and the journal. */
        private void allocate(String where, Options o) throws ErrnoException {
            List<Run> r = take(1, 1);
            List<Run> lf = take(LOST_FOUND_BLOCKS, 1);
            if (r == null || lf == null) {
                throw new ErrnoException(Errno.ENOSPC, where + "no room for the root directory and lost+found");
            }
            root = r.get(0);
            lostFound = lf.get(0);
            if (f.resizeInode()) {
                List<Run> d = take(1, 1);
                if (d == null) {
                    throw new ErrnoException(Errno.ENOSPC, where + "no room for the resize inode");
                }
                resizeDind = d.get(0);
            }
            if (!f.hasJournal()) {
                return;
            }
            // With extents the journal must fit the inode's four; a smaller one will do if it does not.
            // Without, it is block-mapped (ext3), its indirect blocks taken after it.
            for (long size = defaultJournalBlocks(blocks); size >= MIN_JOURNAL_BLOCKS; size /= 2) {
                List<Run> j = take(size, f.extents() ? 4 : Integer.MAX_VALUE);
                if (j == null) {
                    continue;
                }
                if (!f.extents()) {
                    List<Run> ind = take(indirectBlocks(size, bs / 4), Integer.MAX_VALUE);
                    if (ind == null) {
                        throw new ErrnoException(Errno.ENOSPC, where + "no room for the journal's indirect blocks");
                    }
                    journalIndirect = ind;
                }
                journal = j;
                return;
            }
            throw new ErrnoException(Errno.ENOSPC, where + "no room for a journal of " + MIN_JOURNAL_BLOCKS + " blocks");
        }

        /** Takes {@code n} blocks in at most {@code maxRuns} runs from the first free space; null if they do not fit. */
        private List<Run> take(long n, int maxRuns) {
            long[] used = dataUsed.clone();
            List<Run> runs = new ArrayList<>();
            long left = n;
            for (int g = 0; g < groups && left > 0; g++) {
                long free = freeIn(g);
                if (free <= 0 || (maxRuns == 1 && free < n)) {
                    continue;
                }
                if (runs.size() == maxRuns) {
                    dataUsed = used;
                    return null;
                }
                long len = Math.min(Math.min(free, left), MAX_EXTENT_LEN);
                runs.add(new Run(firstFree(g), len));
                dataUsed[g] += len;
                left -= len;
                if (free > len && left > 0) {
                    g--; // the extent limit cut the run short; continue in the same group
                }
            }
            if (left > 0) {
                dataUsed = used;
                return null;
            }
            return runs;
        }

    }

    /** Builds the structures in memory and writes them, the primary superblock last. */
    private static final class Writer {
        private final BlockDevice dev;
        private final Options o;
        private final Layout l;
        private final MkfsFeatures f;
        private final int bs;
        private final int seed;
        private final long[] freeInodes;
        private final ByteBuffer gdt;

        Writer(BlockDevice dev, Options o, Layout l) {
            this.dev = dev;
            this.o = o;
            this.l = l;
            this.f = l.f;
            this.bs = l.bs;
            this.seed = Crc32c.update(~0, ByteBuffer.wrap(o.uuid()), 0, 16);
            this.freeInodes = new long[l.groups];
            this.gdt = le((int) (l.gdtBlocks * bs));
        }

        void write() throws ErrnoException {
            initInodeTables();
            writeInodes();
            writeDirectories();
            if (f.hasJournal()) {
                writeJournal();
            }
            if (f.resizeInode()) {
                writeResizeInode();
            }
            for (int g = 0; g < l.groups; g++) {
                writeBitmaps(g);
            }
            for (int g = 1; g < l.groups; g++) {
                if (l.hasSuper(g)) {
                    writeSuperblockCopy(g);
                }
            }
            if (f.metaBg()) {
                writeMetaGroupDescriptors();
            }
            // The primary goes last, so that an interrupted format does not look like a filesystem.
            ByteBuffer first = le(bs == 1024 ? 2048 : bs);
            first.put(1024, superblock(0), 0, 1024);
            put(0, first);
            if (!f.metaBg()) {
                put((l.firstData + 1) * bs, gdt);
            }
            dev.flush();
        }

        /** Whether group {@code g}'s inode table is left unwritten: lazy_itable_init, and no inode in it. */
        private boolean lazyTable(int g) {
            return o.lazyItableInit() && g != 0;
        }

        /**
         * Whether group {@code g} is left entirely uninitialised (lazy_itable_init): no inode, no
         * data; its bitmaps are implied by the layout (never the last group, which the kernel
         * and e2fsck always read).
         */
        private boolean lazyGroup(int g) {
            return lazyTable(g) && l.dataUsed[g] == 0 && g != l.groups - 1;
        }

        // ---- inodes ----------------------------------------------------------------------------

        private void initInodeTables() throws ErrnoException {
            for (int g = 0; g < l.groups; g++) {
                if (!lazyTable(g)) {
                    writeZeros(l.inodeTable(g) * bs, l.itableBlocks * bs);
                }
                freeInodes[g] = l.inodesPerGroup;
            }
            freeInodes[0] -= FIRST_INO; // inodes 1-10 are reserved, 11 is lost+found
        }

        private void writeInodes() throws ErrnoException {
            int dirMode = 0x4000;
            writeInode(ROOT_INO, inode(dirMode | 0755, 3, bs, l.root));
            writeInode(LOST_FOUND_INO, inode(dirMode | 0700, 2, (long) LOST_FOUND_BLOCKS * bs, l.lostFound));
            if (f.hasJournal()) {
                writeInode(JOURNAL_INO, journalInode());
            }
        }

        /** A directory or file inode of one run of blocks (a block map, or one extent with extents). */
        private ByteBuffer inode(int mode, int links, long size, Run run) {
            return inode(mode, links, size, List.of(run));
        }

        private ByteBuffer inode(int mode, int links, long size, List<Run> runs) {
            long blocks = runs.stream().mapToLong(Run::length).sum();
            ByteBuffer b = bareInode(mode, links, size, blocks);
            if (f.extents()) {
                b.putInt(0x20, EXTENTS_FL);
                putExtents(b, runs);
            } else {
                int k = 0;
                for (Run r : runs) {
                    for (long i = 0; i < r.length(); i++) {
                        b.putInt(0x28 + 4 * k++, (int) (r.start() + i));
                    }
                }
            }
            return b;
        }

        /** An inode's mode, links, size, times and block count, its i_block left empty. */
        private ByteBuffer bareInode(int mode, int links, long size, long blocks) {
            ByteBuffer b = le(o.inodeSize());
            int t = (int) o.createdEpochSeconds();
            b.putShort(0x0, (short) mode);
            b.putInt(0x4, (int) size);
            b.putInt(0x6C, (int) (size >>> 32));
            b.putInt(0x8, t);
            b.putInt(0xC, t);
            b.putInt(0x10, t);
            b.putShort(0x1A, (short) links);
            long sectors = blocks * (bs / 512);
            b.putInt(0x1C, (int) sectors);
            b.putShort(0x74, (short) (sectors >>> 32));
            if (o.inodeSize() > 128) {
                b.putShort(0x80, (short) EXTRA_ISIZE);
                b.putInt(0x90, t); // crtime
            }
            return b;
        }

        /** An extent tree of depth 0 in i_block: a header and up to four extents. */
        private static void putExtents(ByteBuffer b, List<Run> runs) {
            b.putShort(0x28, (short) 0xF30A);
            b.putShort(0x2A, (short) runs.size());
            b.putShort(0x2C, (short) 4);
            b.putShort(0x2E, (short) 0);
            long logical = 0;
            for (int i = 0; i < runs.size(); i++) {
                Run r = runs.get(i);
                int at = 0x34 + 12 * i;
                b.putInt(at, (int) logical);
                b.putShort(at + 4, (short) r.length());
                b.putShort(at + 6, (short) (r.start() >>> 32));
                b.putInt(at + 8, (int) r.start());
                logical += r.length();
            }
        }

        private ByteBuffer journalInode;

        /** The journal inode, built once (without extents, writing its indirect blocks as it goes). */
        private ByteBuffer journalInode() throws ErrnoException {
            if (journalInode == null) {
                long blocks = l.journal.stream().mapToLong(Run::length).sum();
                if (f.extents()) {
                    journalInode = inode(0x8000 | 0600, 1, blocks * bs, l.journal);
                } else {
                    long indirect = l.journalIndirect.stream().mapToLong(Run::length).sum();
                    journalInode = bareInode(0x8000 | 0600, 1, blocks * bs, blocks + indirect);
                    putBlockMap(journalInode, blocks(l.journal), blocks(l.journalIndirect).iterator());
                }
            }
            return journalInode.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }

        private static List<Long> blocks(List<Run> runs) {
            List<Long> out = new ArrayList<>();
            for (Run r : runs) {
                for (long i = 0; i < r.length(); i++) {
                    out.add(r.start() + i);
                }
            }
            return out;
        }

        /** A block map in i_block: 12 direct pointers, then single, double and triple indirect blocks. */
        private void putBlockMap(ByteBuffer inode, List<Long> data, java.util.Iterator<Long> indirect)
                throws ErrnoException {
            long apb = bs / 4;
            for (int i = 0; i < 12 && i < data.size(); i++) {
                inode.putInt(0x28 + 4 * i, data.get(i).intValue());
            }
            long pos = 12;
            long span = apb;
            for (int level = 1; level <= 3 && pos < data.size(); level++) {
                inode.putInt(0x28 + 4 * (11 + level), (int) indirectBlock(level, data, pos, indirect));
                pos += span;
                span *= apb;
            }
        }

        /** Writes an indirect block of {@code level} mapping data from {@code pos}; returns where it lies. */
        private long indirectBlock(int level, List<Long> data, long pos, java.util.Iterator<Long> indirect)
                throws ErrnoException {
            long at = indirect.next();
            long apb = bs / 4;
            long span = 1;
            for (int i = 1; i < level; i++) {
                span *= apb;
            }
            ByteBuffer b = le(bs);
            for (int k = 0; k < apb && pos + k * span < data.size(); k++) {
                long v = level == 1 ? data.get((int) (pos + k)) : indirectBlock(level - 1, data, pos + k * span, indirect);
                b.putInt(4 * k, (int) v);
            }
            put(at * bs, b);
            return at;
        }

        /**
         * The resize inode (7), as e2fsprogs lays it out for resize2fs: a block map whose double
         * indirect block lists the primary reserved GDT blocks (each at its place in the table,
         * modulo the pointers per block), and each of those, as an indirect block, lists its
         * copies in the backup groups, in group order.
         */
        private void writeResizeInode() throws ErrnoException {
            int apb = bs / 4;
            List<Long> backups = new ArrayList<>();
            for (long g = 1; g < l.groups && backups.size() < apb; g++) {
                if (l.hasSuper(g)) {
                    backups.add(g);
                }
            }
            ByteBuffer dind = le(bs);
            for (long i = 0; i < l.reservedGdt; i++) {
                long primary = l.firstData + 1 + l.gdtBlocks + i;
                dind.putInt((int) ((l.gdtBlocks + i) % apb) * 4, (int) primary);
                ByteBuffer ind = le(bs);
                for (int k = 0; k < backups.size(); k++) {
                    ind.putInt(4 * k, (int) (primary + backups.get(k) * l.blocksPerGroup));
                }
                put(primary * bs, ind);
            }
            put(l.resizeDind.start() * bs, dind);
            long size = ((long) apb * apb + apb + 12) * bs;
            ByteBuffer inode = bareInode(0x8000 | 0600, 1, size, 1 + l.reservedGdt * (1 + backups.size()));
            inode.putInt(0x28 + 4 * 13, (int) l.resizeDind.start());
            writeInode(RESIZE_INO, inode);
        }

        private void writeInode(int n, ByteBuffer inode) throws ErrnoException {
            if (f.metadataCsum()) {
                setInodeChecksum(n, inode);
            }
            long index = n - 1; // all special inodes live in group 0
            long byteInTable = index * o.inodeSize();
            long block = l.inodeTable(0) + byteInTable / bs;
            ByteBuffer b = le(bs);
            get(block * bs, b);
            b.put((int) (byteInTable % bs), inode, 0, o.inodeSize());
            put(block * bs, b);
        }

        /** metadata_csum: CRC32C over inode number, generation and the inode with its checksum fields zeroed. */
        private void setInodeChecksum(int n, ByteBuffer inode) {
            boolean hi = o.inodeSize() > 128;
            inode.putShort(0x7C, (short) 0);
            if (hi) {
                inode.putShort(0x82, (short) 0);
            }
            int crc = Crc32c.updateInt(Crc32c.updateInt(seed, n), inode.getInt(0x64));
            crc = Crc32c.update(crc, inode, 0, o.inodeSize());
            inode.putShort(0x7C, (short) crc);
            if (hi) {
                inode.putShort(0x82, (short) (crc >>> 16));
            }
        }

        // ---- directories -----------------------------------------------------------------------

        private void writeDirectories() throws ErrnoException {
            int tail = f.metadataCsum() ? 12 : 0;
            ByteBuffer root = le(bs);
            int at = dirEntry(root, 0, ROOT_INO, 12, ".");
            at = dirEntry(root, at, ROOT_INO, 12, "..");
            dirEntry(root, at, LOST_FOUND_INO, bs - tail - at, "lost+found");
            writeDirBlock(ROOT_INO, l.root.start(), root);

            ByteBuffer lf = le(bs);
            at = dirEntry(lf, 0, LOST_FOUND_INO, 12, ".");
            dirEntry(lf, at, ROOT_INO, bs - tail - at, "..");
            writeDirBlock(LOST_FOUND_INO, l.lostFound.start(), lf);
            for (int i = 1; i < LOST_FOUND_BLOCKS; i++) {
                ByteBuffer empty = le(bs);
                empty.putShort(4, (short) (bs - tail));
                writeDirBlock(LOST_FOUND_INO, l.lostFound.start() + i, empty);
            }
        }

        /** Puts an ext4_dir_entry_2 of a directory at {@code at}; returns where the next one goes. */
        private static int dirEntry(ByteBuffer b, int at, int inode, int recLen, String name) {
            byte[] n = name.getBytes(StandardCharsets.US_ASCII);
            b.putInt(at, inode);
            b.putShort(at + 4, (short) recLen);
            b.put(at + 6, (byte) n.length);
            b.put(at + 7, (byte) 2); // EXT2_FT_DIR
            b.put(at + 8, n);
            return at + recLen;
        }

        /** Writes a directory block, with metadata_csum with its checksum tail (a fake entry of 12 bytes at the end). */
        private void writeDirBlock(int inode, long block, ByteBuffer b) throws ErrnoException {
            if (f.metadataCsum()) {
                int t = bs - 12;
                b.putInt(t, 0);
                b.putShort(t + 4, (short) 12);
                b.put(t + 6, (byte) 0);
                b.put(t + 7, (byte) 0xDE);
                int inodeSeed = Crc32c.updateInt(Crc32c.updateInt(seed, inode), 0); // generation 0
                b.putInt(t + 8, Crc32c.update(inodeSeed, b, 0, t));
            }
            put(block * bs, b);
        }

        // ---- journal ---------------------------------------------------------------------------

        /** An empty jbd2 journal: version 2 superblock in block 0, the rest zeros. */
        private void writeJournal() throws ErrnoException {
            long total = l.journal.stream().mapToLong(Run::length).sum();
            for (Run r : l.journal) {
                writeZeros(r.start() * bs, r.length() * bs);
            }
            ByteBuffer j = ByteBuffer.allocate(bs).order(ByteOrder.BIG_ENDIAN);
            j.putInt(0x0, 0xC03B3998);
            j.putInt(0x4, 4); // JBD2_SUPERBLOCK_V2
            j.putInt(0xC, bs);
            j.putInt(0x10, (int) total);
            j.putInt(0x14, 1); // s_first
            j.putInt(0x18, 1); // s_sequence
            j.put(0x30, o.uuid());
            j.putInt(0x40, 1); // s_nr_users; the users list stays empty for an internal journal
            put(l.journal.get(0).start() * bs, j);
        }

        // ---- bitmaps and descriptors -----------------------------------------------------------

        private void writeBitmaps(int g) throws ErrnoException {
            if (lazyGroup(g)) {
                putDescriptor(g, null, null, 0); // its bitmaps are implied: nothing in it but its metadata
                return;
            }
            ByteBuffer blocks = le(bs);
            setBits(blocks, 0, l.overhead(g) + l.dataUsed[g]);
            setBits(blocks, l.groupBlocks(g), 8L * bs); // past the end of a short last group
            ByteBuffer inodes = le(bs);
            long usedInodes = l.inodesPerGroup - freeInodes[g];
            setBits(inodes, 0, usedInodes);
            setBits(inodes, l.inodesPerGroup, 8L * bs);
            put(l.blockBitmap(g) * bs, blocks);
            put(l.inodeBitmap(g) * bs, inodes);
            putDescriptor(g, blocks, inodes, usedInodes);
        }

        /** Sets bits [from, to): whole bytes at once, as a large filesystem has a million bitmaps to build. */
        private static void setBits(ByteBuffer b, long from, long to) {
            long i = from;
            for (; i < to && (i & 7) != 0; i++) {
                b.put((int) (i >>> 3), (byte) (b.get((int) (i >>> 3)) | (1 << (i & 7))));
            }
            for (; i + 8 <= to; i += 8) {
                b.put((int) (i >>> 3), (byte) 0xff);
            }
            for (; i < to; i++) {
                b.put((int) (i >>> 3), (byte) (b.get((int) (i >>> 3)) | (1 << (i & 7))));
            }
        }

        private void putDescriptor(int g, ByteBuffer blockBitmap, ByteBuffer inodeBitmap, long usedInodes) {
            int at = g * l.descSize;
            boolean wide = l.descSize >= 64;
            long freeBlocks = l.groupBlocks(g) - l.overhead(g) - l.dataUsed[g];
            putWide(at, 0x0, 0x20, l.blockBitmap(g));
            putWide(at, 0x4, 0x24, l.inodeBitmap(g));
            putWide(at, 0x8, 0x28, l.inodeTable(g));
            gdt.putShort(at + 0xC, (short) freeBlocks);
            gdt.putShort(at + 0xE, (short) freeInodes[g]);
            gdt.putShort(at + 0x10, (short) (g == 0 ? 2 : 0));
            if (wide) {
                gdt.putShort(at + 0x2C, (short) (freeBlocks >>> 16));
                gdt.putShort(at + 0x2E, (short) (freeInodes[g] >>> 16));
            }
            if (!f.groupChecksums()) {
                return;
            }
            int flags = lazyGroup(g) ? BG_INODE_UNINIT | BG_BLOCK_UNINIT
                    : lazyTable(g) ? BG_INODE_UNINIT : BG_INODE_ZEROED;
            gdt.putShort(at + 0x12, (short) flags);
            long unused = l.inodesPerGroup - usedInodes;
            gdt.putShort(at + 0x1C, (short) unused);
            if (wide) {
                gdt.putShort(at + 0x32, (short) (unused >>> 16));
            }
            if (f.metadataCsum()) {
                if (!lazyGroup(g)) {
                    int bcrc = Crc32c.update(seed, blockBitmap, 0, (int) (l.blocksPerGroup / 8));
                    int icrc = Crc32c.update(seed, inodeBitmap, 0, (int) (l.inodesPerGroup / 8));
                    gdt.putShort(at + 0x18, (short) bcrc);
                    gdt.putShort(at + 0x1A, (short) icrc);
                    if (wide) {
                        gdt.putShort(at + 0x38, (short) (bcrc >>> 16));
                        gdt.putShort(at + 0x3A, (short) (icrc >>> 16));
                    }
                }
                int crc = Crc32c.update(Crc32c.updateInt(seed, g), gdt, at, l.descSize); // bg_checksum is still 0
                gdt.putShort(at + 0x1E, (short) crc);
            } else {
                // uninit_bg: CRC16 over the uuid, the group number and the descriptor but its checksum.
                int crc = Crc16.update(0xffff, ByteBuffer.wrap(o.uuid()), 0, 16);
                crc = Crc16.updateInt(crc, g);
                crc = Crc16.update(crc, gdt, at, 0x1E);
                if (l.descSize > 0x20) {
                    crc = Crc16.update(crc, gdt, at + 0x20, l.descSize - 0x20);
                }
                gdt.putShort(at + 0x1E, (short) crc);
            }
        }

        /** A 64-bit block number split into the descriptor's low and (64-byte descriptors) high words. */
        private void putWide(int at, int lo, int hi, long value) {
            gdt.putInt(at + lo, (int) value);
            if (l.descSize >= 64) {
                gdt.putInt(at + hi, (int) (value >>> 32));
            }
        }

        // ---- superblock ------------------------------------------------------------------------

        /** A backup superblock; without meta_bg the whole descriptor table and zeroed reserved GDT blocks after it. */
        private void writeSuperblockCopy(int g) throws ErrnoException {
            ByteBuffer b = le(bs);
            b.put(0, superblock(g), 0, 1024);
            long start = l.groupStart(g);
            put(start * bs, b);
            if (!f.metaBg()) {
                put((start + 1) * bs, gdt);
                writeZeros((start + 1 + l.gdtBlocks) * bs, l.reservedGdt * bs);
            }
        }

        /** meta_bg: each descriptor block in the first, second and last group of the meta group it describes. */
        private void writeMetaGroupDescriptors() throws ErrnoException {
            for (long k = 0; k < l.gdtBlocks; k++) {
                ByteBuffer block = gdt.slice((int) (k * bs), bs);
                long first = k * l.descPerBlock;
                for (long g : new long[] {first, first + 1, first + l.descPerBlock - 1}) {
                    if (g < l.groups) {
                        put((l.groupStart(g) + (l.hasSuper(g) ? 1 : 0)) * bs, block.duplicate());
                    }
                }
            }
        }

        private ByteBuffer superblock(int group) throws ErrnoException {
            ByteBuffer s = le(1024);
            long freeBlocks = 0;
            long freeInodesTotal = 0;
            for (int g = 0; g < l.groups; g++) {
                freeBlocks += l.groupBlocks(g) - l.overhead(g) - l.dataUsed[g];
                freeInodesTotal += freeInodes[g];
            }
            long reserved = l.blocks * o.reservedPercent() / 100;
            int t = (int) o.createdEpochSeconds();
            int logBlock = Integer.numberOfTrailingZeros(bs) - 10;
            s.putInt(0x0, (int) (l.inodesPerGroup * l.groups));
            s.putInt(0x4, (int) l.blocks);
            s.putInt(0x8, (int) reserved);
            s.putInt(0xC, (int) freeBlocks);
            s.putInt(0x10, (int) freeInodesTotal);
            s.putInt(0x14, (int) l.firstData);
            s.putInt(0x18, logBlock);
            s.putInt(0x1C, logBlock); // s_log_cluster_size: no bigalloc
            s.putInt(0x20, (int) l.blocksPerGroup);
            s.putInt(0x24, (int) l.blocksPerGroup);
            s.putInt(0x28, (int) l.inodesPerGroup);
            s.putInt(0x30, t); // s_wtime
            s.putShort(0x36, (short) -1); // s_max_mnt_count: no forced checks
            s.putShort(0x38, (short) Superblock.MAGIC);
            s.putShort(0x3A, (short) 1); // clean
            s.putShort(0x3C, (short) 1); // errors: continue
            s.putInt(0x40, t); // s_lastcheck
            s.putInt(0x4C, 1); // dynamic revision
            s.putInt(0x54, FIRST_INO);
            s.putShort(0x58, (short) o.inodeSize());
            s.putShort(0x5A, (short) group);
            s.putInt(0x5C, f.compat());
            s.putInt(0x60, f.incompat());
            s.putInt(0x64, f.roCompat());
            s.put(0x68, o.uuid());
            s.put(0x78, (o.label() == null ? "" : o.label()).getBytes(StandardCharsets.UTF_8));
            s.putShort(0xCE, (short) l.reservedGdt);
            for (int i = 0; i < 4; i++) {
                s.putInt(0xEC + 4 * i, hashSeedWord(i));
            }
            s.put(0xFC, (byte) 1); // s_def_hash_version: half_md4
            s.putInt(0x100, 0x4 | 0x8); // default mount options: user_xattr, acl
            s.putInt(0x104, 0); // s_first_meta_bg: with meta_bg, every descriptor block lies in its meta group
            s.putInt(0x108, t); // s_mkfs_time
            s.putInt(0x160, 0x1); // s_flags: signed directory hash
            if (o.inodeSize() > 128) {
                s.putShort(0x15C, (short) EXTRA_ISIZE);
                s.putShort(0x15E, (short) EXTRA_ISIZE);
            }
            if (f.hasJournal()) {
                putJournalFields(s);
            }
            if (f.is64bit()) {
                s.putShort(0xFE, (short) l.descSize);
                s.putInt(0x150, (int) (l.blocks >>> 32));
                s.putInt(0x154, (int) (reserved >>> 32));
                s.putInt(0x158, (int) (freeBlocks >>> 32));
            }
            if (f.flexBg()) {
                s.put(0x174, (byte) LOG_GROUPS_PER_FLEX);
            }
            if (f.metadataCsum()) {
                s.put(0x175, (byte) 1); // s_checksum_type: crc32c
                s.putInt(0x3FC, Crc32c.update(~0, s, 0, 0x3FC));
            }
            return s;
        }

        private void putJournalFields(ByteBuffer s) throws ErrnoException {
            s.putInt(0xE0, JOURNAL_INO);
            s.put(0xFD, (byte) 1); // s_jnl_backup_type: a copy of the journal inode's i_block
            ByteBuffer j = journalInode();
            for (int i = 0; i < 15; i++) {
                s.putInt(0x10C + 4 * i, j.getInt(0x28 + 4 * i));
            }
            s.putInt(0x10C + 4 * 15, j.getInt(0x6C));
            s.putInt(0x10C + 4 * 16, j.getInt(0x4));
        }

        /** The directory hash seed, derived from the uuid so that the same options give the same image. */
        private int hashSeedWord(int i) {
            return Crc32c.update(Crc32c.updateInt(seed, 0x68617368 + i), ByteBuffer.wrap(o.uuid()), 0, 16);
        }

        // ---- helpers ---------------------------------------------------------------------------

        /**
         * Writes at a byte offset; a block smaller than the device's sector (1 KiB blocks on a 4 KiB
         * sector disk) is merged into the sectors around it.
         */
        private void put(long offset, ByteBuffer src) throws ErrnoException {
            int ss = dev.sectorSize();
            int len = src.remaining();
            long start = offset / ss * ss;
            long end = (offset + len + ss - 1) / ss * ss;
            if (start == offset && end == offset + len) {
                dev.write(offset, src);
                return;
            }
            ByteBuffer whole = ByteBuffer.allocate((int) (end - start));
            dev.read(start, whole);
            whole.put((int) (offset - start), src, src.position(), len);
            dev.write(start, whole);
        }

        /** Reads at a byte offset, through the enclosing sectors if it is not sector-aligned. */
        private void get(long offset, ByteBuffer dst) throws ErrnoException {
            int ss = dev.sectorSize();
            int len = dst.remaining();
            long start = offset / ss * ss;
            long end = (offset + len + ss - 1) / ss * ss;
            ByteBuffer whole = ByteBuffer.allocate((int) (end - start));
            dev.read(start, whole);
            dst.put(dst.position(), whole, (int) (offset - start), len);
        }

        private void writeZeros(long offset, long length) throws ErrnoException {
            ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, ZERO_CHUNK));
            for (long done = 0; done < length; ) {
                int n = (int) Math.min(zeros.capacity(), length - done);
                put(offset + done, zeros.duplicate().limit(n));
                done += n;
            }
        }

        private static ByteBuffer le(int size) {
            return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        }
    }
}
