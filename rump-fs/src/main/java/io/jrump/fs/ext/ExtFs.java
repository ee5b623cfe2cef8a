package io.jrump.fs.ext;

import io.jrump.blk.BlockDevice;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import io.jrump.hypercall.HostConsole;
import io.jrump.kernel.sys.StatVfs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The ext2/ext3/ext4 filesystem on a block device, at the level of inodes: superblock, group
 * descriptors, inodes, block maps, directory blocks (through their htree index where there is
 * one), symlinks, extended attributes, the journal and the running transaction. It has no path
 * API of its own: files are reached by path through {@link ExtVfs} and the VFS above it. Every
 * on-disk number is checked before it is used: block numbers against the filesystem, extent
 * trees for depth, magic and bounds, directory entries for their record lengths; corruption is
 * {@code EUCLEAN} naming the inode and block. With metadata_csum, superblock and inode checksums
 * are verified.
 *
 * <p>Thread-safe only under {@link #lock}, which {@link ExtVfs} takes around every operation;
 * the device below must be thread-safe.
 */
public final class ExtFs {
    public static final long ROOT_INODE = 2;
    static final int MAX_EXTENT_DEPTH = 5;
    static final int EXTENT_MAGIC = 0xF30A;

    private final BlockDevice dev;
    private final Superblock sb;
    private final GroupDescriptors gd;
    private final ByteBuffer groupDescriptors;
    /** Journal copies read in place of filesystem blocks when the journal needs recovery; else empty. */
    private final Map<Long, Journal.Copy> journalCopies;
    private final Inode journalInode;
    /** Guards every operation: one writer or reader at a time, as the metadata buffers are shared. */
    final ReentrantLock lock = new ReentrantLock();
    final DirCache dirCache = new DirCache(this);
    final Htree htree = new Htree(this);
    /** s_encoding_flags' strict bit, read when first needed. */
    private Boolean strictEncoding;
    /** Where warnings go besides {@link #warnings()}: the host's console; null for none. */
    private HostConsole console;
    /** The last warnings, oldest first, at most {@link #MAX_WARNINGS}. */
    private final java.util.ArrayDeque<String> warnings = new java.util.ArrayDeque<>();
    private static final int MAX_WARNINGS = 64;
    // Read-write state; null/unused on a read-only mount.
    private final LongSupplier wallNanos;
    private final Map<Long, byte[]> dirty = new LinkedHashMap<>();
    private final int maxTransactionBlocks;
    private Allocator allocator;
    private ExtWriter writer;
    private JournalWriter journal;
    private long lastOrphan;
    private boolean superblockChanged;
    private List<long[]> layout;
    /** {@link #layoutMetadata}'s runs as {start, count, group, kind}, sorted by start, for {@link #metadataIn}. */
    private long[][] metadataRuns;
    private long[] metadataReach;
    private String readOnlyReason;
    private long commits;
    private int recoveredBlocks;

    private ExtFs(BlockDevice dev, Superblock sb, ByteBuffer groupDescriptors, Map<Long, Journal.Copy> journalCopies,
            Inode journalInode) {
        this(dev, sb, groupDescriptors, journalCopies, journalInode, null, 0);
    }

    private ExtFs(BlockDevice dev, Superblock sb, ByteBuffer groupDescriptors, Map<Long, Journal.Copy> journalCopies,
            Inode journalInode, LongSupplier wallNanos, int maxTransactionBlocks) {
        this.dev = dev;
        this.sb = sb;
        this.groupDescriptors = groupDescriptors;
        this.gd = new GroupDescriptors(sb, groupDescriptors);
        this.journalCopies = journalCopies;
        this.journalInode = journalInode;
        this.wallNanos = wallNanos;
        this.maxTransactionBlocks = maxTransactionBlocks;
    }

    /**
     * Opens the filesystem read-only.
     *
     * @throws ErrnoException {@code EINVAL} if it is not ext2/3/4; {@code EOPNOTSUPP} naming an
     *     incompatible feature this reader does not handle, or a journal that needs recovery;
     *     {@code EUCLEAN} for a corrupt superblock or group descriptor table
     */
    public static ExtFs open(BlockDevice dev) throws ErrnoException {
        if (dev.size() < Superblock.OFFSET + Superblock.SIZE) {
            throw new ErrnoException(Errno.EINVAL, dev.name() + ": too small for an ext filesystem");
        }
        return open(dev, true);
    }

    /** Opens; {@code verifySuperblock} false only to find the journal that mends a torn superblock. */
    private static ExtFs open(BlockDevice dev, boolean verifySuperblock) throws ErrnoException {
        return open(dev, verifySuperblock, true);
    }

    /**
     * Opens read-only for {@link ExtCheck}: group descriptors whose checksums fail are read as
     * they are (e2fsck -fn reads them too, and the checker reports them).
     */
    static ExtFs openForCheck(BlockDevice dev, java.util.function.Consumer<String> badChecksum) throws ErrnoException {
        if (dev.size() < Superblock.OFFSET + Superblock.SIZE) {
            throw new ErrnoException(Errno.EINVAL, dev.name() + ": too small for an ext filesystem");
        }
        ExtFs fs = open(dev, true, false);
        for (long g = 0; g < fs.sb.groupCount() && fs.gd.hasChecksums(); g++) {
            int crc = fs.gd.checksum(g);
            int stored = (int) (fs.gd.half(g, GroupDescriptors.CHECKSUM) & 0xffff);
            if (crc != stored) {
                badChecksum.accept(String.format("group descriptor %d: checksum 0x%04x, expected 0x%04x", g, stored, crc));
                // As e2fsck does in memory: a descriptor that fails its checksum cannot vouch for its uninit flags.
                fs.gd.setFlags(g, fs.gd.flags(g) & ~(GroupDescriptors.INODE_UNINIT | GroupDescriptors.BLOCK_UNINIT));
                fs.gd.setHalf(g, GroupDescriptors.ITABLE_UNUSED, 0);
            }
        }
        return fs;
    }

    private static ExtFs open(BlockDevice dev, boolean verifySuperblock, boolean verifyDescriptors) throws ErrnoException {
        // The whole sectors around it: on a 4096-byte-sector device the superblock is part of sector 0.
        int sector = dev.sectorSize();
        int first = Superblock.OFFSET / sector * sector;
        int end = (Superblock.OFFSET + Superblock.SIZE + sector - 1) / sector * sector;
        ByteBuffer sectors = ByteBuffer.allocate(end - first);
        dev.read(first, sectors);
        ByteBuffer raw = sectors.slice(Superblock.OFFSET - first, Superblock.SIZE);
        Superblock sb = Superblock.parse(raw, dev.size(), dev.name(), verifySuperblock);
        List<String> unsupported = sb.unsupportedIncompat();
        if (!unsupported.isEmpty()) {
            throw new ErrnoException(Errno.EOPNOTSUPP, dev.name() + ": unsupported ext feature: " + String.join(", ", unsupported));
        }
        long bytes = sb.groupCount() * GdtLayout.descSize(sb);
        long gdtBlocks = GdtLayout.descBlocks(sb);
        if (bytes > Integer.MAX_VALUE - sb.blockSize()) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": group descriptor table of " + gdtBlocks
                    + " blocks is too large");
        }
        ByteBuffer gdt = ByteBuffer.allocate((int) (gdtBlocks * sb.blockSize())).order(ByteOrder.LITTLE_ENDIAN);
        readDescriptorBlocks(dev, sb, gdt);
        ExtFs fs = new ExtFs(dev, sb, gdt, Map.of(), null);
        if (!sb.needsRecovery()) {
            if (verifyDescriptors) {
                new GroupDescriptors(sb, gdt).verify(dev.name());
            }
            return fs;
        }
        // Read through the journal: its committed copies stand in for the blocks they will replace.
        // The descriptors are checked only after that, as a crash may have torn the ones on disk.
        if (sb.hasJournal() && sb.journalInum() == 0) {
            throw new ErrnoException(Errno.EOPNOTSUPP, dev.name() + ": needs_recovery is set and the journal is on another"
                    + " device (an external journal), which jrump does not open: recover it with e2fsck -j JOURNAL-DEVICE");
        }
        if (!sb.hasJournal()) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": needs_recovery is set but there is no journal");
        }
        Inode j = fs.inode(sb.journalInum());
        long journalBlocks = j.size() / sb.blockSize();
        Map<Long, Journal.Copy> copies = Journal.recover(n -> fs.journalBlock(j, n, journalBlocks), journalBlocks,
                dev.name()).copies();
        ExtFs through = new ExtFs(dev, sb, gdt, copies, j);
        ByteBuffer replayedGdt = ByteBuffer.allocate(gdt.capacity()).order(ByteOrder.LITTLE_ENDIAN);
        for (long k = 0; k < gdtBlocks; k++) {
            replayedGdt.put((int) (k * sb.blockSize()), through.readBlock(GdtLayout.primary(sb, k), "group descriptors"), 0,
                    sb.blockSize());
        }
        if (verifyDescriptors) {
            new GroupDescriptors(sb, replayedGdt).verify(dev.name());
        }
        return new ExtFs(dev, sb, replayedGdt, copies, j);
    }

    /** Reads the descriptor blocks from their primary locations ({@link GdtLayout}: contiguous unless meta_bg). */
    static void readDescriptorBlocks(BlockDevice dev, Superblock sb, ByteBuffer gdt) throws ErrnoException {
        int bs = sb.blockSize();
        long blocks = gdt.capacity() / bs;
        for (long k = 0; k < blocks; ) {
            long at = GdtLayout.primary(sb, k);
            long run = 1;
            while (k + run < blocks && GdtLayout.primary(sb, k + run) == at + run) {
                run++;
            }
            if (at + run > sb.blocksCount()) {
                throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": group descriptor block " + k + " at block " + at
                        + " lies outside the filesystem (" + sb.blocksCount() + " blocks)");
            }
            dev.read(at * bs, gdt.slice((int) (k * bs), (int) (run * bs)));
            k += run;
        }
    }

    /**
     * A superblock that fails its checksum after a crash may be one torn while it was written
     * home — between two sectors of an old and a new version, whose layout fields agree. If the
     * journal holds a committed copy of its block, replaying the journal mends it. Returns
     * whether it replayed; the caller opens again, checksum checked.
     */
    private static boolean replayOverTornSuperblock(BlockDevice dev) throws ErrnoException {
        ExtFs torn;
        try {
            torn = open(dev, false);
        } catch (ErrnoException e) {
            return false;
        }
        Superblock sb = torn.sb;
        if (!sb.hasJournal() || sb.journalInum() == 0 || torn.journalInode == null) {
            return false;
        }
        Inode j = torn.journalInode;
        long blocks = j.size() / sb.blockSize();
        Journal.Recovery rec = Journal.recover(n -> torn.journalBlock(j, n, blocks), blocks, dev.name());
        if (!rec.copies().containsKey((long) Superblock.OFFSET / sb.blockSize())) {
            return false; // the journal cannot mend it: this is damage, not a torn write
        }
        JournalWriter.replay(dev, sb.blockSize(), torn.journalMap(j), rec, dev.name());
        return true;
    }

    /** Block {@code n} of the journal, through the journal inode's own mapping. */
    private ByteBuffer journalBlock(Inode journal, long n, long journalBlocks) throws ErrnoException {
        if (n < 0 || n >= journalBlocks) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": journal block " + n + " beyond its " + journalBlocks);
        }
        Mapping m = map(journal, n);
        if (m.physical() == 0) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": journal block " + n + " is a hole");
        }
        ByteBuffer b = readBlock(m.physical(), "journal block " + n);
        return b.order(ByteOrder.BIG_ENDIAN);
    }

    /** Whether this view reads through a journal that needs recovery. */
    public boolean readsThroughJournal() {
        return !journalCopies.isEmpty();
    }

    /** {@code ext4} if extents or 64bit are on, {@code ext3} if it has a journal, else {@code ext2}. */
    public String type() {
        if ((sb.featureIncompat() & (Superblock.INCOMPAT_EXTENTS | Superblock.INCOMPAT_64BIT)) != 0) {
            return "ext4";
        }
        return (sb.featureCompat() & Superblock.COMPAT_HAS_JOURNAL) != 0 ? "ext3" : "ext2";
    }

    public int blockSize() {
        return sb.blockSize();
    }

    public String volumeName() {
        return sb.volumeName();
    }

    // ---- blocks and inodes ---------------------------------------------------------------------

    private ByteBuffer readBlock(long block, String what) throws ErrnoException {
        checkBlockInRange(block, what);
        byte[] changed = dirty.get(block);
        if (changed != null) {
            return ByteBuffer.wrap(changed.clone()).order(ByteOrder.LITTLE_ENDIAN);
        }
        Journal.Copy copy = journalCopies.get(block);
        if (copy != null) {
            ByteBuffer b = journalBlock(journalInode, copy.journalBlock(), journalInode.size() / sb.blockSize());
            if (copy.escaped()) {
                b.putInt(0, Journal.MAGIC); // jbd2 zeroed a block that began with its magic
            }
            return b.order(ByteOrder.LITTLE_ENDIAN);
        }
        ByteBuffer b = ByteBuffer.allocate(sb.blockSize()).order(ByteOrder.LITTLE_ENDIAN);
        dev.read(block * sb.blockSize(), b);
        return b;
    }

    private void checkBlockInRange(long block, String what) throws ErrnoException {
        if (block <= 0 || block >= sb.blocksCount()) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": " + what + ": block " + block
                    + " outside the filesystem (" + sb.blocksCount() + " blocks)");
        }
    }

    int groupFlags(long group) {
        return gd.flags(group);
    }

    /** A group descriptor's 16-bit count field ({@link GroupDescriptors#FREE_BLOCKS} and the like), widened. */
    long groupCount(long group, int field) {
        return gd.half(group, field);
    }

    /** Whether group descriptors carry checksums (uninit_bg or metadata_csum): the uninit flags and itable_unused count. */
    boolean groupsHaveChecksums() {
        return gd.hasChecksums();
    }

    long blockBitmap(long group) {
        return gd.word(group, GroupDescriptors.BLOCK_BITMAP);
    }

    long inodeBitmap(long group) {
        return gd.word(group, GroupDescriptors.INODE_BITMAP);
    }

    Superblock superblock() {
        return sb;
    }

    /**
     * Reads {@code count} consecutive blocks in one request, for the checker's inode-table scan;
     * journal copies and uncommitted changes stand in for the blocks they replace.
     */
    ByteBuffer blocks(long first, int count, String what) throws ErrnoException {
        if (first <= 0 || count <= 0 || first + count > sb.blocksCount() || (long) count * sb.blockSize() > 1 << 24) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": " + what + ": blocks " + first + "+" + count
                    + " outside the filesystem (" + sb.blocksCount() + " blocks)");
        }
        int bs = sb.blockSize();
        ByteBuffer b = ByteBuffer.allocate(count * bs).order(ByteOrder.LITTLE_ENDIAN);
        if (journalCopies.isEmpty() && dirty.isEmpty()) {
            dev.read(first * bs, b);
            return b;
        }
        for (int k = 0; k < count; k++) {
            b.put(k * bs, readBlock(first + k, what), 0, bs);
        }
        return b;
    }

    /** Reads a filesystem block, for the checker. */
    ByteBuffer block(long block, String what) throws ErrnoException {
        return readBlock(block, what);
    }

    /**
     * Every block an inode occupies — data, extent-tree and indirect blocks — in no particular
     * order; bounded by the extent depth and the file size, so a hostile inode cannot loop.
     */
    void forEachBlock(Inode inode, java.util.function.LongConsumer out) throws ErrnoException {
        if (inode.hasInlineData() || inode.isFastSymlink(sb.blockSize())) {
            return;
        }
        if (inode.usesExtents()) {
            extentBlocks(inode, ByteBuffer.wrap(inode.block()).order(ByteOrder.LITTLE_ENDIAN), -1, out);
            return;
        }
        long perBlock = sb.blockSize() / 4;
        long logicalBlocks = (inode.size() + sb.blockSize() - 1) / sb.blockSize();
        ByteBuffer root = ByteBuffer.wrap(inode.block()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 12 && i < logicalBlocks; i++) {
            long b = Integer.toUnsignedLong(root.getInt(i * 4));
            if (b != 0) {
                out.accept(b);
            }
        }
        for (int level = 1; level <= 3; level++) {
            long b = Integer.toUnsignedLong(root.getInt((11 + level) * 4));
            if (b != 0) {
                indirectBlocks(inode, b, level, out, new long[] {Math.max(0, logicalBlocks - 12)});
            }
        }
    }

    private void indirectBlocks(Inode inode, long block, int level, java.util.function.LongConsumer out, long[] budget)
            throws ErrnoException {
        out.accept(block);
        ByteBuffer b = readBlock(block, "inode " + inode.number() + " indirect block");
        for (int i = 0; i < sb.blockSize() / 4 && budget[0] > 0; i++) {
            long child = Integer.toUnsignedLong(b.getInt(i * 4));
            if (child == 0) {
                continue;
            }
            if (level == 1) {
                budget[0]--;
                out.accept(child);
            } else {
                indirectBlocks(inode, child, level - 1, out, budget);
            }
        }
    }

    private void extentBlocks(Inode inode, ByteBuffer node, int expectedDepth, java.util.function.LongConsumer out)
            throws ErrnoException {
        int entries = node.getShort(2) & 0xffff;
        int max = node.getShort(4) & 0xffff;
        int depth = node.getShort(6) & 0xffff;
        if ((node.getShort(0) & 0xffff) != EXTENT_MAGIC || entries > max || 12 + 12L * max > node.capacity()
                || depth > MAX_EXTENT_DEPTH || (expectedDepth >= 0 && depth != expectedDepth)) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": inode " + inode.number() + ": bad extent node");
        }
        for (int i = 0; i < entries; i++) {
            int at = 12 + 12 * i;
            if (depth == 0) {
                int len = node.getShort(at + 4) & 0xffff;
                len = len > 32768 ? len - 32768 : len;
                long start = ((long) (node.getShort(at + 6) & 0xffff) << 32) | Integer.toUnsignedLong(node.getInt(at + 8));
                if (start <= 0 || start + len > sb.blocksCount()) {
                    // Checked before the loop: a hostile length must not cost a call per block it claims.
                    throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": inode " + inode.number() + ": extent of " + len
                            + " blocks at block " + start + " lies outside the filesystem");
                }
                for (int k = 0; k < len; k++) {
                    out.accept(start + k);
                }
            } else {
                long child = ((long) (node.getShort(at + 8) & 0xffff) << 32) | Integer.toUnsignedLong(node.getInt(at + 4));
                out.accept(child);
                extentBlocks(inode, readBlock(child, "inode " + inode.number() + " extent block " + child), depth - 1, out);
            }
        }
    }

    long inodeTable(long group) {
        return gd.word(group, GroupDescriptors.INODE_TABLE);
    }

    /** Reads and checks inode {@code n}. */
    Inode inode(long n) throws ErrnoException {
        Inode inode = Inode.parse(n, checkedInodeBytes(n), 0, sb.inodeSize());
        if (inode.size() < 0) {
            // i_size_lo and i_size_high read as an unsigned 64-bit number past any loff_t: the kernel's iget refuses it too.
            throw new ErrnoException(Errno.EUCLEAN, String.format("%s: inode %d: size 0x%s beyond any file's (i_size_high 0x%x)",
                    dev.name(), n, Long.toUnsignedString(inode.size(), 16), inode.size() >>> 32));
        }
        return inode;
    }

    /**
     * The largest file offset an inode can map, as the kernel's s_maxbytes: 2^32 - 1 blocks
     * through extents; 12 direct blocks and three levels of indirect blocks through a block map.
     * Reads end there, whatever a larger i_size claims.
     */
    long maxBytes(Inode inode) {
        long bs = sb.blockSize();
        if (inode.usesExtents()) {
            return ((1L << 32) - 1) * bs;
        }
        long p = bs / 4;
        return (12 + p + p * p + p * p * p) * bs;
    }

    /**
     * Inode {@code n}'s bytes (at 0), after checking its range and (metadata_csum) checksum: only
     * the sectors holding them are read and copied, not the inode table block around them.
     */
    private ByteBuffer checkedInodeBytes(long n) throws ErrnoException {
        if (n < 1 || n > sb.inodesCount()) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": inode " + n + " out of range (1-" + sb.inodesCount() + ")");
        }
        long block = inodeBlock(n);
        int offset = inodeOffset(n);
        ByteBuffer b;
        byte[] changed = dirty.get(block);
        if (changed != null) {
            b = ByteBuffer.wrap(Arrays.copyOfRange(changed, offset, offset + sb.inodeSize()));
        } else if (journalCopies.containsKey(block)) {
            b = readBlock(block, "inode table of group " + (n - 1) / sb.inodesPerGroup()).slice(offset, sb.inodeSize());
        } else {
            checkBlockInRange(block, "inode table of group " + (n - 1) / sb.inodesPerGroup());
            // The device reads whole sectors: those holding the inode.
            int sector = dev.sectorSize();
            int from = offset / sector * sector;
            int to = (offset + sb.inodeSize() + sector - 1) / sector * sector;
            ByteBuffer sectors = ByteBuffer.allocate(to - from);
            dev.read(block * sb.blockSize() + from, sectors);
            b = sectors.slice(offset - from, sb.inodeSize());
        }
        b.order(ByteOrder.LITTLE_ENDIAN).clear();
        if (sb.hasMetadataCsum()) {
            verifyInodeChecksum(n, b, 0);
        }
        return b;
    }

    /** {@code v} as eight lower-case hex digits, as {@code %08x} gives. */
    private static String hex8(int v) {
        String h = Integer.toHexString(v);
        return "00000000".substring(h.length()) + h;
    }

    private void verifyInodeChecksum(long n, ByteBuffer b, int offset) throws ErrnoException {
        int crc = ExtChecksums.inodeChecksum(sb, n, b, offset);
        boolean hasHi = ExtChecksums.hasInodeChecksumHi(sb, b, offset);
        int expected = hasHi ? crc : crc & 0xffff;
        int storedLo = b.getShort(offset + 124) & 0xffff;
        int stored = hasHi ? (b.getShort(offset + 130) & 0xffff) << 16 | storedLo : storedLo;
        if (stored != expected) {
            // Concatenation, not String.format: the checker meets this on every never-written inode.
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": inode " + n + ": checksum 0x" + hex8(stored)
                    + ", expected 0x" + hex8(expected));
        }
    }

    /** The checksum seed of one inode's metadata blocks: the filesystem seed, the inode number, its generation. */
    private int inodeSeed(Inode inode) {
        return inodeSeed(inode.number(), inode.generation());
    }

    /** Checks a metadata block whose CRC32C over {@code [0, covered)} is stored at {@code storedAt}. */
    private void verifyTail(Inode inode, ByteBuffer block, int covered, int storedAt, String what) throws ErrnoException {
        int stored = block.getInt(storedAt);
        int crc = Crc32c.update(inodeSeed(inode), block, 0, covered);
        if (stored != crc) {
            throw new ErrnoException(Errno.EUCLEAN, String.format("%s: inode %d %s: checksum 0x%08x, expected 0x%08x",
                    dev.name(), inode.number(), what, stored, crc));
        }
    }

    /** Checks the checksum tail of directory block {@code logical} of {@code dir}. */
    void verifyDirTail(Inode dir, ByteBuffer block, long logical) throws ErrnoException {
        verifyTail(dir, block, sb.blockSize() - 12, sb.blockSize() - 4, "directory block " + logical);
    }

    /**
     * Reports damage this mount works around (an htree index it cannot use): kept for
     * {@link #warnings()} and written to the host console at WARNING, if the mount has one.
     */
    void warn(String message) {
        String m = dev.name() + ": " + message;
        if (warnings.size() == MAX_WARNINGS) {
            warnings.removeFirst();
        }
        warnings.addLast(m);
        if (console != null) {
            console.log(System.Logger.Level.WARNING, m);
        }
    }

    /** The warnings this mount has given, oldest first (the last 64). */
    public List<String> warnings() {
        lock.lock();
        try {
            return List.copyOf(warnings);
        } finally {
            lock.unlock();
        }
    }

    /** Where a file's logical block lives: a physical block (0 for a hole) and how many follow it in a row. */
    record Mapping(long physical, long run, boolean unwritten) {
    }

    Mapping map(Inode inode, long logical) throws ErrnoException {
        return inode.usesExtents() ? mapExtent(inode, logical) : mapIndirect(inode, logical);
    }

    private Mapping mapExtent(Inode inode, long logical) throws ErrnoException {
        ByteBuffer node = ByteBuffer.wrap(inode.block()).order(ByteOrder.LITTLE_ENDIAN);
        int expectedDepth = -1;
        String where = "inode " + inode.number() + " extent root";
        for (int level = 0; level <= MAX_EXTENT_DEPTH; level++) {
            int magic = node.getShort(0) & 0xffff;
            int entries = node.getShort(2) & 0xffff;
            int max = node.getShort(4) & 0xffff;
            int depth = node.getShort(6) & 0xffff;
            if (magic != EXTENT_MAGIC || entries > max || 12 + 12L * max > node.capacity()
                    || depth > MAX_EXTENT_DEPTH || (expectedDepth >= 0 && depth != expectedDepth)) {
                throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": " + where + ": bad extent header (magic 0x"
                        + Integer.toHexString(magic) + ", " + entries + "/" + max + " entries, depth " + depth + ")");
            }
            if (depth == 0) {
                long nextStart = Long.MAX_VALUE;
                for (int i = 0; i < entries; i++) {
                    int at = 12 + 12 * i;
                    long first = Integer.toUnsignedLong(node.getInt(at));
                    int len = node.getShort(at + 4) & 0xffff;
                    boolean unwritten = len > 32768;
                    if (unwritten) {
                        len -= 32768;
                    }
                    long start = ((long) (node.getShort(at + 6) & 0xffff) << 32) | Integer.toUnsignedLong(node.getInt(at + 8));
                    if (logical >= first && logical < first + len) {
                        long phys = start + (logical - first);
                        if (start + len > sb.blocksCount() || start <= 0) {
                            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": " + where + ": extent of " + len
                                    + " blocks at block " + start + " lies outside the filesystem");
                        }
                        return new Mapping(phys, first + len - logical, unwritten);
                    }
                    if (first > logical) {
                        nextStart = Math.min(nextStart, first);
                    }
                }
                return new Mapping(0, nextStart == Long.MAX_VALUE ? 1 : nextStart - logical, false);
            }
            int chosen = -1;
            for (int i = 0; i < entries; i++) {
                if (Integer.toUnsignedLong(node.getInt(12 + 12 * i)) <= logical) {
                    chosen = i;
                }
            }
            if (chosen < 0) {
                return new Mapping(0, 1, false);
            }
            int at = 12 + 12 * chosen;
            long child = ((long) (node.getShort(at + 8) & 0xffff) << 32) | Integer.toUnsignedLong(node.getInt(at + 4));
            where = "inode " + inode.number() + " extent block " + child;
            node = extentBlock(inode.number(), inode.generation(), child);
            expectedDepth = depth - 1;
        }
        throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": inode " + inode.number() + ": extent tree deeper than "
                + MAX_EXTENT_DEPTH);
    }

    private Mapping mapIndirect(Inode inode, long logical) throws ErrnoException {
        ByteBuffer root = ByteBuffer.wrap(inode.block()).order(ByteOrder.LITTLE_ENDIAN);
        long perBlock = sb.blockSize() / 4;
        if (logical < 12) {
            return direct(Integer.toUnsignedLong(root.getInt((int) logical * 4)));
        }
        long l = logical - 12;
        int slot;
        int levels;
        if (l < perBlock) {
            slot = 12;
            levels = 1;
        } else if ((l -= perBlock) < perBlock * perBlock) {
            slot = 13;
            levels = 2;
        } else {
            l -= perBlock * perBlock;
            if (l >= perBlock * perBlock * perBlock) {
                return new Mapping(0, 1, false);
            }
            slot = 14;
            levels = 3;
        }
        long block = Integer.toUnsignedLong(root.getInt(slot * 4));
        for (int level = levels - 1; level >= 0; level--) {
            if (block == 0) {
                return new Mapping(0, 1, false);
            }
            ByteBuffer ind = readBlock(block, "inode " + inode.number() + " indirect block");
            long span = 1;
            for (int k = 0; k < level; k++) {
                span *= perBlock;
            }
            block = Integer.toUnsignedLong(ind.getInt((int) ((l / span) % perBlock) * 4));
        }
        return direct(block);
    }

    private Mapping direct(long block) throws ErrnoException {
        if (block >= sb.blocksCount()) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": block pointer " + block + " outside the filesystem");
        }
        return new Mapping(block, 1, false);
    }

    /** Reads up to {@code dst.remaining()} bytes of the file at {@code pos}; returns how many (0 at end). */
    int read(Inode inode, long pos, ByteBuffer dst) throws ErrnoException {
        long end = Math.min(Math.min(inode.size(), maxBytes(inode)), pos + dst.remaining());
        if (inode.hasInlineData()) {
            // Past the inline bytes a file reads as zeros, as the kernel reads it (e2fsck accepts such a size).
            byte[] data = inlineData(inode);
            int n = (int) Math.max(0, end - pos);
            int have = (int) Math.max(0, Math.min(n, data.length - pos));
            dst.put(dst.position(), data, (int) Math.min(pos, data.length), have);
            for (int i = have; i < n; i++) {
                dst.put(dst.position() + i, (byte) 0);
            }
            return n;
        }
        int done = 0;
        int bs = sb.blockSize();
        while (pos + done < end) {
            long at = pos + done;
            Mapping m = map(inode, at / bs);
            int within = (int) (at % bs);
            long runBytes = m.run() * bs - within;
            int n = (int) Math.min(end - at, Math.min(runBytes, 8 << 20));
            ByteBuffer part = dst.duplicate().position(dst.position() + done).limit(dst.position() + done + n);
            if (m.physical() == 0 || m.unwritten()) {
                for (int i = part.position(); i < part.limit(); i++) {
                    part.put(i, (byte) 0);
                }
            } else if (!journalCopies.isEmpty() || anyDirty(m.physical(), (within + n + bs - 1) / bs)) {
                // Block by block, so that journal copies stand in where they exist.
                n = Math.min(n, bs - within);
                part.limit(part.position() + n);
                part.put(part.position(), readBlock(m.physical(), "inode " + inode.number() + " data"), within, n);
            } else if (within % dev.sectorSize() == 0 && n % dev.sectorSize() == 0) {
                dev.read(m.physical() * bs + within, part); // aligned: straight into the caller's buffer
            } else {
                // Whole blocks from the device, then the bytes wanted.
                long firstByte = m.physical() * bs + within;
                long alignedStart = firstByte / bs * bs;
                int alignedLen = (int) (((firstByte + n + bs - 1) / bs * bs) - alignedStart);
                ByteBuffer blocks = ByteBuffer.allocate(alignedLen);
                dev.read(alignedStart, blocks);
                part.put(part.position(), blocks, (int) (firstByte - alignedStart), n);
            }
            done += n;
        }
        return done;
    }

    // ---- directories and paths -----------------------------------------------------------------

    List<Dirent> readDir(Inode dir) throws ErrnoException {
        if (!dir.isDir()) {
            throw new ErrnoException(Errno.ENOTDIR, dev.name() + ": inode " + dir.number() + " is not a directory");
        }
        if (dir.hasInlineData()) {
            return readInlineDir(dir);
        }
        int bs = sb.blockSize();
        if (dir.size() < 0 || dir.size() % bs != 0 || dir.size() > (1L << 32)) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": directory inode " + dir.number() + " has size " + dir.size());
        }
        List<Dirent> out = new ArrayList<>();
        boolean indexed = (dir.flags() & RawInode.INDEX_FL) != 0;
        ByteBuffer block = ByteBuffer.allocate(bs).order(ByteOrder.LITTLE_ENDIAN);
        for (long lb = 0; lb < dir.size() / bs; lb++) {
            block.clear();
            read(dir, lb * bs, block);
            // Only leaves carry the dirent tail; an htree root or node has its own dx tail, checked where the index is used.
            if (sb.hasMetadataCsum() && hasDirTail(block, bs) && !(indexed && isIndexBlock(block, lb, bs))) {
                verifyTail(dir, block, bs - 12, bs - 4, "directory block " + lb);
            }
            DirEntries.parse(block, 0, bs, DirEntries.MIN_BLOCK_RECORD, dev.name() + ": directory inode " + dir.number()
                    + ", block " + lb, out);
        }
        return out;
    }

    /**
     * An inline directory: the parent's inode number in the first 4 bytes, then entries in the rest
     * of i_block and in the system.data attribute, each area parsed on its own.
     */
    private List<Dirent> readInlineDir(Inode dir) throws ErrnoException {
        byte[] data = inlineData(dir);
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        List<Dirent> out = new ArrayList<>();
        out.add(new Dirent(".", dir.number(), 2));
        out.add(new Dirent("..", Integer.toUnsignedLong(b.getInt(0)), 2));
        String where = dev.name() + ": directory inode " + dir.number() + ", ";
        DirEntries.parse(b, 4, 60, DirEntries.HEADER, where + "inline area", out);
        DirEntries.parse(b, 60, data.length, DirEntries.HEADER, where + "system.data", out);
        return out;
    }

    /**
     * Whether a directory block ends in the 12-byte checksum tail (a fake entry: inode 0, rec_len
     * 12, name_len 0, type 0xDE). htree index blocks carry their checksum elsewhere and lack it.
     */
    static boolean hasDirTail(ByteBuffer block, int bs) {
        int at = bs - 12;
        return block.getInt(at) == 0 && (block.getShort(at + 4) & 0xffff) == 12 && block.get(at + 6) == 0
                && (block.get(at + 7) & 0xff) == 0xDE;
    }

    /**
     * Whether block {@code logical} of an htree directory is an index block: the root (block 0),
     * or an interior node, whose first record is an empty one spanning the whole block.
     */
    static boolean isIndexBlock(ByteBuffer block, long logical, int bs) {
        int recLen = block.getShort(4) & 0xffff;
        return logical == 0 || block.getInt(0) == 0 && (recLen == bs || recLen == 0 && bs == 65536);
    }

    /** The target of a symlink. */
    String readlink(Inode link) throws ErrnoException {
        if (!link.isSymlink()) {
            throw new ErrnoException(Errno.EINVAL, dev.name() + ": inode " + link.number() + " is not a symlink");
        }
        if (link.size() > 4096) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": symlink inode " + link.number() + " of " + link.size() + " bytes");
        }
        if (link.isFastSymlink(sb.blockSize())) {
            return new String(link.block(), 0, (int) link.size(), StandardCharsets.UTF_8);
        }
        ByteBuffer b = ByteBuffer.allocate((int) link.size());
        read(link, 0, b);
        return new String(b.array(), StandardCharsets.UTF_8);
    }

    // ---- extended attributes and inline data ----------------------------------------------------

    /** Every extended attribute of an inode: those in the inode first, then its xattr block's. */
    Map<String, byte[]> xattrs(Inode inode) throws ErrnoException {
        long group = (inode.number() - 1) / sb.inodesPerGroup();
        long index = (inode.number() - 1) % sb.inodesPerGroup();
        long byteInTable = index * sb.inodeSize();
        ByteBuffer b = readBlock(inodeTable(group) + byteInTable / sb.blockSize(), "inode table of group " + group);
        String where = dev.name() + ": inode " + inode.number();
        Map<String, byte[]> out = Xattrs.inInode(b, (int) (byteInTable % sb.blockSize()), sb.inodeSize(), where);
        if (inode.fileAcl() != 0) {
            ByteBuffer block = readBlock(inode.fileAcl(), "inode " + inode.number() + " xattr block");
            if (sb.hasMetadataCsum()) {
                verifyXattrBlock(inode.fileAcl(), block);
            }
            for (Map.Entry<String, byte[]> e : Xattrs.inBlock(block, where + " xattr block " + inode.fileAcl()).entrySet()) {
                out.putIfAbsent(e.getKey(), e.getValue());
            }
        }
        return out;
    }

    /** An xattr block's checksum covers the block number, not the inode: blocks can be shared. */
    private void verifyXattrBlock(long blockNr, ByteBuffer block) throws ErrnoException {
        int stored = block.getInt(16);
        int crc = ExtChecksums.xattrBlockChecksum(sb, blockNr, block);
        if (crc != stored) {
            throw new ErrnoException(Errno.EUCLEAN, String.format("%s: xattr block %d: checksum 0x%08x, expected 0x%08x",
                    dev.name(), blockNr, stored, crc));
        }
    }

    /** The bytes of an inline-data inode: the 60 bytes of i_block, then the system.data attribute. */
    private byte[] inlineData(Inode inode) throws ErrnoException {
        byte[] extra = xattrs(inode).getOrDefault("system.data", new byte[0]);
        byte[] all = new byte[60 + extra.length];
        System.arraycopy(inode.block(), 0, all, 0, 60);
        System.arraycopy(extra, 0, all, 60, extra.length);
        return all;
    }

    // ---- read-write mounts ------------------------------------------------------------------------

    /** fs-verity files: written never (InodeFlagRules), freed whole with their Merkle trees. */
    static final int RO_COMPAT_VERITY = 0x8000;

    /** ext4's fast_commit: its journal area is left alone, full commits only are written. */
    static final int COMPAT_FAST_COMMIT = 0x400;

    /** Read-only incompatible... compatible features a writer must understand; others mount read-only. */
    static final int RO_COMPAT_WRITABLE = 0x1 | 0x2 | 0x8 | 0x10 | 0x20 | 0x40 | 0x200 | 0x400 | RO_COMPAT_VERITY
            | OrphanFile.RO_COMPAT_ORPHAN_PRESENT | Quota.RO_COMPAT_QUOTA | Quota.RO_COMPAT_PROJECT;

    /**
     * How to mount: read-only or not, the wall clock for timestamps (a component takes time only
     * from its host), and how many metadata blocks a transaction may gather before it commits.
     */
    public record MountOptions(boolean readOnly, LongSupplier wallNanos, int maxTransactionBlocks,
                               HostConsole console, boolean force, Check check, MmpHost mmp) {
        public MountOptions {
            check = check == null ? Check.AUTO : check;
        }

        /** Without a console: warnings are kept only for {@link ExtFs#warnings()}. */
        public MountOptions(boolean readOnly, LongSupplier wallNanos, int maxTransactionBlocks) {
            this(readOnly, wallNanos, maxTransactionBlocks, null, false, Check.AUTO, null);
        }

        public MountOptions(boolean readOnly, LongSupplier wallNanos, int maxTransactionBlocks, HostConsole console) {
            this(readOnly, wallNanos, maxTransactionBlocks, console, false, Check.AUTO, null);
        }

        /**
         * The same, mounting read-write even a filesystem whose superblock records errors or in
         * which the checker finds damage (both otherwise refused); the error state is set and
         * stays set, so that e2fsck checks the filesystem next.
         */
        public MountOptions withForce() {
            return new MountOptions(readOnly, wallNanos, maxTransactionBlocks, console, true, check, mmp);
        }

        /** The same, with {@code when} deciding whether a read-write mount runs {@link ExtCheck} first. */
        public MountOptions withCheck(Check when) {
            return new MountOptions(readOnly, wallNanos, maxTransactionBlocks, console, force, when, mmp);
        }

        public static MountOptions readOnlyMount() {
            return new MountOptions(true, () -> 0L, 0);
        }

        public static MountOptions readWrite(LongSupplier wallNanos) {
            return new MountOptions(false, wallNanos, 4096);
        }

        /** The same, with warnings (a damaged htree index worked around) also written to {@code console}. */
        public MountOptions withConsole(HostConsole console) {
            return new MountOptions(readOnly, wallNanos, maxTransactionBlocks, console, force, check, mmp);
        }

        /**
         * The same, with the host whose clock, scheduler, randomness and name multi-mount protection
         * uses; without one a filesystem with mmp mounts read-only.
         */
        public MountOptions withMmp(MmpHost host) {
            return new MountOptions(readOnly, wallNanos, maxTransactionBlocks, console, force, check, host);
        }
    }

    /**
     * Whether a read-write mount runs the read-only checker ({@link ExtCheck}) before it writes
     * (mount option {@code check=none|auto|full}); damage it finds refuses the mount unless forced.
     */
    public enum Check {
        /** Never. */
        NONE,
        /**
         * When e2fsck's boot-time run ({@code e2fsck -p}) would check: a filesystem without a
         * journal that was not cleanly unmounted, one mounted {@code s_max_mnt_count} times since
         * its last check, or one whose {@code s_checkinterval} has passed. The default.
         */
        AUTO,
        /** On every read-write mount. */
        FULL
    }

    /**
     * Mounts the filesystem. Read-write: a journal that needs recovery is replayed onto the disk
     * first, the orphan list is processed, and the superblock is marked in use (needs_recovery
     * with a journal, not-clean without) until {@link #unmount()}. An unknown read-only-compatible
     * feature mounts read-only instead, with {@link #readOnlyReason()} saying why.
     *
     * @throws ErrnoException as {@link #open}; {@code EROFS} for read-write on a read-only device
     */
    public static ExtFs mount(BlockDevice dev, MountOptions options) throws ErrnoException {
        ExtFs fs = mountWithoutConsole(dev, options);
        fs.console = options.console();
        return fs;
    }

    /** s_state's bit for "errors detected" (the kernel's EXT2_ERROR_FS). */
    static final int ERROR_FS = 2;

    private static ExtFs mountWithoutConsole(BlockDevice dev, MountOptions options) throws ErrnoException {
        ExtFs opened;
        try {
            opened = open(dev);
        } catch (ErrnoException e) {
            // A superblock torn by a crash while it was written home: the journal's copy mends it.
            if (options.readOnly() || dev.isReadOnly() || e.errno() != Errno.EUCLEAN
                    || !e.getMessage().contains("ext superblock: checksum") || !replayOverTornSuperblock(dev)) {
                throw e;
            }
            opened = open(dev);
        }
        ExtFs probe = opened;
        if (options.readOnly()) {
            return probe;
        }
        if (dev.isReadOnly()) {
            throw new ErrnoException(Errno.EROFS, dev.name() + ": the device is read-only");
        }
        Superblock sb = probe.sb;
        if ((probe.rawSuperblock().getShort(58) & ERROR_FS) != 0 && !options.force()) {
            // Writing into a filesystem known to be damaged can spread the damage: e2fsck first.
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": the superblock records errors (s_state ERROR_FS):"
                    + " check it with e2fsck before mounting it read-write, or mount it with the option 'force'");
        }
        int unknownRo = sb.featureRoCompat() & ~RO_COMPAT_WRITABLE;
        int unknownCompat = sb.featureCompat() & ~(0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x200 | COMPAT_FAST_COMMIT | 0x800
                | 0x1000);
        if (unknownRo != 0 || unknownCompat != 0 || (sb.featureIncompat() & Superblock.INCOMPAT_JOURNAL_DEV) != 0) {
            probe.readOnlyReason = "read-only: features this writer does not maintain: ro_compat 0x"
                    + Integer.toHexString(unknownRo) + ", compat 0x" + Integer.toHexString(unknownCompat);
            return probe;
        }
        Mmp mmp = null;
        if ((sb.featureIncompat() & Superblock.INCOMPAT_MMP) != 0) {
            if (options.mmp() == null) {
                probe.readOnlyReason = "read-only: mmp (multi-mount protection) waits on the host's clock, which this"
                        + " mount was not given (MountOptions.withMmp)";
                return probe;
            }
            mmp = Mmp.of(dev, sb, probe.rawSuperblock());
            mmp.take(options.mmp()); // before anything is written, as the kernel: the journal replay included
        }
        try {
            ExtFs fs = replayAndStart(probe, dev, sb, options);
            fs.mmp = mmp;
            fs.mmpHost = options.mmp();
            return fs;
        } catch (ErrnoException | RuntimeException e) {
            if (mmp != null) {
                try {
                    mmp.release(options.mmp());
                } catch (ErrnoException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /** The block multi-mount protection holds for this mount; null without mmp. */
    private Mmp mmp;
    private MmpHost mmpHost;

    private static ExtFs replayAndStart(ExtFs probe, BlockDevice dev, Superblock sb, MountOptions options)
            throws ErrnoException {
        if (sb.needsRecovery() && sb.hasJournal()) {
            Inode j = probe.journalInode;
            long blocks = j.size() / sb.blockSize();
            Journal.Recovery rec = Journal.recover(n -> probe.journalBlock(j, n, blocks), blocks, dev.name());
            for (long block : rec.copies().keySet()) {
                if (block < 0 || block >= sb.blocksCount()) { // block 0 holds the superblock on 4 KiB filesystems
                    throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": journal replays block " + block
                            + " outside the filesystem");
                }
            }
            HostConsole console = options.console();
            if (console != null) { // as the kernel's "recovery required" and "recovery complete": a long replay is not a hang
                console.log(System.Logger.Level.INFO, dev.name() + ": ext4: recovering the journal: " + rec.copies().size()
                        + " blocks to replay");
            }
            JournalWriter.replay(dev, sb.blockSize(), probe.journalMap(j), rec, dev.name());
            ExtFs replayed = open(dev).startWriting(options);
            replayed.recoveredBlocks = rec.copies().size();
            if (console != null) {
                console.log(System.Logger.Level.INFO, dev.name() + ": ext4: journal recovery complete");
            }
            return replayed;
        }
        return probe.startWriting(options);
    }

    private ExtFs startWriting(MountOptions options) throws ErrnoException {
        MountCheck.Outcome checked = MountCheck.before(this, options);
        ExtFs fs = new ExtFs(dev, sb, groupDescriptors, Map.of(), null, options.wallNanos(),
                Math.max(16, options.maxTransactionBlocks()));
        fs.allocator = new Allocator(fs, sb, fs.gd);
        fs.writer = new ExtWriter(fs, fs.allocator);
        fs.quota = Quota.open(fs);
        ByteBuffer raw = fs.rawSuperblock();
        fs.lastOrphan = Integer.toUnsignedLong(raw.getInt(0xE8));
        if (sb.hasJournal() && sb.journalInum() != 0) {
            Inode j = fs.inode(sb.journalInum());
            fs.journal = JournalWriter.open(dev, sb.blockSize(), fs.journalMap(j),
                    (sb.featureCompat() & COMPAT_FAST_COMMIT) != 0, dev.name());
        }
        // Mark the filesystem in use, directly: a crash from here on is seen by the next mount and by e2fsck.
        fs.patchSuperblockOnDisk(true, checked);
        fs.lock.lock();
        try {
            if (fs.writer.processOrphans() + OrphanFile.process(fs) > 0 || fs.superblockChanged) {
                fs.commit();
            }
        } finally {
            fs.lock.unlock();
        }
        return fs;
    }

    /** Journal block n to filesystem block, for every block of the journal inode. */
    private long[] journalMap(Inode j) throws ErrnoException {
        long blocks = j.size() / sb.blockSize();
        if (blocks < 16 || blocks > (1 << 24)) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": journal of " + blocks + " blocks");
        }
        long[] out = new long[(int) blocks];
        for (long n = 0; n < blocks; ) {
            Mapping m = map(j, n);
            if (m.physical() == 0) {
                throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": journal block " + n + " is a hole");
            }
            for (long k = 0; k < m.run() && n < blocks; k++, n++) {
                out[(int) n] = m.physical() + k;
            }
        }
        return out;
    }

    /** Why a read-write mount came out read-only; null if it did not. */
    public String readOnlyReason() {
        return readOnlyReason;
    }

    public boolean isReadOnly() {
        return writer == null;
    }

    ExtWriter writer() throws ErrnoException {
        if (writer == null) {
            throw new ErrnoException(Errno.EROFS, dev.name() + (readOnlyReason != null ? ": " + readOnlyReason
                    : ": mounted read-only"));
        }
        return writer;
    }

    String deviceName() {
        return dev.name();
    }

    long now() {
        return wallNanos != null ? wallNanos.getAsLong() : 0;
    }

    long lastOrphan() {
        return lastOrphan;
    }

    /** The quota files kept up to date on a read-write mount with the quota feature; null otherwise. */
    private Quota quota;

    Quota quota() {
        return quota;
    }

    /** Read-only-compatible feature bits the next commit clears in the superblock (orphan_present). */
    private int roCompatCleared;

    void clearRoCompat(int bits) {
        roCompatCleared |= bits;
        superblockChanged = true;
    }

    /** A 32-bit field of the superblock as it stands now (fields the parsed {@link Superblock} does not keep). */
    int superblockInt(int offset) throws ErrnoException {
        return rawSuperblock().getInt(offset);
    }

    void lastOrphan(long ino) {
        lastOrphan = ino;
        superblockChanged = true;
    }

    /** {@code DT_*}-style file type of the directory entry for {@code mode}, if the filetype feature is on. */
    int fileTypeCode(int mode) {
        if ((sb.featureIncompat() & Superblock.INCOMPAT_FILETYPE) == 0) {
            return 0;
        }
        switch (mode & Inode.S_IFMT) {
            case Inode.S_IFREG: return 1;
            case Inode.S_IFDIR: return 2;
            case 0x2000: return 3;
            case 0x6000: return 4;
            case 0x1000: return 5;
            case 0xC000: return 6;
            case Inode.S_IFLNK: return 7;
            default: return 0;
        }
    }

    // ---- metadata buffers of the running transaction ------------------------------------------

    private boolean anyDirty(long first, long count) {
        if (dirty.isEmpty()) {
            return false;
        }
        for (long k = 0; k < count; k++) {
            if (dirty.containsKey(first + k)) {
                return true;
            }
        }
        return false;
    }

    /**
     * A metadata block as the running transaction sees it, to read only (a block already in the
     * transaction is not copied); changes go through {@link #metaForWrite}.
     */
    ByteBuffer metaForRead(long block, String what) throws ErrnoException {
        byte[] changed = dirty.get(block);
        if (changed != null) {
            return ByteBuffer.wrap(changed).order(ByteOrder.LITTLE_ENDIAN).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }
        return readBlock(block, what);
    }

    /** A metadata block to change in place; it joins the running transaction. */
    ByteBuffer metaForWrite(long block, String what) throws ErrnoException {
        byte[] b = dirty.get(block);
        remember(block, b);
        if (b == null) {
            b = block == 0 ? blockZero().array() : readBlock(block, what).array();
            dirty.put(block, b);
        }
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A metadata block that starts out zeroed (new bitmaps, directory and extent blocks). */
    ByteBuffer metaZeroed(long block) throws ErrnoException {
        if (block <= 0 || block >= sb.blocksCount()) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": writing metadata block " + block
                    + " outside the filesystem");
        }
        remember(block, dirty.get(block));
        byte[] b = new byte[sb.blockSize()];
        dirty.put(block, b);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    // ---- undoing a failed operation --------------------------------------------------------------

    /** While an operation runs: each block's bytes in the transaction before it (null: not in it). */
    private Map<Long, byte[]> undo;
    private Allocator.Savepoint allocatorBefore;
    private long lastOrphanBefore;
    private boolean superblockChangedBefore;

    private void remember(long block, byte[] current) {
        if (undo != null && !undo.containsKey(block)) {
            undo.put(block, current == null ? null : current.clone());
        }
    }

    /**
     * Starts an operation that can be undone: if it fails half way — ENOSPC after the inode was
     * allocated, corruption found in the middle — {@link #rollback()} puts the transaction back
     * as it was, so a failed call changes nothing, as on Linux.
     */
    void begin() {
        undo = new java.util.HashMap<>();
        gd.begin();
        allocatorBefore = allocator.save();
        lastOrphanBefore = lastOrphan;
        superblockChangedBefore = superblockChanged;
        if (quota != null) {
            quota.begin();
        }
    }

    void end() {
        undo = null;
        gd.end();
    }

    /** Undoes the operation begun last (file data it wrote in place stays written, as on Linux). */
    void rollback() {
        if (undo == null) {
            return;
        }
        undo.forEach((block, bytes) -> {
            if (bytes == null) {
                dirty.remove(block);
            } else {
                dirty.put(block, bytes);
            }
        });
        undo = null;
        gd.rollback();
        allocator.restore(allocatorBefore);
        lastOrphan = lastOrphanBefore;
        superblockChanged = superblockChangedBefore;
        dirCache.clear();
        if (quota != null) {
            quota.rollback();
        }
    }

    /** File data goes straight to the device: ordered mode, data before the metadata that points at it. */
    void writeData(long offset, ByteBuffer src) throws ErrnoException {
        if (offset < 0 || offset + src.remaining() > sb.blocksCount() * sb.blockSize()) {
            throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": data write at byte " + offset + " outside the filesystem");
        }
        dev.write(offset, src);
    }

    void readData(long offset, ByteBuffer dst) throws ErrnoException {
        dev.read(offset, dst);
    }

    /** Superblock, group descriptor copies, reserved GDT blocks, bitmaps and inode tables: {start, count} runs. */
    List<long[]> layoutMetadata() {
        if (layout == null) {
            List<long[]> out = new ArrayList<>();
            for (long[] r : groupMetadataRuns()) {
                out.add(new long[] {r[0], r[1]});
            }
            layout = out;
        }
        return layout;
    }

    /** {@link #layoutMetadata}'s runs with their group and kind: {start, count, group, kind 0..3}. */
    private List<long[]> groupMetadataRuns() {
        List<long[]> runs = new ArrayList<>();
        long tableBlocks = (sb.inodesPerGroup() * sb.inodeSize() + sb.blockSize() - 1) / sb.blockSize();
        for (long g = 0; g < sb.groupCount(); g++) {
            List<long[]> own = new ArrayList<>();
            GdtLayout.groupMetadata(sb, g, own);
            for (long[] r : own) {
                runs.add(new long[] {r[0], r[1], g, 0});
            }
            runs.add(new long[] {blockBitmap(g), 1, g, 1});
            runs.add(new long[] {inodeBitmap(g), 1, g, 2});
            runs.add(new long[] {inodeTable(g), tableBlocks, g, 3});
        }
        return runs;
    }

    /**
     * The first block of {@code count} from {@code start} that holds the filesystem's own metadata
     * ({@link #layoutMetadata}: superblock and descriptor copies, reserved GDT blocks, bitmaps,
     * inode tables), described ("block 1234 (the inode table of group 5)"), or null if none does.
     */
    String metadataIn(long start, long count) {
        if (metadataRuns == null) {
            List<long[]> runs = groupMetadataRuns();
            if (journal != null) { // the kernel's system zone holds the journal too
                long[] j = journal.blocks();
                for (int i = 0; i < j.length; ) {
                    int k = i + 1;
                    while (k < j.length && j[k] == j[k - 1] + 1) {
                        k++;
                    }
                    runs.add(new long[] {j[i], k - i, -1, 4});
                    i = k;
                }
            }
            runs.sort((a, b) -> Long.compare(a[0], b[0]));
            metadataRuns = runs.toArray(long[][]::new);
            metadataReach = new long[metadataRuns.length];
            long reach = Long.MIN_VALUE;
            for (int i = 0; i < metadataRuns.length; i++) {
                reach = Math.max(reach, metadataRuns[i][0] + metadataRuns[i][1]);
                metadataReach[i] = reach; // how far the runs up to i reach: no run before i ends past it
            }
        }
        long end = start + count;
        int lo = 0;
        int hi = metadataRuns.length - 1;
        while (lo <= hi) { // the last run that starts before the range ends
            int mid = (lo + hi) >>> 1;
            if (metadataRuns[mid][0] < end) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        for (int i = hi; i >= 0 && metadataReach[i] > start; i--) {
            long[] r = metadataRuns[i];
            if (r[0] + r[1] > start) {
                long b = Math.max(start, r[0]);
                String what = switch ((int) r[3]) {
                    case 0 -> "the superblock, group descriptors or reserved GDT blocks";
                    case 1 -> "the block bitmap";
                    case 2 -> "the inode bitmap";
                    case 3 -> "the inode table";
                    default -> "the journal";
                };
                return "block " + b + ", which holds " + what + (r[2] < 0 ? "" : " of group " + r[2]);
            }
        }
        return null;
    }

    // ---- inodes being written -------------------------------------------------------------------

    private long inodeBlock(long n) {
        long group = (n - 1) / sb.inodesPerGroup();
        long index = (n - 1) % sb.inodesPerGroup();
        return inodeTable(group) + index * sb.inodeSize() / sb.blockSize();
    }

    private int inodeOffset(long n) {
        return (int) ((n - 1) % sb.inodesPerGroup() * sb.inodeSize() % sb.blockSize());
    }

    RawInode readRawInode(long n) throws ErrnoException {
        byte[] raw = new byte[sb.inodeSize()];
        checkedInodeBytes(n).get(0, raw);
        return new RawInode(n, raw);
    }

    void writeInode(RawInode n) throws ErrnoException {
        if (quota != null) {
            quota.inodeChanged(n.number, metaForRead(inodeBlock(n.number), "inode table"), inodeOffset(n.number), n.b);
        }
        ExtChecksums.sealInode(sb, n.number, n.b);
        metaForWrite(inodeBlock(n.number), "inode table").put(inodeOffset(n.number), n.b.array());
    }

    void zeroInodeSlot(long n) throws ErrnoException {
        metaForWrite(inodeBlock(n), "inode table").put(inodeOffset(n), new byte[sb.inodeSize()]);
    }

    int inodeSeed(long number, int generation) {
        return Crc32c.updateInt(Crc32c.updateInt(sb.checksumSeed(), (int) number), generation);
    }

    /** An extent tree block of inode {@code ino}, its checksum checked. */
    ByteBuffer extentBlock(long ino, int generation, long block) throws ErrnoException {
        ByteBuffer node = readBlock(block, "inode " + ino + " extent block " + block);
        if (sb.hasMetadataCsum()) {
            int max = node.getShort(4) & 0xffff;
            if (12 + 12L * max + 4 > node.capacity()) {
                throw new ErrnoException(Errno.EUCLEAN, dev.name() + ": inode " + ino + " extent block " + block
                        + ": eh_max " + max);
            }
            int crc = Crc32c.update(inodeSeed(ino, generation), node, 0, 12 + 12 * max);
            if (node.getInt(12 + 12 * max) != crc) {
                throw new ErrnoException(Errno.EUCLEAN, String.format("%s: inode %d extent block %d: checksum 0x%08x, expected 0x%08x",
                        dev.name(), ino, block, node.getInt(12 + 12 * max), crc));
            }
        }
        return node;
    }

    void sealExtentBlock(RawInode ino, ByteBuffer b, int max) {
        if (sb.hasMetadataCsum()) {
            b.putInt(12 + 12 * max, Crc32c.update(inodeSeed(ino.number, ino.generation()), b, 0, 12 + 12 * max));
        }
    }

    void sealXattrBlock(long block, ByteBuffer b) {
        if (sb.hasMetadataCsum()) {
            b.putInt(16, ExtChecksums.xattrBlockChecksum(sb, block, b));
        }
    }

    // ---- commits --------------------------------------------------------------------------------

    private int superblockBlock() {
        return Superblock.OFFSET / sb.blockSize();
    }

    private int superblockOffset() {
        return Superblock.OFFSET % sb.blockSize();
    }

    /** Block 0, which holds the superblock when blocks are larger than 1 KiB (readBlock refuses 0 as a pointer). */
    private ByteBuffer blockZero() throws ErrnoException {
        byte[] changed = dirty.get(0L);
        if (changed != null) {
            return ByteBuffer.wrap(changed.clone()).order(ByteOrder.LITTLE_ENDIAN);
        }
        ByteBuffer b = ByteBuffer.allocate(sb.blockSize()).order(ByteOrder.LITTLE_ENDIAN);
        dev.read(0, b);
        return b;
    }

    /** Whether names that are not valid UTF-8 are refused in casefolded directories (s_encoding_flags strict). */
    boolean strictEncoding() throws ErrnoException {
        if (strictEncoding == null) {
            strictEncoding = (rawSuperblock().getShort(Casefold.SB_ENCODING_FLAGS) & Casefold.STRICT_MODE_FL) != 0;
        }
        return strictEncoding;
    }

    /** The superblock's bytes as on disk (through the journal), for the checker's fields Superblock does not keep. */
    ByteBuffer superblockBytes() throws ErrnoException {
        return rawSuperblock();
    }

    ByteBuffer rawSuperblock() throws ErrnoException {
        ByteBuffer b = superblockBlock() == 0 ? blockZero() : readBlock(superblockBlock(), "superblock");
        return b.slice(superblockOffset(), Superblock.SIZE).order(ByteOrder.LITTLE_ENDIAN);
    }

    private void sealSuperblock(ByteBuffer raw) {
        if (sb.hasMetadataCsum()) {
            raw.putInt(1020, Crc32c.update(~0, raw, 0, 1020));
        }
    }

    /** Patches the superblock's counters and state into the running transaction. */
    private void superblockIntoTransaction() throws ErrnoException {
        ByteBuffer blk = metaForWrite(superblockBlock(), "superblock");
        ByteBuffer raw = blk.slice(superblockOffset(), Superblock.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        long freeBlocks = allocator.freeBlocks();
        raw.putInt(12, (int) freeBlocks);
        if (sb.has64bit()) {
            raw.putInt(0x158, (int) (freeBlocks >>> 32));
        }
        raw.putInt(16, (int) allocator.freeInodes());
        raw.putInt(0xE8, (int) lastOrphan);
        raw.putInt(100, raw.getInt(100) & ~roCompatCleared);
        raw.putInt(48, (int) (now() / 1_000_000_000L)); // s_wtime
        sealSuperblock(raw);
        superblockChanged = false;
    }

    /**
     * Marks the on-disk superblock in use or clean, outside any transaction: needs_recovery with a
     * journal, the valid-fs state bit without one, as the kernel does at mount and unmount.
     */
    private void patchSuperblockOnDisk(boolean inUse) throws ErrnoException {
        patchSuperblockOnDisk(inUse, null);
    }

    /** As {@link #patchSuperblockOnDisk(boolean)}, recording what the mount's check found, if it ran. */
    private void patchSuperblockOnDisk(boolean inUse, MountCheck.Outcome checked) throws ErrnoException {
        ByteBuffer blk = ByteBuffer.allocate(sb.blockSize()).order(ByteOrder.LITTLE_ENDIAN);
        dev.read((long) superblockBlock() * sb.blockSize(), blk);
        ByteBuffer raw = blk.slice(superblockOffset(), Superblock.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        if (journal != null) {
            int incompat = raw.getInt(96);
            raw.putInt(96, inUse ? incompat | Superblock.INCOMPAT_RECOVER : incompat & ~Superblock.INCOMPAT_RECOVER);
        } else {
            int state = raw.getShort(58) & 0xffff;
            raw.putShort(58, (short) (inUse ? state & ~1 : state | 1));
        }
        if (inUse) {
            raw.putInt(44, (int) (now() / 1_000_000_000L)); // s_mtime
            raw.putShort(52, (short) (raw.getShort(52) + 1)); // s_mnt_count
        }
        if (checked != null) {
            checked.record(raw, now() / 1_000_000_000L);
        }
        sealSuperblock(raw);
        dev.write((long) superblockBlock() * sb.blockSize(), blk.clear());
        dev.flush();
    }

    /** Whether the running transaction has grown big enough to commit. */
    void commitIfFull() throws ErrnoException {
        if (dirty.size() >= maxTransactionBlocks || journal != null && dirty.size() >= journal.capacity() / 2) {
            commit();
        }
    }

    /**
     * Commits the running transaction: deferred frees applied, descriptors and superblock sealed,
     * then — after the data before it is flushed — through the journal if there is one, then home.
     */
    void commit() throws ErrnoException {
        if (writer == null) {
            return;
        }
        if (dirty.isEmpty() && !allocator.hasDeferredFrees() && !superblockChanged) {
            return;
        }
        if (quota != null) {
            quota.flush(); // may take blocks for the quota files: before the bitmaps and counters are sealed
        }
        allocator.applyDeferredFrees();
        BitSet groups = gd.sealChanged();
        for (int g = groups.nextSetBit(0); g >= 0; g = groups.nextSetBit(g + 1)) {
            long offset = (long) g * gd.descSize();
            long block = GdtLayout.primary(sb, offset / sb.blockSize());
            ByteBuffer w = metaForWrite(block, "group descriptors");
            int within = (int) (offset % sb.blockSize());
            w.put(within, groupDescriptors, (int) offset, gd.descSize());
        }
        superblockIntoTransaction();
        dev.flush(); // ordered: file data reaches the disk before metadata that points at it
        boolean journaled = journal != null && dirty.size() <= journal.capacity();
        if (journaled) {
            journal.log(dirty, now() / 1_000_000_000L);
        }
        for (Map.Entry<Long, byte[]> e : dirty.entrySet()) {
            dev.write(e.getKey() * sb.blockSize(), ByteBuffer.wrap(e.getValue()));
        }
        dev.flush();
        if (journaled) {
            journal.checkpointed();
        }
        dirty.clear();
        commits++;
    }

    /** How many blocks this mount replayed from the journal before it began (0 if it was clean). */
    public int recoveredBlocks() {
        return recoveredBlocks;
    }

    /** How many transactions this mount has committed: each is a point a crash can come back to. */
    public long commits() {
        lock.lock();
        try {
            return commits;
        } finally {
            lock.unlock();
        }
    }

    /** Commits, marks the filesystem clean and flushes; the object is read-only afterwards. */
    public void unmount() throws ErrnoException {
        lock.lock();
        try {
            if (writer != null) {
                commit();
                patchSuperblockOnDisk(false);
                writer = null;
                if (mmp != null) {
                    mmp.release(mmpHost);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    // ---- what the VFS reports ------------------------------------------------------------------

    /** What {@code statvfs} tells of the filesystem, from the superblock's (or the allocator's) counters. */
    StatVfs statvfs() {
        long free = allocator != null ? allocator.freeBlocks() : sb.freeBlocks();
        long freeInodes = allocator != null ? allocator.freeInodes() : sb.freeInodes();
        long avail = Math.max(0, free - sb.reservedBlocks());
        return new StatVfs(sb.blockSize(), sb.blocksCount(), free, avail, sb.inodesCount(), freeInodes, 255,
                writer == null);
    }
}
