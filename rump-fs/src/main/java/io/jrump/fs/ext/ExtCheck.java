package io.jrump.fs.ext;

import io.jrump.blk.Progress;
import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A read-only consistency check of an ext2/3/4 filesystem, in the spirit of {@code e2fsck -fn}
 * and meant to agree with its exit status. Pass 1 ({@link InodeTableScan}) reads the used part of
 * every inode table once and checks each slot; then the directory tree from the root ('.' and
 * '..' right, no directory reached twice, no entry naming a free inode, file types, duplicate
 * names, htree lookups), link counts, every block an inode occupies (through {@link BlockMapWalk}
 * or the extent tree) claimed once and marked in its group's block bitmap, reserved, quota and
 * orphan-file inodes, xattr blocks ({@link XattrBlockCheck}, reference counts), quota usage
 * ({@link QuotaChecks}), the journal superblock ({@link JournalChecks}), blocks marked in use
 * that nothing explains (leaks) or that metadata and an inode both claim; per inode what
 * {@link InodeChecks} checks; each group's counts and bitmap padding ({@link GroupChecks}).
 * Reads through the journal when it needs recovery. Not checked: quota limits and grace times,
 * values in ea_inode inodes (their reference counts and owners are: {@link EaInodeChecks}).
 *
 * <p>With bigalloc, claims, bitmaps and leaks are per cluster, as the bitmaps count: an inode may
 * use several blocks of one cluster, another inode none of them, and i_blocks is charged per
 * cluster. The claimed and metadata bit sets are indexed by cluster (by block without bigalloc).
 */
public final class ExtCheck {
    /** Problems are listed up to this many; checking goes on. */
    static final int MAX_LISTED = 200;
    static final long RESIZE_INODE = 7;
    static final int RO_COMPAT_QUOTA = 0x100;
    static final int COMPAT_ORPHAN_FILE = 0x1000;
    static final int INODE_UNINIT = 0x1;
    static final int BLOCK_UNINIT = 0x2;

    /** What the check found. */
    public record Result(List<String> problems, long inodesChecked, long directoriesChecked, long blocksClaimed,
            List<String> notes) {
        public boolean isClean() {
            return problems.isEmpty();
        }
    }

    private ExtCheck() {
    }

    /**
     * Opens the filesystem on {@code dev} read-only and checks it. Unlike {@link ExtFs#open}, a
     * group descriptor whose checksum fails does not stop the check: as e2fsck -fn, which answers
     * "IGNORED" and exits 0 when nothing else is wrong, it is listed among the notes, not the problems,
     * and its group is checked as initialized (no uninit flags, no unused inodes), as e2fsck does.
     */
    public static Result check(io.jrump.blk.BlockDevice dev) throws ErrnoException {
        return check(dev, Progress.NONE);
    }

    /**
     * As {@link #check(io.jrump.blk.BlockDevice)}, reporting to {@code progress} in thirds: the
     * inode tables read (by group), the directories walked, the inodes whose blocks are counted;
     * the total is three times the number of inodes the bitmaps mark in use (at least 3).
     */
    public static Result check(io.jrump.blk.BlockDevice dev, Progress progress) throws ErrnoException {
        List<String> notes = new ArrayList<>();
        ExtFs fs = ExtFs.openForCheck(dev, note -> {
            if (notes.size() < MAX_LISTED) {
                notes.add(note + " (e2fsck -fn ignores it; its uninit flags are not trusted)");
            }
        });
        Result r = check(fs, progress);
        return new Result(r.problems(), r.inodesChecked(), r.directoriesChecked(), r.blocksClaimed(), notes);
    }

    public static Result check(ExtFs fs) throws ErrnoException {
        return check(fs, Progress.NONE);
    }

    /** As {@link #check(io.jrump.blk.BlockDevice, Progress)}, on an open filesystem. */
    public static Result check(ExtFs fs, Progress progress) throws ErrnoException {
        Superblock sb = fs.superblock();
        if (sb.blocksCount() > Integer.MAX_VALUE || sb.inodesCount() >= Integer.MAX_VALUE) {
            throw new ErrnoException(Errno.EFBIG, "filesystem of " + sb.blocksCount() + " blocks and " + sb.inodesCount()
                    + " inodes is too large to check in memory");
        }
        List<String> problems = new ArrayList<>();
        BitSet inodeUsed = inodeBitmaps(fs, sb);
        long third = Math.max(1, inodeUsed.cardinality());
        long groups = Math.max(1, sb.groupCount());
        // pass 1: each inode-table block read once
        InodeTableScan inodes = InodeTableScan.scan(fs, inodeUsed, g -> progress.at(g * third / groups, 3 * third));
        inodes.reportDamage(p -> report(problems, p));
        Inode root = inodes.get(ExtFs.ROOT_INODE);
        if (!root.isDir()) {
            report(problems, "root inode 2 is not a directory (mode 0" + Integer.toOctalString(root.mode()) + ")");
            return new Result(problems, 1, 0, 0, List.of()); // nothing is reachable without it
        }
        JournalChecks.check(fs, p -> report(problems, p));
        BitSet claimed = new BitSet((int) sb.blocksCount());
        BlockOwners owner = new BlockOwners(sb.blocksCount());
        checkSpecialInodes(fs, sb, claimed, owner, problems);
        BitSet reachable = new BitSet();
        Deque<long[]> dirs = new ArrayDeque<>(); // {dir, parent}
        dirs.add(new long[] {ExtFs.ROOT_INODE, ExtFs.ROOT_INODE});
        reachable.set((int) ExtFs.ROOT_INODE);
        long dirCount = 0;
        Set<String> names = new HashSet<>();
        long named = 0; // entries seen: about one per inode in use by the end of the walk
        while (!dirs.isEmpty()) {
            long[] d = dirs.poll();
            dirCount++;
            progress.at(third + Math.min(third, named), 3 * third);
            List<Dirent> entries;
            Inode dirInode;
            try {
                dirInode = inodes.get(d[0]);
                entries = fs.readDir(dirInode);
            } catch (ErrnoException e) {
                damaged(problems, e); // a bad checksum or a broken block: report it, check the rest
                continue;
            }
            checkIndex(fs, sb, dirInode, entries, problems);
            checkDirTails(fs, sb, dirInode, problems);
            names.clear();
            named += entries.size();
            for (Dirent e : entries) {
                if (!names.add(e.name())) {
                    report(problems, "directory inode " + d[0] + ": entry '" + e.name() + "' appears more than once");
                }
                if (e.inode() < 1 || e.inode() > sb.inodesCount() || !inodeUsed.get((int) e.inode())) {
                    report(problems, "directory inode " + d[0] + ": entry '" + e.name() + "' names inode " + e.inode()
                            + ", which is not in use");
                    continue;
                }
                inodes.addReference(e.inode());
                if (Dirent.isDot(e.name())) {
                    if (e.inode() != d[0]) {
                        report(problems, "directory inode " + d[0] + ": '.' names inode " + e.inode());
                    }
                    continue;
                }
                if (Dirent.isDotDot(e.name())) {
                    if (e.inode() != d[1]) {
                        report(problems, "directory inode " + d[0] + ": '..' names inode " + e.inode() + ", not its parent "
                                + d[1]);
                    }
                    continue;
                }
                int childMode;
                try {
                    childMode = inodes.mode(e.inode());
                } catch (ErrnoException err) {
                    damaged(problems, err);
                    reachable.set((int) e.inode());
                    continue;
                }
                checkFileType(sb, d[0], e, childMode, problems);
                if ((childMode & Inode.S_IFMT) == Inode.S_IFDIR) {
                    if (reachable.get((int) e.inode())) {
                        report(problems, "directory inode " + e.inode() + " is reached a second time, from directory inode "
                                + d[0] + " as '" + e.name() + "'");
                    } else {
                        reachable.set((int) e.inode());
                        dirs.add(new long[] {e.inode(), d[0]});
                    }
                } else {
                    reachable.set((int) e.inode());
                }
            }
        }
        // Link counts, and the blocks of every inode in use: reachable, unattached, the journal.
        int bits = Integer.numberOfTrailingZeros(sb.clusterRatio());
        BitSet toWalk = (BitSet) reachable.clone();
        BitSet unattached = new BitSet();
        BitSet directories = new BitSet();
        Set<Long> system = systemInodes(fs, sb);
        for (int ino = inodeUsed.nextSetBit((int) sb.firstIno()); ino >= 0; ino = inodeUsed.nextSetBit(ino + 1)) {
            if (system.contains((long) ino)) {
                toWalk.set(ino); // a quota or orphan file: no directory names it, its blocks count
            } else if (!reachable.get(ino) && ino != sb.journalInum()) {
                int links = linksOrZero(inodes, ino, problems);
                if (links > 0) {
                    unattached.set(ino);
                    toWalk.set(ino);
                } else if (inodes.scanned(ino)) {
                    // e2fsck goes by the link count: a deleted inode the bitmap still marks is a bitmap difference
                    report(problems, "inode " + ino + " is marked in use in the inode bitmap but its link count is 0");
                }
            }
        }
        if (sb.journalInum() != 0 && sb.hasJournal() && sb.journalInum() < Integer.MAX_VALUE) {
            toWalk.set((int) sb.journalInum());
        }
        checkReservedInodes(fs, sb, inodes, toWalk, problems);
        Map<Long, Integer> xattrBlocks = new HashMap<>(); // block -> inodes naming it
        long[] blockMapBudget = {4 * sb.blocksCount() + (1 << 20)};
        long[] quotaInodes = quotaInodes(fs, sb);
        QuotaChecks quota = new QuotaChecks();
        boolean quotaOn = quotaInodes[0] != 0 || quotaInodes[1] != 0 || quotaInodes[2] != 0;
        EaInodeChecks valueInodes = new EaInodeChecks(fs);
        long[] occupied = {0};
        long[] current = {0};
        Set<Long> mine = new HashSet<>(); // with bigalloc: the current inode's clusters, each charged once
        java.util.function.LongConsumer claim = b -> {
            if (b <= 0 || b < sb.firstDataBlock() || b >= sb.blocksCount()) { // no group holds it
                occupied[0]++;
                report(problems, "inode " + current[0] + ": block " + b + " is outside the filesystem");
                return;
            }
            long unit = b >>> bits;
            if (bits > 0 && !mine.add(unit)) {
                return; // another block of a cluster this inode has
            }
            occupied[0]++;
            if (claimed.get((int) unit)) {
                report(problems, "block " + b + " is claimed by " + owner.describe(unit) + " and by inode " + current[0]);
            } else {
                claimed.set((int) unit);
                owner.put(unit, current[0]);
            }
        };
        long walked = 0;
        long toWalkCount = Math.max(1, toWalk.cardinality());
        for (int i = toWalk.nextSetBit(0); i >= 0; i = toWalk.nextSetBit(i + 1)) {
            progress.at(2 * third + walked++ * third / toWalkCount, 3 * third);
            long ino = i;
            Inode inode;
            try {
                inode = inodes.get(ino);
            } catch (ErrnoException e) {
                damaged(problems, e);
                continue;
            }
            if (reachable.get(i)) {
                int refs = inodes.references(ino);
                boolean manySubdirs = inode.isDir() && inode.linksCount() == 1 && refs > 65000;
                if (inode.linksCount() != refs && !manySubdirs) {
                    report(problems, "inode " + ino + ": link count " + inode.linksCount() + ", but " + refs
                            + " directory entries name it");
                }
            }
            if (!inodeUsed.get(i)) {
                report(problems, "inode " + ino + " is in use but free in the inode bitmap");
            }
            if (inode.isDir()) {
                directories.set(i);
            }
            occupied[0] = 0;
            current[0] = ino;
            mine.clear();
            // A reserved inode below s_first_ino (not the journal, quota or orphan file) takes e2fsck's reserved path.
            boolean reserved = ino > 2 && ino < sb.firstIno() && ino != sb.journalInum() && !system.contains(ino);
            try {
                long mappedEnd = -1;
                // Only directories, regular files and symlinks have blocks (libext2fs's has_valid_blocks):
                // whatever i_block of a device, a FIFO or a mode-0 reserved inode holds is not walked.
                boolean mapped = inode.isRegular() || inode.isDir() || inode.isSymlink();
                if (mapped && !inode.usesExtents() && !inode.hasInlineData() && !inode.isFastSymlink(sb.blockSize())) {
                    mappedEnd = BlockMapWalk.walk(fs, inode, claim, p -> report(problems, p), blockMapBudget);
                } else if (mapped) {
                    fs.forEachBlock(inode, claim);
                }
                if (reserved) {
                    InodeChecks.checkBlockCount(fs, inode, occupied[0], p -> report(problems, p)); // e2fsck's reserved path
                    InodeChecks.checkCasefold(sb, inode, p -> report(problems, p));
                    InodeChecks.checkReservedSize(sb, inode, p -> report(problems, p));
                } else {
                    InodeChecks.check(fs, inode, inodes.dtime(ino), occupied[0], mappedEnd, p -> report(problems, p));
                }
            } catch (ErrnoException e) {
                if (e.errno() != Errno.EUCLEAN) {
                    throw e;
                }
                report(problems, e.detail()); // a damaged block map: say so and check the other inodes
            }
            boolean aclInside = inode.fileAcl() >= sb.firstDataBlock() && inode.fileAcl() < sb.blocksCount();
            if (!reserved || aclInside) { // e2fsck only marks a reserved inode's stray xattr block bad, unreported
                claimXattrBlock(sb, inode, claimed, owner, xattrBlocks, problems, bits);
            }
            if (quotaOn && (ino == ExtFs.ROOT_INODE || ino >= sb.firstIno()) && !system.contains(ino)
                    && (inode.flags() & Inode.EA_INODE_FL) == 0) { // quota and orphan files are not charged
                long bytes = (occupied[0] + (inode.fileAcl() != 0 ? 1 : 0)) * sb.blockSize() * sb.clusterRatio()
                        + EaInodeChecks.chargedSectors(fs, inode) * 512; // ea_inode: the values' blocks are the owner's
                quota.charge(inode.uid(), inode.gid(), inodes.projid(ino), bytes, 1 + EaInodeChecks.valueInodes(fs, inode));
            }
            valueInodes.collect(inode, p -> report(problems, p));
        }
        quota.check(fs, inodes, quotaInodes, p -> report(problems, p));
        checkXattrRefcounts(fs, xattrBlocks, problems);
        checkBlockBitmaps(fs, sb, claimed, owner, problems);
        GroupChecks.check(fs, inodeUsed, directories, p -> report(problems, p));
        Set<Long> unnamed = new java.util.TreeSet<>();
        unattached.stream().forEach(i -> unnamed.add((long) i));
        valueInodes.finish(unnamed, p -> report(problems, p)); // value inodes: named by their owners' xattrs
        for (long ino : unnamed) {
            report(problems, "inode " + ino + " is in use but no directory names it (unattached)");
        }
        checkLeaks(fs, sb, claimed, problems);
        progress.at(3 * third, 3 * third);
        return new Result(problems, toWalk.cardinality(), dirCount, (long) claimed.cardinality() << bits, List.of());
    }

    /**
     * The reserved inodes below {@code s_first_ino} other than the bad-blocks, root, resize and
     * journal inodes, as e2fsck's pass 1 takes them: no mode (the boot-loader inode 5 may be
     * anything but a directory), and their blocks walked, claimed and counted like any inode's.
     * Inodes 3 and 4 are the quota files when the quota feature is on and the superblock names
     * them (then regular files, walked); otherwise they must hold nothing ("quota inode is not in
     * use, but contains data").
     */
    private static void checkReservedInodes(ExtFs fs, Superblock sb, InodeTableScan inodes, BitSet toWalk,
            List<String> problems) throws ErrnoException {
        ByteBuffer raw = fs.superblockBytes();
        boolean quota = (sb.featureRoCompat() & RO_COMPAT_QUOTA) != 0;
        Set<Long> quotaInodes = new HashSet<>();
        for (int at : new int[] {0x240, 0x244, 0x26C}) {
            quotaInodes.add(Integer.toUnsignedLong(raw.getInt(at)));
        }
        for (long ino = 3; ino < sb.firstIno() && ino < Integer.MAX_VALUE; ino++) {
            if (ino == RESIZE_INODE || ino == sb.journalInum() || !inodes.scanned(ino)) {
                continue;
            }
            int mode = inodes.mode(ino);
            if (ino == 8) { // not the journal here (checked above): it must hold nothing, whatever its mode
                Inode j = inodes.get(ino);
                if (j.linksCount() != 0 || (j.blocks512() & 0xffffffffL) != 0 || ByteBuffer.wrap(j.block()).getInt(0) != 0) {
                    report(problems, "journal inode 8 is not in use, but contains data");
                }
                continue;
            }
            if (ino <= 4) {
                if (quota && quotaInodes.contains(ino)) {
                    if ((mode & Inode.S_IFMT) != Inode.S_IFREG) {
                        report(problems, "quota inode " + ino + " is not a regular file (mode 0" + Integer.toOctalString(mode) + ")");
                    }
                    toWalk.set((int) ino);
                } else {
                    Inode q = inodes.get(ino);
                    // e2fsck looks at i_links_count, i_blocks (its low 32 bits) and i_block[0]
                    if (q.linksCount() != 0 || (q.blocks512() & 0xffffffffL) != 0 || ByteBuffer.wrap(q.block()).getInt(0) != 0) {
                        report(problems, "quota inode " + ino + " is not in use, but contains data");
                    }
                }
                continue;
            }
            boolean allowed = mode == 0 || (ino == 5 && (mode & Inode.S_IFMT) != Inode.S_IFDIR);
            if (!allowed) {
                report(problems, "reserved inode " + ino + " has mode 0" + Integer.toOctalString(mode));
            }
            toWalk.set((int) ino);
        }
    }

    /** The user, group and project quota inodes the superblock names, with the quota feature on (else zeros). */
    private static long[] quotaInodes(ExtFs fs, Superblock sb) throws ErrnoException {
        if ((sb.featureRoCompat() & RO_COMPAT_QUOTA) == 0) {
            return new long[3];
        }
        ByteBuffer raw = fs.superblockBytes();
        return new long[] {Integer.toUnsignedLong(raw.getInt(0x240)), Integer.toUnsignedLong(raw.getInt(0x244)),
                Integer.toUnsignedLong(raw.getInt(0x26C))};
    }

    /**
     * Inodes the superblock names that no directory does: the quota files (with the quota
     * feature; the project one is an ordinary inode number) and the orphan file (orphan_file).
     */
    private static Set<Long> systemInodes(ExtFs fs, Superblock sb) throws ErrnoException {
        ByteBuffer raw = fs.superblockBytes();
        Set<Long> out = new HashSet<>();
        if ((sb.featureRoCompat() & RO_COMPAT_QUOTA) != 0) {
            for (int at : new int[] {0x240, 0x244, 0x26C}) {
                out.add(Integer.toUnsignedLong(raw.getInt(at)));
            }
        }
        if ((sb.featureCompat() & COMPAT_ORPHAN_FILE) != 0) {
            out.add(Integer.toUnsignedLong(raw.getInt(0x280)));
        }
        out.remove(0L);
        return out;
    }

    /**
     * Which inode first claimed each block, for the messages about a block claimed twice: an int
     * per block while the filesystem has at most 2^24 blocks (64 MiB), else not kept.
     */
    private static final class BlockOwners {
        private final int[] owners;

        BlockOwners(long blocks) {
            owners = blocks <= 1 << 24 ? new int[(int) blocks] : null;
        }

        void put(long block, long ino) {
            if (owners != null && block >= 0 && block < owners.length) {
                owners[(int) block] = (int) ino;
            }
        }

        String describe(long block) {
            return owners == null || owners[(int) block] == 0 ? "another inode" : "inode " + owners[(int) block];
        }
    }

    /**
     * An indexed directory's index must lead to every name it holds: each entry is looked up
     * through the index (the root, nodes and hash order checked on the way), as e2fsck's pass 2
     * checks the tree.
     */
    private static void checkIndex(ExtFs fs, Superblock sb, Inode inode, List<Dirent> entries, List<String> problems)
            throws ErrnoException {
        long dir = inode.number();
        if ((inode.flags() & 0x1000) == 0) { // EXT4_INDEX_FL
            return;
        }
        if (!Htree.isIndexed(sb, inode)) {
            return; // the flag without dir_index: the kernel and e2fsck read the directory linearly
        }
        if (Encrypted.is(inode)) {
            return; // hashed over the encrypted names' bytes, which names read as text do not keep
        }
        try {
            for (Dirent e : entries) {
                if (Dirent.isDot(e.name()) || Dirent.isDotDot(e.name())) {
                    continue;
                }
                long found = fs.htree.lookup(inode, e.name());
                if (found != e.inode()) {
                    report(problems, "htree directory inode " + dir + ": '" + e.name() + "' is not in the leaf its hash"
                            + " selects");
                    return;
                }
            }
        } catch (Htree.Damaged damaged) {
            report(problems, "htree directory inode " + dir + " has an invalid index: " + damaged.getMessage());
        } catch (ErrnoException err) {
            damaged(problems, err);
        }
    }

    /**
     * With metadata_csum every directory leaf block ends in a checksum tail (e2fsck: "directory
     * has no checksum"); a block whose tail was damaged is read by the kernel as one without, so
     * reading alone does not see it. Index blocks of an htree carry their own tail instead.
     */
    private static void checkDirTails(ExtFs fs, Superblock sb, Inode dir, List<String> problems) throws ErrnoException {
        if (!sb.hasMetadataCsum() || dir.hasInlineData()) {
            return;
        }
        boolean indexed = (dir.flags() & 0x1000) != 0 && Htree.isIndexed(sb, dir);
        long blocks = Math.min(dir.size() / sb.blockSize(), 1 << 20);
        try {
            for (long l = 0; l < blocks; l++) {
                ExtFs.Mapping m = fs.map(dir, l);
                if (m.physical() == 0) {
                    continue;
                }
                ByteBuffer b = fs.block(m.physical(), "directory inode " + dir.number() + " block " + l);
                if (!(indexed && ExtFs.isIndexBlock(b, l, sb.blockSize())) && !ExtFs.hasDirTail(b, sb.blockSize())) {
                    report(problems, "directory inode " + dir.number() + ", block " + l + ": no checksum tail");
                    return;
                }
            }
        } catch (ErrnoException e) {
            damaged(problems, e);
        }
    }

    /**
     * The bad-blocks inode's blocks (its list, through a block map whatever the filesystem's
     * features) must lie inside the filesystem and be marked in use, and are claimed: a file that
     * also holds one shares it, which e2fsck's pass 1B reports; the resize inode may only hold its
     * double-indirect block (e2fsck pass 1 and its resize-inode check).
     */
    private static void checkSpecialInodes(ExtFs fs, Superblock sb, BitSet claimed, BlockOwners owner,
            List<String> problems) throws ErrnoException {
        Inode badBlocks;
        try {
            badBlocks = fs.inode(1);
        } catch (ErrnoException e) {
            if (e.errno() != Errno.EUCLEAN) {
                throw e;
            }
            return; // never written (an all-zero inode, as mkfs may leave it: e2fsck accepts it), nothing listed
        }
        if (badBlocks.mode() != 0 || badBlocks.uid() != 0 || badBlocks.gid() != 0 || badBlocks.linksCount() != 0
                || badBlocks.fileAcl() != 0 || badBlocks.hasInlineData()) {
            // e2fsck: "the bad block inode looks invalid"
            report(problems, "bad-blocks inode 1 looks invalid: mode, owner, link count, xattr block or inline flag set");
        }
        ByteBuffer bad = ByteBuffer.wrap(badBlocks.block()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        List<Long> listed = new ArrayList<>();
        for (int i = 0; i < 15; i++) {
            long b = Integer.toUnsignedLong(bad.getInt(i * 4));
            if (b == 0) {
                continue;
            }
            if (b < sb.firstDataBlock() || b >= sb.blocksCount()) {
                report(problems, "bad-blocks inode 1: " + (i < 12 ? "block " : "indirect block ") + b
                        + " is outside the filesystem");
                continue;
            }
            listed.add(b);
            if (i >= 12) {
                badBlockList(fs, sb, b, i - 11, listed, problems);
            }
        }
        for (long b : listed) {
            if (!marked(fs, sb, b)) {
                report(problems, "bad-blocks inode 1 lists block " + b + ", which is not marked in use");
            }
            if (!claimed.get((int) b)) {
                claimed.set((int) b);
                owner.put(b, 1L);
            }
        }
        if ((sb.featureCompat() & Superblock.COMPAT_RESIZE_INODE) != 0) {
            ByteBuffer resize = ByteBuffer.wrap(fs.inode(RESIZE_INODE).block()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 15; i++) {
                if (i != 13 && resize.getInt(i * 4) != 0) {
                    report(problems, "resize inode 7 is not valid: block pointer " + i + " is set");
                    break;
                }
            }
        }
    }

    /** The blocks an indirect block of the bad-blocks inode lists, {@code level} 1 to 3; bounded by the list's size. */
    private static void badBlockList(ExtFs fs, Superblock sb, long block, int level, List<Long> out, List<String> problems)
            throws ErrnoException {
        ByteBuffer b = fs.block(block, "bad-blocks inode 1 indirect block");
        for (int i = 0; i < sb.blockSize() / 4 && out.size() < 1 << 16; i++) {
            long child = Integer.toUnsignedLong(b.getInt(i * 4));
            if (child == 0) {
                continue;
            }
            if (child < sb.firstDataBlock() || child >= sb.blocksCount()) {
                report(problems, "bad-blocks inode 1: block " + child + " (listed in block " + block + ") is outside the filesystem");
                continue;
            }
            out.add(child);
            if (level > 1) {
                badBlockList(fs, sb, child, level - 1, out, problems);
            }
        }
    }

    /**
     * Each xattr block's {@code h_refcount} must be the number of inodes that name it (e2fsck's
     * pass 1 counts them; a shared block with the right count is fine) and its magic right.
     */
    private static void checkXattrRefcounts(ExtFs fs, Map<Long, Integer> xattrBlocks, List<String> problems)
            throws ErrnoException {
        for (Map.Entry<Long, Integer> e : new java.util.TreeMap<>(xattrBlocks).entrySet()) {
            ByteBuffer b;
            try {
                b = fs.block(e.getKey(), "xattr block");
            } catch (ErrnoException err) {
                damaged(problems, err);
                continue;
            }
            if (b.getInt(0) != 0xEA020000) {
                report(problems, "xattr block " + e.getKey() + " has a bad magic 0x" + Integer.toHexString(b.getInt(0)));
                continue;
            }
            if (Integer.toUnsignedLong(b.getInt(4)) != e.getValue()) {
                report(problems, "xattr block " + e.getKey() + " has reference count " + Integer.toUnsignedLong(b.getInt(4))
                        + ", but " + e.getValue() + " inodes name it");
            }
            XattrBlockCheck.check(fs, e.getKey(), b, p -> report(problems, p));
        }
    }

    private static boolean marked(ExtFs fs, Superblock sb, long b) throws ErrnoException {
        long g = (b - sb.firstDataBlock()) / sb.blocksPerGroup();
        if ((fs.groupFlags(g) & BLOCK_UNINIT) != 0) {
            return false;
        }
        long bit = (b - sb.firstDataBlock()) % sb.blocksPerGroup() / sb.clusterRatio();
        ByteBuffer bitmap = fs.block(fs.blockBitmap(g), "block bitmap of group " + g);
        return (bitmap.get((int) (bit / 8)) & (1 << (bit % 8))) != 0;
    }

    /** With the filetype feature, an entry's type byte must be its inode's kind (e2fsck pass 2). */
    private static void checkFileType(Superblock sb, long dir, Dirent e, int childMode, List<String> problems) {
        if ((sb.featureIncompat() & Superblock.INCOMPAT_FILETYPE) == 0) {
            return;
        }
        int expected = switch (childMode & Inode.S_IFMT) {
            case Inode.S_IFREG -> 1;
            case Inode.S_IFDIR -> 2;
            case 0x2000 -> 3; // character device
            case 0x6000 -> 4; // block device
            case 0x1000 -> 5; // FIFO
            case 0xC000 -> 6; // socket
            case Inode.S_IFLNK -> 7;
            default -> 0;
        };
        if (e.fileType() != expected) {
            report(problems, "directory inode " + dir + ": entry '" + e.name() + "' has file type " + e.fileType()
                    + ", but inode " + e.inode() + " is of type " + expected);
        }
    }

    /** Inode-bitmap bits by inode number (bit n is inode n); INODE_UNINIT groups are free. */
    private static BitSet inodeBitmaps(ExtFs fs, Superblock sb) throws ErrnoException {
        BitSet used = new BitSet((int) Math.min(Integer.MAX_VALUE, sb.inodesCount() + 1));
        for (long g = 0; g < sb.groupCount(); g++) {
            if ((fs.groupFlags(g) & INODE_UNINIT) != 0) {
                continue;
            }
            ByteBuffer bitmap = fs.block(fs.inodeBitmap(g), "inode bitmap of group " + g);
            for (long i = 0; i < sb.inodesPerGroup(); i++) {
                if ((bitmap.get((int) (i / 8)) & (1 << (i % 8))) != 0) {
                    long ino = g * sb.inodesPerGroup() + i + 1;
                    if (ino <= sb.inodesCount()) {
                        used.set((int) ino);
                    }
                }
            }
        }
        return used;
    }

    private static void checkBlockBitmaps(ExtFs fs, Superblock sb, BitSet claimed, BlockOwners owner,
            List<String> problems) throws ErrnoException {
        long g = -1;
        ByteBuffer bitmap = null;
        boolean uninit = false;
        int bits = Integer.numberOfTrailingZeros(sb.clusterRatio());
        for (int unit = claimed.nextSetBit(0); unit >= 0; unit = claimed.nextSetBit(unit + 1)) {
            long b = (long) unit << bits;
            long group = (b - sb.firstDataBlock()) / sb.blocksPerGroup();
            if (group != g) {
                g = group;
                uninit = (fs.groupFlags(g) & BLOCK_UNINIT) != 0;
                bitmap = uninit ? null : fs.block(fs.blockBitmap(g), "block bitmap of group " + g);
            }
            long bit = (b - sb.firstDataBlock()) % sb.blocksPerGroup() >>> bits;
            if (uninit || (bitmap.get((int) (bit / 8)) & (1 << (bit % 8))) == 0) {
                report(problems, "block " + b + " (" + owner.describe(unit) + ") is free in the block bitmap of group "
                        + g + (uninit ? " (BLOCK_UNINIT)" : ""));
            }
        }
    }

    /**
     * Blocks marked in use that no inode occupies and no metadata explains: superblock and
     * descriptor copies, reserved descriptor blocks, bitmaps, inode tables, the resize inode's
     * indirect block. Groups still BLOCK_UNINIT are skipped: their bitmap is implied.
     */
    private static void checkLeaks(ExtFs fs, Superblock sb, BitSet claimed, List<String> problems) throws ErrnoException {
        int bits = Integer.numberOfTrailingZeros(sb.clusterRatio());
        BitSet meta = new BitSet((int) sb.blocksCount()); // by cluster, as claimed
        long tableBlocks = (sb.inodesPerGroup() * sb.inodeSize() + sb.blockSize() - 1) / sb.blockSize();
        List<long[]> copies = new ArrayList<>();
        for (long g = 0; g < sb.groupCount(); g++) {
            copies.clear();
            GdtLayout.groupMetadata(sb, g, copies);
            for (long[] run : copies) {
                markRange(meta, sb, run[0], run[1], bits);
            }
            markRange(meta, sb, fs.blockBitmap(g), 1, bits);
            markRange(meta, sb, fs.inodeBitmap(g), 1, bits);
            markRange(meta, sb, fs.inodeTable(g), tableBlocks, bits);
        }
        if ((sb.featureCompat() & Superblock.COMPAT_RESIZE_INODE) != 0) {
            ByteBuffer iblock = ByteBuffer.wrap(fs.inode(RESIZE_INODE).block()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            markRange(meta, sb, Integer.toUnsignedLong(iblock.getInt(13 * 4)), 1, bits);
        }
        BitSet both = (BitSet) meta.clone();
        both.and(claimed);
        for (int unit = both.nextSetBit(0); unit >= 0; unit = both.nextSetBit(unit + 1)) {
            report(problems, "block " + ((long) unit << bits) + " holds filesystem metadata (superblock, descriptors, bitmaps or inode table)"
                    + " but an inode claims it");
        }
        long leaks = 0;
        for (long g = 0; g < sb.groupCount(); g++) {
            if ((fs.groupFlags(g) & BLOCK_UNINIT) != 0) {
                continue;
            }
            ByteBuffer bitmap = fs.block(fs.blockBitmap(g), "block bitmap of group " + g);
            long start = sb.firstDataBlock() + g * sb.blocksPerGroup();
            for (long bit = 0; bit < sb.clustersPerGroup() && start + (bit << bits) < sb.blocksCount(); bit++) {
                long b = start + (bit << bits);
                int unit = (int) (b >>> bits);
                if ((bitmap.get((int) (bit / 8)) & (1 << (bit % 8))) != 0 && !claimed.get(unit) && !meta.get(unit)) {
                    leaks++;
                    report(problems, "block " + b + " is marked in use in group " + g + " but nothing uses it (leaked)");
                }
            }
        }
    }

    private static void markRange(BitSet meta, Superblock sb, long from, long count, int bits) {
        if (from >= 0 && from < sb.blocksCount() && count > 0) {
            long end = Math.min(sb.blocksCount(), from + count);
            meta.set((int) (from >>> bits), (int) (((end - 1) >>> bits) + 1));
        }
    }

    /** A structure that cannot be read (checksum, bounds) is a problem to report, not a reason to stop. */
    /** An inode's xattr block is in use; inodes may share one (h_refcount), data may not. */
    private static void claimXattrBlock(Superblock sb, Inode inode, BitSet claimed, BlockOwners owner,
            Map<Long, Integer> xattrBlocks, List<String> problems, int bits) {
        long b = inode.fileAcl();
        if (b == 0) {
            return;
        }
        if (xattrBlocks.containsKey(b)) {
            xattrBlocks.merge(b, 1, Integer::sum);
            return;
        }
        if (b < sb.firstDataBlock() || b >= sb.blocksCount()) {
            report(problems, "inode " + inode.number() + ": xattr block " + b + " is outside the filesystem");
        } else if (claimed.get((int) (b >>> bits))) {
            report(problems, "block " + b + " is claimed by " + owner.describe(b >>> bits) + " and by inode " + inode.number()
                    + " as its xattr block");
        } else {
            xattrBlocks.put(b, 1);
            claimed.set((int) (b >>> bits));
            owner.put(b >>> bits, inode.number());
        }
    }

    private static void damaged(List<String> problems, ErrnoException e) throws ErrnoException {
        if (e.errno() != Errno.EUCLEAN) {
            throw e;
        }
        report(problems, e.detail());
    }

    private static int linksOrZero(InodeTableScan inodes, long ino, List<String> problems) throws ErrnoException {
        try {
            return inodes.linksCount(ino);
        } catch (ErrnoException e) {
            damaged(problems, e);
            return 0;
        }
    }

    private static void report(List<String> problems, String problem) {
        if (problems.size() < MAX_LISTED && !problems.contains(problem)) {
            problems.add(problem);
        }
    }
}
