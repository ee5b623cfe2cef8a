package io.jrump.fs.ext;

import io.jrump.hypercall.Errno;
import io.jrump.hypercall.ErrnoException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.BitSet;

/**
 * The checker's first pass over the inode tables: each group's table read once, in runs of
 * consecutive blocks, up to its last inode in use (never past {@code bg_itable_unused}'s tail,
 * nor in an INODE_UNINIT group), and every inode the bitmap marks in use parsed in place, its
 * checksum verified. The later passes take inodes from here instead of reading an inode-table
 * block per inode: a compact form in primitive arrays (mode, links, flags, size, i_blocks, xattr
 * block, generation, owner, group and project, the 60 bytes of i_block, i_dtime; times are not
 * kept, the checker checks none) from which {@link #get} builds a short-lived {@link Inode}, and a per-inode
 * counter (the directory entries naming it). Inodes in use that the scan did not reach (in an
 * unused tail, so already a problem) are read one by one.
 */
final class InodeTableScan {
    /** Inodes in use the compact form holds at most (about 100 bytes each: 1.6 GiB). */
    static final int MAX_IN_USE = 1 << 24;
    /** Blocks read per request: 1 MiB with 4 KiB blocks. */
    private static final int RUN_BLOCKS = 256;

    private final ExtFs fs;
    /** Inode numbers scanned, ascending; the arrays below are parallel to it. */
    private final int[] numbers;
    /** The compact form of each scanned inode: what the later passes read, in primitive arrays (no object per inode). */
    private final int[] modes;
    private final int[] links;
    private final int[] flags;
    private final int[] generations;
    private final long[] sizes;
    private final long[] blocks512;
    private final long[] fileAcls;
    private final int[] uids;
    private final int[] gids;
    private final int[] projids;
    private final byte[] iBlocks; // 60 bytes per slot
    private final String[] damage;
    private final int[] dtimes;
    private final int[] references;
    /** Slot + 1 by inode number while the filesystem has at most 2^24 inodes (64 MiB), else a binary search. */
    private final int[] slotOf;
    /** References to inodes in use that the scan did not reach. */
    private final java.util.Map<Long, Integer> otherReferences = new java.util.HashMap<>();
    private int count;
    /** Problems the scan itself finds (fields e2fsck wants zero). */
    private final java.util.List<String> scanProblems = new java.util.ArrayList<>();
    private final byte[] scratch;

    private InodeTableScan(ExtFs fs, int capacity) {
        this.fs = fs;
        this.numbers = new int[capacity];
        this.modes = new int[capacity];
        this.links = new int[capacity];
        this.flags = new int[capacity];
        this.generations = new int[capacity];
        this.sizes = new long[capacity];
        this.blocks512 = new long[capacity];
        this.fileAcls = new long[capacity];
        this.uids = new int[capacity];
        this.gids = new int[capacity];
        this.projids = new int[capacity];
        this.iBlocks = new byte[Math.multiplyExact(capacity, 60)];
        this.damage = new String[capacity];
        this.dtimes = new int[capacity];
        this.references = new int[capacity];
        this.scratch = new byte[fs.superblock().inodeSize()];
        long inodes = fs.superblock().inodesCount();
        this.slotOf = inodes <= 1 << 24 ? new int[(int) inodes + 1] : null;
    }

    /** Scans every inode {@code inUse} marks (bit n is inode n). */
    static InodeTableScan scan(ExtFs fs, BitSet inUse) throws ErrnoException {
        return scan(fs, inUse, group -> { });
    }

    /** As {@link #scan(ExtFs, BitSet)}, telling {@code groupDone} each group number once its table is read. */
    static InodeTableScan scan(ExtFs fs, BitSet inUse, java.util.function.LongConsumer groupDone) throws ErrnoException {
        Superblock sb = fs.superblock();
        if (inUse.cardinality() > MAX_IN_USE) {
            throw new ErrnoException(Errno.EFBIG, fs.deviceName() + ": " + inUse.cardinality()
                    + " inodes marked in use: more than this check holds in memory (" + MAX_IN_USE + ")");
        }
        InodeTableScan scan = new InodeTableScan(fs, inUse.cardinality());
        long ipg = sb.inodesPerGroup();
        int isz = sb.inodeSize();
        int bs = sb.blockSize();
        for (long g = 0; g < sb.groupCount(); g++) {
            groupDone.accept(g);
            long firstIno = g * ipg + 1;
            long limit = ipg;
            if (fs.groupsHaveChecksums()) {
                if ((fs.groupFlags(g) & ExtCheck.INODE_UNINIT) != 0) {
                    continue;
                }
                limit = Math.max(0, ipg - fs.groupCount(g, GroupDescriptors.ITABLE_UNUSED));
            }
            long end = Math.min(firstIno + limit, sb.inodesCount() + 1); // exclusive
            if (end <= firstIno) {
                continue;
            }
            // The whole part e2fsck reads: free inodes there are checked too (deleted ones, stray link counts).
            long table = fs.inodeTable(g);
            long fromBlock = 0;
            long toBlock = ((end - 1 - firstIno) * isz + isz - 1) / bs; // inclusive
            for (long run = fromBlock; run <= toBlock; run += RUN_BLOCKS) {
                int blocks = (int) Math.min(RUN_BLOCKS, toBlock - run + 1);
                ByteBuffer buf;
                try {
                    buf = fs.blocks(table + run, blocks, "inode table of group " + g);
                } catch (ErrnoException e) {
                    if (e.errno() != Errno.EUCLEAN) {
                        throw e;
                    }
                    continue; // a table outside the filesystem: its inodes are read (and reported) one by one
                }
                long runFirst = firstIno + run * bs / isz;
                long runEnd = Math.min(end, firstIno + (run + blocks) * bs / isz);
                for (long ino = runFirst; ino < runEnd; ino++) {
                    if (inUse.get((int) ino)) {
                        scan.add((int) ino, buf, (int) ((ino - runFirst) * isz));
                    } else {
                        scan.free(ino, buf, (int) ((ino - runFirst) * isz));
                    }
                }
            }
        }
        return scan;
    }

    /**
     * A slot the inode bitmap calls free, as e2fsck's pass 1 sees it (it goes by link counts):
     * a link count means the inode is in use after all; a deleted inode keeps a dtime; and its
     * checksum must hold unless it was never written (all zeros).
     */
    private void free(long ino, ByteBuffer buf, int offset) {
        Superblock sb = fs.superblock();
        if (ino < sb.firstIno() || allZero(buf, offset, sb.inodeSize())) {
            return;
        }
        if (sb.hasMetadataCsum()) {
            int[] sums = storedAndExpected(sb, ino, buf, offset);
            if (sums[0] != sums[1]) {
                scanProblems.add(String.format("%s: free inode %d: checksum 0x%08x, expected 0x%08x", fs.deviceName(), ino,
                        sums[0], sums[1]));
                return;
            }
        }
        int linksCount = buf.getShort(offset + 26) & 0xffff;
        int mode = buf.getShort(offset) & 0xffff;
        if (linksCount > 0) {
            scanProblems.add("inode " + ino + " has link count " + linksCount + " but is free in the inode bitmap");
        } else if (mode != 0 && buf.getInt(offset + 20) == 0) {
            scanProblems.add("deleted inode " + ino + " has zero dtime");
        }
    }

    /** An inode's stored checksum and the one its bytes give: 32 bits with i_checksum_hi, else 16. */
    private int[] storedAndExpected(Superblock sb, long ino, ByteBuffer buf, int offset) {
        boolean hasHi = ExtChecksums.hasInodeChecksumHi(sb, buf, offset);
        int crc = checksum(sb, ino, buf, offset, hasHi);
        int storedLo = buf.getShort(offset + 124) & 0xffff;
        int stored = hasHi ? (buf.getShort(offset + 130) & 0xffff) << 16 | storedLo : storedLo;
        return new int[] {stored, hasHi ? crc : crc & 0xffff};
    }

    private void add(int ino, ByteBuffer buf, int offset) {
        Superblock sb = fs.superblock();
        numbers[count] = ino;
        if (slotOf != null) {
            slotOf[ino] = count + 1;
        }
        dtimes[count] = buf.getInt(offset + 20);
        if (sb.hasMetadataCsum()) {
            int[] sums = storedAndExpected(sb, ino, buf, offset);
            if (sums[0] != sums[1] && !allZero(buf, offset, sb.inodeSize())) { // e2fsck accepts a never-written inode
                damage[count++] = String.format("%s: inode %d: checksum 0x%08x, expected 0x%08x", fs.deviceName(), ino,
                        sums[0], sums[1]);
                return;
            }
        }
        long size = Integer.toUnsignedLong(buf.getInt(offset + 4)) | (Integer.toUnsignedLong(buf.getInt(offset + 108)) << 32);
        if (size < 0) {
            damage[count++] = String.format("%s: inode %d: size 0x%s beyond any file's", fs.deviceName(), ino,
                    Long.toUnsignedString(size, 16));
            return;
        }
        if ((ino == ExtFs.ROOT_INODE || ino >= sb.firstIno()) && sb.inodeSize() > 128) {
            extraSpace(ino, buf, offset);
        }
        if (buf.getInt(offset + 112) != 0 && (ino == ExtFs.ROOT_INODE || ino >= sb.firstIno())) {
            // i_faddr: obsolete, e2fsck wants it zero (in the root and ordinary inodes; reserved ones it leaves alone)
            scanProblems.add("inode " + ino + ": i_faddr is " + Integer.toUnsignedLong(buf.getInt(offset + 112))
                    + ", should be zero");
        }
        // The fields Inode.parse reads, kept compact.
        modes[count] = buf.getShort(offset) & 0xffff;
        links[count] = buf.getShort(offset + 26) & 0xffff;
        flags[count] = buf.getInt(offset + 32);
        generations[count] = buf.getInt(offset + 100);
        sizes[count] = size;
        blocks512[count] = Integer.toUnsignedLong(buf.getInt(offset + 28)) | ((long) (buf.getShort(offset + 116) & 0xffff) << 32);
        fileAcls[count] = Integer.toUnsignedLong(buf.getInt(offset + 104)) | ((long) (buf.getShort(offset + 118) & 0xffff) << 32);
        buf.get(offset + 40, iBlocks, count * 60, 60);
        uids[count] = (buf.getShort(offset + 2) & 0xffff) | (buf.getShort(offset + 120) & 0xffff) << 16;
        gids[count] = (buf.getShort(offset + 24) & 0xffff) | (buf.getShort(offset + 122) & 0xffff) << 16;
        boolean hasProjid = sb.inodeSize() > 128 && (buf.getShort(offset + 128) & 0xffff) >= 0xA0 - 0x80;
        projids[count] = hasProjid ? buf.getInt(offset + 0x9C) : 0;
        count++;
    }

    /**
     * ext4's inode CRC32C (seed, number, generation, then the inode with its checksum fields as
     * zeros), from a reused scratch copy; {@link Crc32c} runs the JDK's intrinsic CRC32C.
     */
    private int checksum(Superblock sb, long ino, ByteBuffer b, int offset, boolean hasHi) {
        int size = sb.inodeSize();
        int seed = Crc32c.updateInt(Crc32c.updateInt(sb.checksumSeed(), (int) ino), b.getInt(offset + 100));
        b.get(offset, scratch, 0, size);
        scratch[124] = 0;
        scratch[125] = 0;
        if (hasHi) {
            scratch[130] = 0;
            scratch[131] = 0;
        }
        return Crc32c.update(seed, ByteBuffer.wrap(scratch), 0, size);
    }

    /**
     * The extra space of a large inode, as e2fsck's check_inode_extra_space: {@code i_extra_isize}
     * 0 or a multiple of 4 between 4 and the room there is, and the in-inode xattrs, if any, sound.
     */
    private void extraSpace(int ino, ByteBuffer buf, int offset) {
        int isz = fs.superblock().inodeSize();
        int extra = buf.getShort(offset + 128) & 0xffff;
        int max = isz - 128;
        if (extra != 0 && (extra < 4 || extra > max || extra % 4 != 0)) {
            scanProblems.add("inode " + ino + ": i_extra_isize " + extra + " is invalid (4 to " + max + ", a multiple of 4)");
            return;
        }
        if (extra >= max - 4) {
            return; // no room for the in-inode xattr magic
        }
        try {
            Xattrs.inInodeEntries(buf, offset, isz, fs.deviceName() + ": inode " + ino);
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EUCLEAN) {
                scanProblems.add(e.detail());
            } // EOPNOTSUPP: a value in an inode (ea_inode), not followed here
        }
    }

    private static boolean allZero(ByteBuffer b, int offset, int size) {
        for (int i = 0; i < size; i += 8) {
            if (b.getLong(offset + i) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Reports every scanned inode that could not be parsed (checksum, size), reserved inodes
     * included: e2fsck's pass 1 checks every inode in use, not only those the tree reaches.
     */
    void reportDamage(java.util.function.Consumer<String> report) {
        for (int s = 0; s < count; s++) {
            if (damage[s] != null) {
                report.accept(damage[s]);
            }
        }
        scanProblems.forEach(report);
    }

    private int slot(long ino) {
        if (slotOf != null) {
            return ino > 0 && ino < slotOf.length ? slotOf[(int) ino] - 1 : -1;
        }
        return ino > Integer.MAX_VALUE ? -1 : Arrays.binarySearch(numbers, 0, count, (int) ino);
    }

    /** Inode {@code ino}: as scanned, or read on its own if the scan did not reach it; EUCLEAN if damaged. */
    Inode get(long ino) throws ErrnoException {
        int s = slot(ino);
        if (s < 0) {
            return fs.inode(ino);
        }
        if (damage[s] != null) {
            throw new ErrnoException(Errno.EUCLEAN, damage[s]);
        }
        return new Inode(ino, modes[s], Integer.toUnsignedLong(uids[s]), Integer.toUnsignedLong(gids[s]), sizes[s], links[s], blocks512[s], flags[s], 0, 0, 0, 0, 0, 0, fileAcls[s],
                generations[s], Arrays.copyOfRange(iBlocks, s * 60, s * 60 + 60));
    }

    /** Whether the scan read inode {@code ino} (and could parse it). */
    boolean scanned(long ino) {
        int s = slot(ino);
        return s >= 0 && damage[s] == null;
    }

    /** The project id of a scanned inode (0 without the field). */
    long projid(long ino) {
        int s = slot(ino);
        return s >= 0 ? Integer.toUnsignedLong(projids[s]) : 0;
    }

    /** The mode (type and permissions) of inode {@code ino}, without building its {@link Inode}; EUCLEAN if damaged. */
    int mode(long ino) throws ErrnoException {
        int s = slot(ino);
        if (s < 0 || damage[s] != null) {
            return get(ino).mode();
        }
        return modes[s];
    }

    /** The link count of inode {@code ino}, without building its {@link Inode}; EUCLEAN if damaged. */
    int linksCount(long ino) throws ErrnoException {
        int s = slot(ino);
        if (s < 0 || damage[s] != null) {
            return get(ino).linksCount();
        }
        return links[s];
    }

    /** The inode's {@code i_dtime}. */
    long dtime(long ino) throws ErrnoException {
        int s = slot(ino);
        return s >= 0 ? Integer.toUnsignedLong(dtimes[s]) : fs.readRawInode(ino).dtime();
    }

    /** Counts one more directory entry naming {@code ino} (an inode the scan holds). */
    void addReference(long ino) {
        int s = slot(ino);
        if (s >= 0) {
            references[s]++;
        } else {
            otherReferences.merge(ino, 1, Integer::sum);
        }
    }

    int references(long ino) {
        int s = slot(ino);
        return s >= 0 ? references[s] : otherReferences.getOrDefault(ino, 0);
    }
}
